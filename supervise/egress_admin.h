// Blocking HTTP GETs to bottle-egress's admin listener (SPEC §4.5), which supervise uses
// to confirm that egress runs the routes it just wrote (`egress_reloads_total` in
// /metrics, the effective table in /routes). Called on a worker thread, never on the
// event loop. The admin listener is on the host's loopback, never agent-reachable.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/listen.h"
#include "common/result.h"

namespace bottle::supervise {

// The body of a 200 answer to GET `path`; anything else is an error naming the address.
Result<std::string> admin_get(const ListenSpec& admin, std::string_view path,
                              std::chrono::milliseconds timeout);

// The value of an unlabelled Prometheus counter or gauge ("name 12"), if present.
std::optional<uint64_t> prometheus_value(std::string_view metrics, std::string_view name);

}  // namespace bottle::supervise
