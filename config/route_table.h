// RouteTable: routes.yaml (SPEC §4.3) compiled into an immutable snapshot. Egress holds
// a std::shared_ptr<const RouteTable>; reload builds a new one and swaps the pointer, so
// matching takes no locks. Matching is a pure function of (table, request).
#pragma once

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/result.h"
#include "config/dlp_policy.h"

namespace bottle::config {

enum class LogLevel { off, blocks, full };

// Credential injection: the proxy sets `header: <scheme> <value>` and drops whatever the
// agent sent in that header. `value` is read from the environment at load time; it is a
// secret: never log it, never render it.
struct Auth {
  std::string scheme;     // "Bearer" | "token" | "Basic"
  std::string token_env;  // EGRESS_TOKEN_<n>
  std::string header = "Authorization";
  std::string header_value;  // "<scheme> <token>" ready for the wire (Basic: base64 if "user:pass")
};

enum class PathMatchType { exact, path_prefix, regex };
enum class ValueMatchType { exact, regex };

struct PathMatch {
  PathMatchType type = PathMatchType::path_prefix;
  std::string value;
  std::shared_ptr<const RE2> re;  // regex type only
};

// A query parameter match holds for every occurrence of the name (and needs one):
// "?beta=true&beta=false" does not match beta=true.
struct ValueMatch {
  std::string name;  // header names lower-cased; query names as written (case-sensitive)
  ValueMatchType type = ValueMatchType::exact;
  std::string value;
  std::shared_ptr<const RE2> re;
};

// One entry of `matches`: every present condition must hold (AND).
struct RouteMatch {
  std::optional<PathMatch> path;
  std::optional<std::string> method;  // upper-case
  std::vector<ValueMatch> headers;
  std::vector<ValueMatch> query_params;
};

struct Route {
  std::string id;    // rule id in block responses and logs: "<host>[:port]"
  std::string host;  // lower-case; for wildcards the full pattern "*.example.com"
  bool wildcard = false;
  std::optional<uint16_t> port;    // nullopt = 80 and 443
  std::vector<RouteMatch> matches;  // empty = everything allowed
  std::optional<Auth> auth;
  DlpPolicy dlp;  // effective: file defaults overlaid with the route's override
  bool allow_private = false;
  int line = 0;   // where the route starts in the file (1-based)
};

// What the matcher needs of a request. Header lookup is a callback so HTTP/1.1 and
// HTTP/2 front-ends can pass their own header storage without copying.
struct RequestView {
  std::string_view host;  // lower-case, no port, no brackets for IPv6
  uint16_t port = 443;
  std::string_view method;
  std::string_view path;   // origin-form path as sent, without the query; match() normalizes
                           // it (dot segments, and a second view with %2F/%5C decoded: both
                           // views must match, so an encoded slash cannot escape a prefix)
  std::string_view query;  // raw query string without '?', may be empty
  // Returns all values of a header (name lower-case), joined by ", " if repeated, or
  // nullopt if absent.
  std::function<std::optional<std::string>(std::string_view lower_name)> header;
};

enum class MatchOutcome { matched, host_not_allowed, route_not_matched };

struct MatchResult {
  MatchOutcome outcome = MatchOutcome::host_not_allowed;
  const Route* route = nullptr;  // set unless host_not_allowed
};

class RouteTable {
 public:
  LogLevel log_level = LogLevel::blocks;
  DlpPolicy default_dlp;
  std::vector<std::string> known_secrets_env;  // operator-listed secrets (env names)
  std::vector<Route> routes;                   // in file order

  // The route owning host:port, or nullptr. Exact host beats wildcard; the longest
  // wildcard suffix wins. Used at CONNECT time before any request is seen.
  const Route* find_host(std::string_view host, uint16_t port) const;

  // Full decision for one request.
  MatchResult match(const RequestView& req) const;

  // Effective routes as YAML, tokens omitted (admin /routes, supervise list-egress-routes).
  std::string to_yaml() const;

 private:
  friend class RouteTableBuilder;
  // key: host (exact) -> indexes into routes by port; wildcard suffix ".example.com" -> same.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Index = std::unordered_map<std::string, std::vector<size_t>, Hash, std::equal_to<>>;
  Index exact_;
  Index wildcard_;  // key: suffix including the leading dot, ".example.com"
  const Route* pick(const std::vector<size_t>& idx, uint16_t port) const;
};

struct LoadOptions {
  // When set, every `token_env` must be set in it (else a load error) and Auth
  // header values are filled in. When unset (render/validate without secrets), tokens
  // are left empty.
  std::optional<EnvLookup> env;
};

Result<std::shared_ptr<const RouteTable>> parse_routes(std::string_view yaml,
                                                       std::string_view file,
                                                       const LoadOptions& opts = {});
Result<std::shared_ptr<const RouteTable>> load_routes_file(const std::string& path,
                                                           const LoadOptions& opts = {});
// Compiles a document already loaded with load_strict_yaml (or built from one, like a
// merged route): saves parsing the text again.
Result<std::shared_ptr<const RouteTable>> build_routes(const YAML::Node& root,
                                                       std::string_view file,
                                                       const LoadOptions& opts = {});

// True if `request_path` matches a Gateway API PathPrefix `prefix` (element-wise).
bool path_prefix_matches(std::string_view prefix, std::string_view request_path);

// Removes dot segments and duplicate slashes (RFC 3986 §5.2.4) so "/v1/../admin" cannot
// slip past a PathPrefix. Percent-encoded unreserved characters are decoded (so %2e%2e is
// a dot segment). With `decode_slashes`, %2F, %5C and '\' also count as '/'.
std::string normalize_path(std::string_view path, bool decode_slashes = false);

}  // namespace bottle::config
