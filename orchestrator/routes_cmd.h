// Live route edits (SPEC §9.3): validate, write into the bottle's routes directory
// (temp + rename, so egress never reads half a file), ask bottle-init to SIGHUP egress,
// then confirm on egress's admin that it runs the new file (reload counter and config
// hash; common/http/config_reload.h). A file egress refuses is reported with egress's
// error and the old routes.yaml is put back. The directory, not the file, is what the
// sidecar watches.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/http/config_reload.h"

#include "common/result.h"
#include "config/route_table.h"

namespace bottle::orchestrator {

// state/<slug>/routes/routes.yaml: the file egress reads, inside the mounted directory.
std::string routes_path(const std::string& slug);

Result<std::string> routes_show(const std::string& slug);
// `text` came from `source` (a file name for messages).
Result<AppliedChange> routes_apply(const std::string& slug, const std::string& text,
                                   const std::string& source);
// What `bottle routes apply|edit` prints once applied: "routes applied to <slug>: egress
// runs them (reload 3, sha256 1a2b3c4d5e6f)", or that the reload was not confirmed.
std::string describe_applied_routes(const std::string& slug, const AppliedChange& applied);
// How a backend applies routes (slug, text, source): routes_apply for local bottles.
using RoutesApplyFn = std::function<Result<AppliedChange>(const std::string&, const std::string&,
                                                          const std::string&)>;
// Opens $VISUAL/$EDITOR on a copy; applies it with `apply` when saved and valid (nullopt:
// unchanged).
Result<std::optional<AppliedChange>> routes_edit(const std::string& slug,
                                                 const RoutesApplyFn& apply = routes_apply);

// Token values were handed to egress at start: every token_env `next` names must be one
// `current` already has. Errors name `source` and the route's line.
// What every backend checks before it applies `text` (from `source`) to a bottle: it
// parses, and it names no token slot the routes in force lack (check_token_slots).
Status check_routes_change(const std::string& slug, const std::string& text,
                           const std::string& source);
Status check_token_slots(const config::RouteTable& current, const config::RouteTable& next,
                         const std::string& source);

}  // namespace bottle::orchestrator
