// Approving an egress-route proposal (SPEC §7): the proposed route, written in the
// routes.yaml vocabulary as JSON, merged into the text of a routes.yaml. Pure functions
// of text, so `bottle proposals show` prints exactly the diff that bottle-supervise will
// write on approval.
//
// Merge rules: a route whose host and ports overlap an existing route is merged into it
// (its matches are appended, or the existing matches removed when the new route has none;
// other keys of the new route replace the old ones); otherwise it is appended to `routes`.
// A file that already allows what the route asks for is left byte for byte as it was.
#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/result.h"
#include "config/route_table.h"

namespace bottle::config {

// What an agent may propose: host, port and matches. An operator's edited route may use
// every route key (auth, dlp, allow_private).
enum class RouteSource { agent, operator_edit };

// A JSON route as a YAML node in canonical key order, validated by loading it alone as
// a routes file. Errors are one line without file positions ("route: unknown key ...").
Result<YAML::Node> route_from_json(const nlohmann::json& route, RouteSource source);

// The route as YAML text (a one-item list), for showing and editing.
std::string route_yaml(const YAML::Node& route);
// YAML text of one route (as `route_yaml` writes it) back to JSON; errors carry `file`
// positions.
Result<nlohmann::json> route_json_from_yaml(std::string_view text, std::string_view file);

struct MergedRoutes {
  std::string text;      // the new routes.yaml (the input unchanged when !changed)
  bool changed = false;  // false: the file already allows what the route asks for
  std::string summary;   // "added route pypi.org:443", "added 1 match to route x.org"
  std::shared_ptr<const RouteTable> table;  // `text` compiled (tokens not resolved)
};

// `file` names the routes file in errors.
Result<MergedRoutes> merge_route(std::string_view routes_yaml, std::string_view file,
                                 const YAML::Node& route);

// Unified diff (3 lines of context) from `before` to `after`; "" when they are equal.
std::string unified_diff(std::string_view before, std::string_view after,
                         std::string_view before_name, std::string_view after_name);

}  // namespace bottle::config
