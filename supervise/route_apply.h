// The approve path of request-egress-route (SPEC §7, issue 12): validate the route with
// the config library, merge it into routes.yaml through the routes directory (temp +
// rename), ask bottle-init to reload egress over its control socket, then confirm through
// egress's admin listener that egress runs the new file (its reload counter moved past
// the value before the write, and the config hash is that of the bytes written) before
// reporting success: common/http/config_reload.h, shared with `bottle routes apply`. If
// egress refuses the file (the error is egress's own) or never shows it, routes.yaml is
// put back as it was and reloaded again, and the error says so.
//
// Blocking (file I/O, a unix socket, HTTP to the admin port): runs on a worker thread.
// Callers run one at a time: two merges racing on routes.yaml would lose one.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/listen.h"
#include "common/result.h"
#include "config/route_merge.h"

namespace bottle::supervise {

struct RouteApplySettings {
  std::string routes_file;                 // routes.yaml inside the routes directory
  std::string init_ctl;                    // bottle-init's control socket
  std::optional<ListenSpec> egress_admin;  // without it the reload is not confirmed
  std::chrono::milliseconds confirm_timeout{15'000};
};

struct RouteApplyReport {
  bool changed = false;    // false: already allowed, nothing written or reloaded
  std::string summary;     // from the merge: "added route pypi.org:443"
  bool confirmed = false;  // egress showed the new table
  uint64_t reloads = 0;    // egress_reloads_total once confirmed
};

Result<RouteApplyReport> apply_route(const RouteApplySettings& settings,
                                     const nlohmann::json& route, config::RouteSource source);

}  // namespace bottle::supervise
