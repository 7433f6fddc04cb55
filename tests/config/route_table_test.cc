#include "config/route_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace bottle::config {
namespace {

LoadOptions with_env(std::map<std::string, std::string> vars) {
  LoadOptions o;
  o.env = [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  return o;
}

std::shared_ptr<const RouteTable> load(std::string_view yaml, const LoadOptions& o = {}) {
  auto r = parse_routes(yaml, "routes.yaml", o);
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? *r : nullptr;
}

std::string error_of(std::string_view yaml, const LoadOptions& o = {}) {
  auto r = parse_routes(yaml, "routes.yaml", o);
  return r.ok() ? std::string("<ok>") : r.error();
}

struct Req {
  std::string host = "api.example.com";
  uint16_t port = 443;
  std::string method = "GET";
  std::string path = "/";
  std::string query;
  std::map<std::string, std::string> headers;
};

MatchResult match(const RouteTable& t, const Req& r) {
  RequestView v;
  v.host = r.host;
  v.port = r.port;
  v.method = r.method;
  v.path = r.path;
  v.query = r.query;
  v.header = [&r](std::string_view n) -> std::optional<std::string> {
    auto it = r.headers.find(std::string(n));
    if (it == r.headers.end()) return std::nullopt;
    return it->second;
  };
  return t.match(v);
}

MatchOutcome outcome(const RouteTable& t, Req r) { return match(t, r).outcome; }

TEST(RouteTable, ExactHostWithoutMatchesAllowsEverything) {
  auto t = load("routes:\n  - host: api.example.com\n");
  EXPECT_EQ(outcome(*t, {}), MatchOutcome::matched);
  EXPECT_EQ(outcome(*t, {.host = "other.example.com"}), MatchOutcome::host_not_allowed);
  EXPECT_EQ(outcome(*t, {.host = "example.com"}), MatchOutcome::host_not_allowed);
}

TEST(RouteTable, HostIsCaseInsensitiveInTheFile) {
  auto t = load("routes:\n  - host: API.Example.COM\n");
  EXPECT_EQ(outcome(*t, {}), MatchOutcome::matched);
}

TEST(RouteTable, DefaultPortsAre80And443) {
  auto t = load("routes:\n  - host: api.example.com\n  - host: api.example.com\n    port: 8443\n");
  EXPECT_EQ(outcome(*t, {.port = 80}), MatchOutcome::matched);
  EXPECT_EQ(outcome(*t, {.port = 443}), MatchOutcome::matched);
  EXPECT_EQ(match(*t, {.port = 8443}).route->id, "api.example.com:8443");
  EXPECT_EQ(outcome(*t, {.port = 22}), MatchOutcome::host_not_allowed);
}

TEST(RouteTable, WildcardMatchesSubdomainsNotApex) {
  auto t = load("routes:\n  - host: \"*.example.com\"\n");
  EXPECT_EQ(outcome(*t, {.host = "a.example.com"}), MatchOutcome::matched);
  EXPECT_EQ(outcome(*t, {.host = "a.b.example.com"}), MatchOutcome::matched);
  EXPECT_EQ(outcome(*t, {.host = "example.com"}), MatchOutcome::host_not_allowed);
  EXPECT_EQ(outcome(*t, {.host = "badexample.com"}), MatchOutcome::host_not_allowed);
  // An empty label is not a subdomain.
  EXPECT_EQ(outcome(*t, {.host = ".example.com"}), MatchOutcome::host_not_allowed);
  EXPECT_EQ(outcome(*t, {.host = "a..example.com"}), MatchOutcome::host_not_allowed);
}

TEST(RouteTable, ExactBeatsWildcardAndLongestSuffixWins) {
  auto t = load(R"(routes:
  - host: "*.example.com"
    matches: [{method: GET}]
  - host: "*.api.example.com"
    matches: [{method: POST}]
  - host: v1.api.example.com
    matches: [{method: PUT}]
)");
  EXPECT_EQ(match(*t, {.host = "x.api.example.com"}).route->host, "*.api.example.com");
  EXPECT_EQ(match(*t, {.host = "v1.api.example.com"}).route->host, "v1.api.example.com");
  EXPECT_EQ(match(*t, {.host = "x.example.com"}).route->host, "*.example.com");
}

TEST(RouteTable, IpLiteralOnlyWhenNamed) {
  auto t = load("routes:\n  - host: 127.0.0.1\n    port: 8080\n  - host: \"[::1]\"\n    port: 8080\n");
  EXPECT_EQ(outcome(*t, {.host = "127.0.0.1", .port = 8080}), MatchOutcome::matched);
  EXPECT_EQ(outcome(*t, {.host = "::1", .port = 8080}), MatchOutcome::matched);
  EXPECT_EQ(outcome(*t, {.host = "127.0.0.2", .port = 8080}), MatchOutcome::host_not_allowed);
}

TEST(RouteTable, PathPrefixIsElementWise) {
  auto t = load("routes:\n  - host: api.example.com\n    matches:\n      - path: {type: PathPrefix, value: /v1/}\n");
  EXPECT_EQ(outcome(*t, {.path = "/v1"}), MatchOutcome::matched);
  EXPECT_EQ(outcome(*t, {.path = "/v1/messages"}), MatchOutcome::matched);
  EXPECT_EQ(outcome(*t, {.path = "/v10/messages"}), MatchOutcome::route_not_matched);
  EXPECT_EQ(outcome(*t, {.path = "/admin"}), MatchOutcome::route_not_matched);
}

TEST(RouteTable, DotSegmentsAndEncodedSlashesCannotEscapePrefix) {
  auto t = load("routes:\n  - host: api.example.com\n    matches:\n      - path: {type: PathPrefix, value: /public}\n");
  EXPECT_EQ(outcome(*t, {.path = "/public/../admin"}), MatchOutcome::route_not_matched);
  EXPECT_EQ(outcome(*t, {.path = "/public/%2e%2e/admin"}), MatchOutcome::route_not_matched);
  EXPECT_EQ(outcome(*t, {.path = "/public/..%2fadmin"}), MatchOutcome::route_not_matched);
  EXPECT_EQ(outcome(*t, {.path = "/public%2F..%2Fadmin"}), MatchOutcome::route_not_matched);
  EXPECT_EQ(outcome(*t, {.path = "/x/..%2F/public"}), MatchOutcome::route_not_matched);
  EXPECT_EQ(outcome(*t, {.path = "/public\\..\\admin"}), MatchOutcome::route_not_matched);
  EXPECT_EQ(outcome(*t, {.path = "//public//a"}), MatchOutcome::matched);
  EXPECT_EQ(outcome(*t, {.path = "/public/a%2Fb"}), MatchOutcome::matched);
  EXPECT_EQ(outcome(*t, {.path = "/%70ublic/x"}), MatchOutcome::matched);
}

TEST(RouteTable, ExactAndRegexPaths) {
  auto t = load(R"(routes:
  - host: api.example.com
    matches:
      - path: {type: Exact, value: /health}
      - path: {type: RegularExpression, value: "/repos/[a-z]+/issues"}
)");
  EXPECT_EQ(outcome(*t, {.path = "/health"}), MatchOutcome::matched);
  EXPECT_EQ(outcome(*t, {.path = "/health/x"}), MatchOutcome::route_not_matched);
  EXPECT_EQ(outcome(*t, {.path = "/repos/abc/issues"}), MatchOutcome::matched);
  // Full match, not a substring search.
  EXPECT_EQ(outcome(*t, {.path = "/repos/abc/issues/extra"}), MatchOutcome::route_not_matched);
}

TEST(RouteTable, MethodIsCaseInsensitive) {
  auto t = load("routes:\n  - host: api.example.com\n    matches: [{method: post}]\n");
  EXPECT_EQ(outcome(*t, {.method = "POST"}), MatchOutcome::matched);
  EXPECT_EQ(outcome(*t, {.method = "post"}), MatchOutcome::matched);
  EXPECT_EQ(outcome(*t, {.method = "GET"}), MatchOutcome::route_not_matched);
  EXPECT_EQ(outcome(*t, {.method = "POSTX"}), MatchOutcome::route_not_matched);
}

TEST(RouteTable, AndInsideOneEntryOrAcrossEntries) {
  auto t = load(R"(routes:
  - host: api.example.com
    matches:
      - path: {type: PathPrefix, value: /v1/}
        method: POST
        headers: [{name: Anthropic-Version, type: Exact, value: "2023-06-01"}]
        queryParams: [{name: beta, type: RegularExpression, value: "true|false"}]
      - method: GET
)");
  Req ok{.method = "POST", .path = "/v1/m", .query = "beta=true", .headers = {{"anthropic-version", "2023-06-01"}}};
  EXPECT_EQ(outcome(*t, ok), MatchOutcome::matched);
  Req bad_header = ok;
  bad_header.headers["anthropic-version"] = "2024";
  EXPECT_EQ(outcome(*t, bad_header), MatchOutcome::route_not_matched);
  Req bad_query = ok;
  bad_query.query = "beta=maybe";
  EXPECT_EQ(outcome(*t, bad_query), MatchOutcome::route_not_matched);
  Req no_query = ok;
  no_query.query = "";
  EXPECT_EQ(outcome(*t, no_query), MatchOutcome::route_not_matched);
  EXPECT_EQ(outcome(*t, {.method = "GET", .path = "/anything"}), MatchOutcome::matched);
  Req encoded = ok;
  encoded.query = "x=1&b%65ta=%74rue";
  EXPECT_EQ(outcome(*t, encoded), MatchOutcome::matched);
}

// A parameter given twice is read differently by different servers (first wins, last
// wins, a list): every occurrence must satisfy the match.
TEST(RouteTable, EveryOccurrenceOfAQueryParamMustMatch) {
  auto t = load(R"(routes:
  - host: api.example.com
    matches:
      - queryParams: [{name: beta, type: Exact, value: "true"}]
)");
  EXPECT_EQ(outcome(*t, {.query = "beta=true"}), MatchOutcome::matched);
  EXPECT_EQ(outcome(*t, {.query = "beta=true&beta=true"}), MatchOutcome::matched);
  EXPECT_EQ(outcome(*t, {.query = "beta=true&beta=false"}), MatchOutcome::route_not_matched);
  EXPECT_EQ(outcome(*t, {.query = "beta=false&beta=true"}), MatchOutcome::route_not_matched);
  EXPECT_EQ(outcome(*t, {.query = "beta=true&b%65ta=false"}), MatchOutcome::route_not_matched);
  EXPECT_EQ(outcome(*t, {.query = "beta=true&beta"}), MatchOutcome::route_not_matched);
}

TEST(RouteTable, AuthHeaderValueFromEnvironment) {
  auto t = load(R"(routes:
  - host: api.example.com
    auth: {scheme: Bearer, token_env: EGRESS_TOKEN_0}
  - host: git.example.com
    auth: {scheme: Basic, token_env: EGRESS_TOKEN_1, header: Proxy-Authorization}
)", with_env({{"EGRESS_TOKEN_0", "sk-real"}, {"EGRESS_TOKEN_1", "user:pass"}}));
  EXPECT_EQ(t->routes[0].auth->header_value, "Bearer sk-real");
  EXPECT_EQ(t->routes[0].auth->header, "Authorization");
  EXPECT_EQ(t->routes[1].auth->header_value, "Basic dXNlcjpwYXNz");
  EXPECT_EQ(t->routes[1].auth->header, "Proxy-Authorization");
}

TEST(RouteTable, TokenNeverRendered) {
  auto t = load("routes:\n  - host: api.example.com\n    auth: {scheme: Bearer, token_env: EGRESS_TOKEN_0}\n",
                with_env({{"EGRESS_TOKEN_0", "sk-secret-value"}}));
  std::string y = t->to_yaml();
  EXPECT_EQ(y.find("sk-secret-value"), std::string::npos);
  EXPECT_NE(y.find("EGRESS_TOKEN_0"), std::string::npos);
  // What we render loads again.
  EXPECT_TRUE(parse_routes(y, "rendered.yaml").ok()) << y;
}

TEST(RouteTable, RenderedValuesReadBackAsTheSameStrings) {
  // Found by fuzz_routes: an unquoted 2023-06-01 in the rendering is refused as a date.
  auto t = load(R"(routes:
  - host: a.example.com
    matches: [{headers: [{name: v, value: "2023-06-01"}], queryParams: [{name: "on", value: "yes"}]}]
)");
  auto again = parse_routes(t->to_yaml(), "rendered.yaml");
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ((*again)->routes[0].matches[0].headers[0].value, "2023-06-01");
  EXPECT_EQ((*again)->routes[0].matches[0].query_params[0].name, "on");
}

TEST(RouteTable, DlpDefaultsAndRouteOverride) {
  auto t = load(R"(log: full
dlp: {max_body_bytes: 1024, outbound: warn, inbound: off, known_secrets_env: [OPS_SECRET]}
routes:
  - host: a.example.com
  - host: b.example.com
    dlp: {outbound: off, stream_large_bodies: true}
    allow_private: true
)");
  EXPECT_EQ(t->log_level, LogLevel::full);
  EXPECT_EQ(t->routes[0].dlp.outbound, DlpAction::warn);
  EXPECT_EQ(t->routes[0].dlp.max_body_bytes, 1024u);
  EXPECT_EQ(t->routes[1].dlp.outbound, DlpAction::off);
  EXPECT_EQ(t->routes[1].dlp.inbound, DlpAction::off);
  EXPECT_TRUE(t->routes[1].dlp.stream_large_bodies);
  EXPECT_TRUE(t->routes[1].allow_private);
  EXPECT_FALSE(t->routes[0].allow_private);
  EXPECT_EQ(t->known_secrets_env, std::vector<std::string>{"OPS_SECRET"});
}

TEST(RouteTable, DetectorActionsAtTopLevelAreOverlaidByTheRoute) {
  auto t = load(R"(dlp:
  detectors: {secret.jwt: warn, injection.prompt: off}
routes:
  - host: a.example.com
  - host: b.example.com
    dlp: {detectors: {secret.jwt: block, secret.credit_card: off}}
)");
  using Map = std::map<std::string, DlpAction, std::less<>>;
  EXPECT_EQ(t->default_dlp.detectors, (Map{{"secret.jwt", DlpAction::warn}, {"injection.prompt", DlpAction::off}}));
  EXPECT_EQ(t->routes[0].dlp.detectors, t->default_dlp.detectors);
  EXPECT_EQ(t->routes[1].dlp.detectors, (Map{{"secret.jwt", DlpAction::block},
                                              {"injection.prompt", DlpAction::off},
                                              {"secret.credit_card", DlpAction::off}}));
  // Rendered, they read back the same.
  auto again = parse_routes(t->to_yaml(), "rendered.yaml");
  ASSERT_TRUE(again.ok()) << again.error() << "\n" << t->to_yaml();
  EXPECT_EQ((*again)->routes[1].dlp.detectors, t->routes[1].dlp.detectors);
  EXPECT_EQ((*again)->routes[0].dlp.detectors, t->routes[0].dlp.detectors);
}

TEST(RouteTable, EmptyRoutesBlockEverything) {
  auto t = load("routes: []\n");
  EXPECT_EQ(outcome(*t, {}), MatchOutcome::host_not_allowed);
}

// --- every bad input has a positioned, one-line error ---

TEST(RouteTableErrors, UnknownKeyWithSuggestion) {
  EXPECT_EQ(error_of("routes:\n  - host: a.example.com\n    matches:\n      - method_s: GET\n"),
            "routes.yaml:4:9: unknown key 'method_s' in match (did you mean 'method'?)");
  EXPECT_EQ(error_of("rotues: []\n"), "routes.yaml:1:1: unknown key 'rotues' in routes file (did you mean 'routes'?)");
}

TEST(RouteTableErrors, DetectorActions) {
  LoadOptions known;
  known.detector_ids = std::vector<std::string>{"secret.jwt", "injection.prompt"};
  EXPECT_EQ(error_of("dlp:\n  detectors: {secret.jtw: warn}\nroutes: []\n", known),
            "routes.yaml:2:15: unknown key 'secret.jtw' in dlp.detectors (did you mean 'secret.jwt'?)");
  EXPECT_EQ(error_of("dlp:\n  detectors: {secret.jwt: allow}\nroutes: []\n", known),
            "routes.yaml:2:27: 'secret.jwt' must be one of block | warn | off (got 'allow')");
  EXPECT_EQ(error_of("dlp:\n  detectors: {dlp.scan_error: off}\nroutes: []\n"),
            "routes.yaml:2:15: 'dlp.scan_error' cannot be set: a unit that cannot be scanned is always blocked");
  EXPECT_EQ(error_of("dlp:\n  detectors: [secret.jwt]\nroutes: []\n"),
            "routes.yaml:2:14: dlp.detectors must be a mapping (key: value)");
  EXPECT_EQ(error_of("dlp:\n  detectors: {Secret JWT: warn}\nroutes: []\n"),
            "routes.yaml:2:15: 'Secret JWT' is not a detector id (like 'secret.jwt')");
  EXPECT_EQ(error_of("routes:\n  - host: a.example.com\n    dlp: {detectors: {secret.jtw: off}}\n", known),
            "routes.yaml:3:23: unknown key 'secret.jtw' in dlp.detectors (did you mean 'secret.jwt'?)");
}

TEST(RouteTableErrors, WrongTypes) {
  EXPECT_EQ(error_of("routes: {host: a}\n"), "routes.yaml:1:9: 'routes' must be a list");
  EXPECT_EQ(error_of("routes:\n  - host: a.example.com\n    port: https\n"),
            "routes.yaml:3:11: 'port' must be an integer");
  EXPECT_EQ(error_of("routes:\n  - host: a.example.com\n    allow_private: yes\n"),
            "routes.yaml:3:20: 'allow_private' must be true or false (got 'yes')");
  EXPECT_EQ(error_of("routes:\n  - host: [a]\n"), "routes.yaml:2:11: 'host' must be a string");
  EXPECT_EQ(error_of("routes:\n  - a.example.com\n"), "routes.yaml:2:5: route must be a mapping (key: value)");
  EXPECT_EQ(error_of("log: verbose\nroutes: []\n"),
            "routes.yaml:1:6: 'log' must be one of off | blocks | full (got 'verbose')");
  EXPECT_EQ(error_of("dlp: {outbound: blok}\n"),
            "routes.yaml:1:17: 'outbound' must be one of block | warn | off (got 'blok'; did you mean 'block'?)");
}

TEST(RouteTableErrors, BadRegex) {
  EXPECT_EQ(error_of("routes:\n  - host: a.example.com\n    matches:\n      - path: {type: RegularExpression, value: \"(unclosed\"}\n"),
            "routes.yaml:4:48: bad regular expression '(unclosed': missing ): (unclosed");
}

TEST(RouteTableErrors, DuplicateHostAndPort) {
  EXPECT_EQ(error_of("routes:\n  - host: a.example.com\n  - host: A.example.com\n"),
            "routes.yaml:3:5: duplicate route for a.example.com:80 (first defined at line 2)");
  EXPECT_EQ(error_of("routes:\n  - host: a.example.com\n  - host: a.example.com\n    port: 443\n"),
            "routes.yaml:3:5: duplicate route for a.example.com:443 (first defined at line 2)");
}

TEST(RouteTableErrors, RoleIsReserved) {
  EXPECT_EQ(error_of("routes:\n  - host: a.example.com\n    role: admin\n"),
            "routes.yaml:3:5: 'role' is reserved and not allowed in routes");
}

TEST(RouteTableErrors, UnsetTokenEnv) {
  EXPECT_EQ(error_of("routes:\n  - host: a.example.com\n    auth: {scheme: Bearer, token_env: EGRESS_TOKEN_7}\n",
                     with_env({})),
            "routes.yaml:3:39: environment variable EGRESS_TOKEN_7 is not set");
  // Without an environment to check against (render/validate), it loads.
  EXPECT_EQ(error_of("routes:\n  - host: a.example.com\n    auth: {scheme: Bearer, token_env: EGRESS_TOKEN_7}\n"), "<ok>");
}

TEST(RouteTableErrors, AuthShape) {
  EXPECT_EQ(error_of("routes:\n  - host: a.example.com\n    auth: {scheme: Bearer, token_env: GITHUB_TOKEN}\n"),
            "routes.yaml:3:39: token_env 'GITHUB_TOKEN' must name an EGRESS_TOKEN_<n> slot (only those reach egress)");
  EXPECT_EQ(error_of("routes:\n  - host: a.example.com\n    auth: {scheme: Digest, token_env: EGRESS_TOKEN_1}\n"),
            "routes.yaml:3:20: 'scheme' must be one of Bearer | token | Basic (got 'Digest')");
  EXPECT_EQ(error_of("routes:\n  - host: a.example.com\n    auth: {token_env: EGRESS_TOKEN_1}\n"),
            "routes.yaml:3:11: auth is missing 'scheme' (Bearer | token | Basic)");
}

TEST(RouteTableErrors, BadHosts) {
  EXPECT_EQ(error_of("routes:\n  - host: \"*\"\n"),
            "routes.yaml:2:11: bad host '*' (expected a DNS name, '*.suffix' or an IP literal)");
  EXPECT_EQ(error_of("routes:\n  - host: \"a.*.com\"\n"),
            "routes.yaml:2:11: bad host 'a.*.com' (expected a DNS name, '*.suffix' or an IP literal)");
  EXPECT_EQ(error_of("routes:\n  - host: \"*.*.com\"\n"),
            "routes.yaml:2:11: bad wildcard host '*.*.com' (expected '*.example.com')");
  EXPECT_EQ(error_of("routes:\n  - port: 443\n"), "routes.yaml:2:5: route is missing 'host'");
}

TEST(RouteTableErrors, PathMustBeAbsolute) {
  EXPECT_EQ(error_of("routes:\n  - host: a.example.com\n    matches: [{path: {value: v1}}]\n"),
            "routes.yaml:3:30: path value must start with '/' (got 'v1')");
}

TEST(RouteTableErrors, EmptyFileAndSyntax) {
  EXPECT_EQ(error_of(""), "routes.yaml:1:1: empty routes file (expected 'routes:')");
  EXPECT_EQ(error_of("routes: [\n").substr(0, 12), "routes.yaml:");
}

TEST(RouteTableErrors, UnreadableFile) {
  auto r = load_routes_file("/nonexistent/routes.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "/nonexistent/routes.yaml: cannot read: No such file or directory");
}

TEST(NormalizePath, RemovesDotSegments) {
  EXPECT_EQ(normalize_path("/a/b/../c/./d"), "/a/c/d");
  EXPECT_EQ(normalize_path("/../../x"), "/x");
  EXPECT_EQ(normalize_path(""), "/");
  EXPECT_EQ(normalize_path("/a/"), "/a/");
  EXPECT_EQ(normalize_path("/a/.."), "/");
  EXPECT_EQ(normalize_path("/a%2fb"), "/a%2fb");
  EXPECT_EQ(normalize_path("/a%2fb", true), "/a/b");
  EXPECT_EQ(normalize_path("/%7euser"), "/~user");
}

// ---- /routes shows the policy in force: parse, render, parse gives the same table ----

// Every field a table holds, in one line per route (compiled regexes aside: their source
// text is compared).
std::string describe(const RouteTable& t) {
  auto dlp = [](const DlpPolicy& p) {
    return std::string(to_string(p.outbound)) + "/" + std::string(to_string(p.inbound)) + "/" +
           std::to_string(p.max_body_bytes) + "/" + (p.stream_large_bodies ? "stream" : "hold");
  };
  auto values = [](const std::vector<ValueMatch>& v) {
    std::string out;
    for (const auto& m : v) {
      out += m.name + (m.type == ValueMatchType::exact ? "=" : "~") + m.value + ";";
    }
    return out;
  };
  std::string out = "log=" + std::to_string(static_cast<int>(t.log_level)) +
                    " dlp=" + dlp(t.default_dlp) + " secrets=";
  for (const auto& s : t.known_secrets_env) out += s + ",";
  out += "\n";
  for (const auto& r : t.routes) {
    out += r.id + " host=" + r.host + (r.wildcard ? " wild" : "") +
           " port=" + (r.port ? std::to_string(*r.port) : "-") + " dlp=" + dlp(r.dlp) +
           (r.allow_private ? " private" : "");
    if (r.auth) out += " auth=" + r.auth->scheme + ":" + r.auth->token_env + ":" + r.auth->header;
    for (const auto& m : r.matches) {
      out += " [";
      if (m.path) out += std::to_string(static_cast<int>(m.path->type)) + ":" + m.path->value;
      out += " " + m.method.value_or("*") + " h:" + values(m.headers) + " q:" +
             values(m.query_params) + "]";
    }
    out += "\n";
  }
  return out;
}

// A random but valid routes.yaml using every key the format has.
std::string random_routes(std::mt19937& rng) {
  auto pick = [&](std::initializer_list<const char*> xs) {
    return std::string(*(xs.begin() + std::uniform_int_distribution<size_t>(0, xs.size() - 1)(rng)));
  };
  auto coin = [&] { return std::uniform_int_distribution<int>(0, 1)(rng) == 1; };
  auto number = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto dlp = [&](bool top) {
    std::string d = "{";
    if (coin()) d += "outbound: " + pick({"block", "warn", "off"}) + ", ";
    if (coin()) d += "inbound: " + pick({"block", "warn", "off"}) + ", ";
    if (coin()) d += "max_body_bytes: " + std::to_string(number(0, 1 << 24)) + ", ";
    if (coin()) d += std::string("stream_large_bodies: ") + (coin() ? "true" : "false") + ", ";
    if (top && coin()) d += "known_secrets_env: [OPS_SECRET_A, OPS_SECRET_B], ";
    if (d.size() > 1) d.resize(d.size() - 2);
    return d + "}";
  };
  std::string y;
  if (coin()) y += "log: " + pick({"off", "blocks", "full"}) + "\n";
  if (coin()) y += "dlp: " + dlp(true) + "\n";
  y += "routes:\n";
  const int n = number(0, 6);
  for (int i = 0; i < n; ++i) {
    y += "  - host: \"" + std::string(coin() ? "*." : "") + "h" + std::to_string(i) + "." +
         pick({"example.com", "test", "Example.ORG"}) + "\"\n";
    if (coin()) y += "    port: " + std::to_string(number(1, 65535)) + "\n";
    if (coin()) y += "    allow_private: " + std::string(coin() ? "true" : "false") + "\n";
    if (coin()) {
      y += "    auth: {scheme: " + pick({"Bearer", "token", "Basic"}) + ", token_env: EGRESS_TOKEN_" +
           std::to_string(number(0, 2));
      if (coin()) y += ", header: " + pick({"X-Api-Key", "Proxy-Authorization"});
      y += "}\n";
    }
    if (coin()) y += "    dlp: " + dlp(false) + "\n";
    if (coin()) {
      y += "    matches:\n";
      for (int m = number(1, 3); m > 0; --m) {
        y += "      - {";
        std::string parts;
        if (coin()) {
          parts += "path: {type: " + pick({"Exact", "PathPrefix", "RegularExpression"}) +
                   ", value: \"/v" + std::to_string(number(1, 9)) + "/x\"}, ";
        }
        if (coin()) parts += "method: " + pick({"GET", "post", "Put"}) + ", ";
        if (coin()) {
          parts += "headers: [{name: " + pick({"X-A", "accept"}) + ", type: " +
                   pick({"Exact", "RegularExpression"}) + ", value: \"" + pick({"1", "yes", "2023-06-01"}) +
                   "\"}], ";
        }
        if (coin()) parts += "queryParams: [{name: \"" + pick({"on", "q", "Beta"}) + "\", value: \"y\"}], ";
        if (!parts.empty()) parts.resize(parts.size() - 2);
        y += parts + "}\n";
      }
    }
  }
  return y;
}

TEST(RouteTable, RenderedTableParsesBackToTheSameTableForGeneratedFiles) {
  const auto env = with_env({{"EGRESS_TOKEN_0", "t0"}, {"EGRESS_TOKEN_1", "u:p"},
                             {"EGRESS_TOKEN_2", "t2"}, {"OPS_SECRET_A", "a"}, {"OPS_SECRET_B", "b"}});
  std::mt19937 rng(17);
  int with_routes = 0;
  for (int i = 0; i < 300; ++i) {
    const std::string yaml = random_routes(rng);
    auto first = parse_routes(yaml, "generated.yaml", env);
    if (!first.ok()) {
      // Two routes may draw the same host and port; the generator does not avoid that.
      ASSERT_NE(first.error().find("duplicate"), std::string::npos) << first.error() << "\n" << yaml;
      continue;
    }
    with_routes += (*first)->routes.empty() ? 0 : 1;
    const std::string rendered = (*first)->to_yaml();
    auto second = parse_routes(rendered, "rendered.yaml", env);
    ASSERT_TRUE(second.ok()) << second.error() << "\n" << rendered;
    EXPECT_EQ(describe(**second), describe(**first)) << yaml << "\n---\n" << rendered;
    EXPECT_EQ((*second)->to_yaml(), rendered);
  }
  EXPECT_GT(with_routes, 200);  // the generator is not degenerate
}

}  // namespace
}  // namespace bottle::config
