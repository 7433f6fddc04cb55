// Blocking HTTP GETs to a daemon's admin listener (SPEC §4.5; on the host's loopback,
// never agent-reachable) and readers for its Prometheus text. supervise uses them to
// confirm that egress runs the routes it just wrote (`egress_reloads_total`, /routes);
// `bottle list` and `bottle top` read request and block counters. Never call them on an
// event loop: they block up to `timeout`.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/listen.h"
#include "common/result.h"

namespace bottle {

// The body of a 200 answer to GET `path`; anything else is an error naming the address.
Result<std::string> admin_get(const ListenSpec& admin, std::string_view path,
                              std::chrono::milliseconds timeout);

// The value of an unlabelled Prometheus counter or gauge ("name 12"), if present.
std::optional<uint64_t> prometheus_value(std::string_view metrics, std::string_view name);

// Every sample of a counter with one label: `name{label="x"} 3` gives {"x": 3}. Samples
// with other labels, or unparsable values, are skipped.
std::map<std::string, uint64_t> prometheus_by_label(std::string_view metrics, std::string_view name,
                                                    std::string_view label);

}  // namespace bottle
