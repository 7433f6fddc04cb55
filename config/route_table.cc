#include "config/route_table.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <fstream>
#include <set>
#include <sstream>

#include "common/ascii.h"
#include "common/strict_yaml.h"

namespace bottle::config {
namespace {

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

bool is_ip_literal(const std::string& h) {
  in_addr a4;
  in6_addr a6;
  return inet_pton(AF_INET, h.c_str(), &a4) == 1 || inet_pton(AF_INET6, h.c_str(), &a6) == 1;
}

bool is_dns_name(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  size_t start = 0;
  while (start <= h.size()) {
    size_t dot = h.find('.', start);
    std::string_view label = h.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

std::string base64(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 &&
        hexval(s[i + 2]) >= 0) {
      out += static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Every enum routes.yaml spells, as one table each: the parser accepts exactly these names
// and /routes renders with them, so the two cannot drift apart.
template <class E>
struct EnumName {
  E value;
  const char* name;
};
constexpr EnumName<LogLevel> kLogLevels[] = {
    {LogLevel::off, "off"}, {LogLevel::blocks, "blocks"}, {LogLevel::full, "full"}};
constexpr EnumName<PathMatchType> kPathTypes[] = {{PathMatchType::exact, "Exact"},
                                                  {PathMatchType::path_prefix, "PathPrefix"},
                                                  {PathMatchType::regex, "RegularExpression"}};
constexpr EnumName<ValueMatchType> kValueTypes[] = {{ValueMatchType::exact, "Exact"},
                                                    {ValueMatchType::regex, "RegularExpression"}};
const std::vector<std::string> kAuthSchemes = {"Bearer", "token", "Basic"};

template <class E, size_t N>
std::vector<std::string> names_of(const EnumName<E> (&table)[N]) {
  std::vector<std::string> out;
  for (const auto& n : table) out.emplace_back(n.name);
  return out;
}
// `name` is one of the table's (MapReader::one_of checked it).
template <class E, size_t N>
E value_named(const EnumName<E> (&table)[N], std::string_view name) {
  for (const auto& n : table) {
    if (name == n.name) return n.value;
  }
  return table[0].value;
}
template <class E, size_t N>
const char* name_of(const EnumName<E> (&table)[N], E value) {
  for (const auto& n : table) {
    if (n.value == value) return n.name;
  }
  return table[0].name;
}

}  // namespace

// Parses routes.yaml into a RouteTable. One instance per load; the first error wins.
class RouteTableBuilder {
 public:
  RouteTableBuilder(std::string_view file, const LoadOptions& opts) : file_(file), opts_(opts) {}

  // The keys of one route, in the order /routes renders them. Each is read by `read` and
  // rendered by `emit` (nothing when it has its default), so a key is added in one place
  // and both the parser and /routes know it.
  struct RouteField {
    const char* key;
    bool nested;  // a section: read after the route's own keys are checked
    bool (RouteTableBuilder::*read)(MapReader& r, const YAML::Node& value, Route& route);
    void (*emit)(YAML::Emitter& e, const Route& route);
  };
  static const std::vector<RouteField>& route_fields();

  Result<std::shared_ptr<const RouteTable>> build(const YAML::Node& root) {
    auto table = std::make_shared<RouteTable>();
    if (!root.IsDefined() || root.IsNull()) {
      return Error{file_ + ":1:1: empty routes file (expected 'routes:')"};
    }
    MapReader top(file_, root, "routes file");
    if (!top.ok()) return Error{top.error()};
    if (auto lv = top.one_of("log", names_of(kLogLevels))) {
      table->log_level = value_named(kLogLevels, *lv);
    }
    YAML::Node dlp = top.node("dlp");
    if (dlp.IsDefined() && !read_dlp(dlp, table->default_dlp, &table->known_secrets_env, "dlp")) {
      return Error{error_};
    }
    YAML::Node routes = top.node("routes");
    top.finish();
    if (!top.ok()) return Error{top.error()};
    if (!routes.IsDefined() || routes.IsNull()) {
      // An empty allowlist is valid: everything is blocked.
    } else if (!routes.IsSequence()) {
      return Error{where(file_, routes) + ": 'routes' must be a list"};
    } else {
      for (const auto& r : routes) {
        Route route;
        route.dlp = table->default_dlp;
        if (!read_route(r, route)) return Error{error_};
        table->routes.push_back(std::move(route));
      }
    }
    if (!index(*table, routes)) return Error{error_};
    return std::shared_ptr<const RouteTable>(std::move(table));
  }

 private:
  bool fail(const YAML::Node& at, std::string_view msg) {
    if (error_.empty()) error_ = where(file_, at) + ": " + std::string(msg);
    return false;
  }
  bool take(MapReader& r) {
    if (!r.ok() && error_.empty()) error_ = r.error();
    return r.ok();
  }

  bool read_dlp(const YAML::Node& n, DlpPolicy& p, std::vector<std::string>* secrets,
                std::string_view what) {
    DlpKeys keys;
    keys.known_secrets_env = secrets != nullptr;
    if (opts_.detector_ids) keys.detector_ids = &*opts_.detector_ids;
    auto st = read_dlp_section(file_, n, what, keys, opts_.env, p, secrets);
    if (!st.ok() && error_.empty()) error_ = st.error();
    return st.ok();
  }

  bool check_env_name(const std::string& name, const YAML::Node& at) {
    if (auto why = env_slot_problem(name, opts_.env)) return fail(at, *why);
    return true;
  }

  bool read_host(MapReader& r, Route& route) {
    YAML::Node hn = r.node("host");
    auto h = r.str("host");
    if (!r.ok()) return take(r);
    if (!h) return fail(r_map_, "route is missing 'host'");
    std::string host = ascii_lower(*h);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.starts_with("*.")) {
      if (!is_dns_name(host.substr(2)) || host.substr(2).find('*') != std::string::npos) {
        return fail(hn, "bad wildcard host '" + *h + "' (expected '*.example.com')");
      }
      route.wildcard = true;
    } else if (!is_ip_literal(host) && !is_dns_name(host)) {
      return fail(hn, "bad host '" + *h + "' (expected a DNS name, '*.suffix' or an IP literal)");
    }
    route.host = host;
    return true;
  }

  bool read_value_matches(const YAML::Node& list, const char* what, bool header,
                          std::vector<ValueMatch>& out) {
    if (!list.IsSequence()) return fail(list, std::string("'") + what + "' must be a list");
    for (const auto& item : list) {
      MapReader r(file_, item, std::string(what) + " entry");
      if (!take(r)) return false;
      ValueMatch vm;
      YAML::Node name_node = r.node("name");
      auto name = r.str("name");
      auto type = r.one_of("type", names_of(kValueTypes));
      YAML::Node value_node = r.node("value");
      auto value = r.str("value");
      r.finish();
      if (!take(r)) return false;
      if (!name) return fail(item, std::string(what) + " entry is missing 'name'");
      if (!value) return fail(item, std::string(what) + " entry is missing 'value'");
      if (header && !is_token(*name)) return fail(name_node, "bad header name '" + *name + "'");
      vm.name = header ? ascii_lower(*name) : *name;
      vm.value = *value;
      if (type) vm.type = value_named(kValueTypes, *type);
      if (vm.type == ValueMatchType::regex && !compile(value_node, *value, vm.re)) return false;
      out.push_back(std::move(vm));
    }
    return true;
  }

  bool compile(const YAML::Node& at, const std::string& pattern, std::shared_ptr<const RE2>& out) {
    RE2::Options o;
    o.set_log_errors(false);
    auto re = std::make_shared<RE2>(pattern, o);
    if (!re->ok()) return fail(at, "bad regular expression '" + pattern + "': " + re->error());
    out = std::move(re);
    return true;
  }

  bool read_match(const YAML::Node& n, RouteMatch& m) {
    MapReader r(file_, n, "match");
    if (!take(r)) return false;
    YAML::Node path = r.node("path");
    YAML::Node method = r.node("method");
    auto method_s = r.str("method");
    YAML::Node headers = r.node("headers");
    YAML::Node query = r.node("queryParams");
    r.finish();
    if (!take(r)) return false;
    if (path.IsDefined()) {
      MapReader pr(file_, path, "path match");
      if (!take(pr)) return false;
      auto type = pr.one_of("type", names_of(kPathTypes));
      YAML::Node value_node = pr.node("value");
      auto value = pr.str("value");
      pr.finish();
      if (!take(pr)) return false;
      if (!value) return fail(path, "path match is missing 'value'");
      PathMatch pm;
      pm.value = *value;
      if (type) pm.type = value_named(kPathTypes, *type);
      if (pm.type == PathMatchType::regex) {
        if (!compile(value_node, pm.value, pm.re)) return false;
      } else if (!pm.value.starts_with('/')) {
        return fail(value_node, "path value must start with '/' (got '" + pm.value + "')");
      }
      m.path = std::move(pm);
    }
    if (method_s) {
      if (!is_token(*method_s)) return fail(method, "bad method '" + *method_s + "'");
      m.method = ascii_upper(*method_s);
    }
    if (headers.IsDefined() && !read_value_matches(headers, "headers", true, m.headers)) return false;
    if (query.IsDefined() && !read_value_matches(query, "queryParams", false, m.query_params)) {
      return false;
    }
    return true;
  }

  bool read_auth(const YAML::Node& n, Auth& a) {
    MapReader r(file_, n, "auth");
    if (!take(r)) return false;
    auto scheme = r.one_of("scheme", kAuthSchemes);
    YAML::Node env_node = r.node("token_env");
    auto env = r.str("token_env");
    YAML::Node header_node = r.node("header");
    auto header = r.str("header");
    r.finish();
    if (!take(r)) return false;
    if (!scheme) return fail(n, "auth is missing 'scheme' (Bearer | token | Basic)");
    if (!env) return fail(n, "auth is missing 'token_env'");
    if (!env->starts_with("EGRESS_TOKEN_")) {
      return fail(env_node, "token_env '" + *env +
                                "' must name an EGRESS_TOKEN_<n> slot (only those reach egress)");
    }
    if (!check_env_name(*env, env_node)) return false;
    if (header) {
      if (!is_token(*header)) return fail(header_node, "bad header name '" + *header + "'");
      a.header = *header;
    }
    a.scheme = *scheme;
    a.token_env = *env;
    if (opts_.env) {
      std::string token = *(*opts_.env)(*env);
      if (a.scheme == "Basic" && token.find(':') != std::string::npos) token = base64(token);
      a.header_value = a.scheme + " " + token;
    }
    return true;
  }

  bool read_port(MapReader& r, const YAML::Node&, Route& route) {
    if (auto p = r.integer("port", 1, 65535)) route.port = static_cast<uint16_t>(*p);
    return true;
  }
  bool read_host_field(MapReader& r, const YAML::Node&, Route& route) { return read_host(r, route); }
  bool read_allow_private(MapReader& r, const YAML::Node&, Route& route) {
    if (auto ap = r.boolean("allow_private")) route.allow_private = *ap;
    return true;
  }
  bool read_matches(MapReader&, const YAML::Node& matches, Route& route) {
    if (!matches.IsSequence()) return fail(matches, "'matches' must be a list");
    for (const auto& m : matches) {
      RouteMatch rm;
      if (!read_match(m, rm)) return false;
      route.matches.push_back(std::move(rm));
    }
    return true;
  }
  bool read_auth_field(MapReader&, const YAML::Node& auth, Route& route) {
    Auth a;
    if (!read_auth(auth, a)) return false;
    route.auth = std::move(a);
    return true;
  }
  bool read_route_dlp(MapReader&, const YAML::Node& dlp, Route& route) {
    return read_dlp(dlp, route.dlp, nullptr, "route dlp");
  }

  bool read_route(const YAML::Node& n, Route& route) {
    r_map_ = n;
    MapReader r(file_, n, "route");
    if (!take(r)) return false;
    route.line = n.Mark().line + 1;
    r.reject("role", "is reserved and not allowed in routes");
    if (!take(r)) return false;
    // Scalars first; nested sections once the route's own keys are known to be valid.
    const auto& fields = route_fields();
    std::vector<YAML::Node> values;
    for (const RouteField& f : fields) {
      values.push_back(r.node(f.key));
      if (!f.nested && !((this->*f.read)(r, values.back(), route) && take(r))) return false;
    }
    r.finish();
    if (!take(r)) return false;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (fields[i].nested && values[i].IsDefined() &&
          !(this->*fields[i].read)(r, values[i], route)) {
        return false;
      }
    }
    route.id = route.port ? route.host + ":" + std::to_string(*route.port) : route.host;
    return true;
  }

  bool index(RouteTable& t, const YAML::Node& routes) {
    std::map<std::pair<std::string, uint16_t>, size_t> seen;
    for (size_t i = 0; i < t.routes.size(); ++i) {
      const Route& r = t.routes[i];
      std::vector<uint16_t> ports = r.port ? std::vector<uint16_t>{*r.port} : std::vector<uint16_t>{80, 443};
      for (uint16_t p : ports) {
        auto [it, fresh] = seen.emplace(std::make_pair(r.host, p), i);
        if (!fresh) {
          return fail(routes[i], "duplicate route for " + r.host + ":" + std::to_string(p) +
                                     " (first defined at line " +
                                     std::to_string(t.routes[it->second].line) + ")");
        }
      }
      if (r.wildcard) {
        t.wildcard_[r.host.substr(1)].push_back(i);
      } else {
        t.exact_[r.host].push_back(i);
      }
    }
    return true;
  }

  std::string file_;
  const LoadOptions& opts_;
  std::string error_;
  YAML::Node r_map_;
};

namespace {

// User-written strings are emitted double-quoted so that a value like 2023-06-01 or "yes"
// reads back as the same string under strict loading.
void emit_matches(YAML::Emitter& e, const Route& r) {
  if (r.matches.empty()) return;
  e << YAML::Key << "matches" << YAML::Value << YAML::BeginSeq;
  for (const auto& m : r.matches) {
    e << YAML::BeginMap;
    if (m.path) {
      e << YAML::Key << "path" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
        << "type" << YAML::Value << name_of(kPathTypes, m.path->type) << YAML::Key << "value"
        << YAML::Value << YAML::DoubleQuoted << m.path->value << YAML::EndMap;
    }
    if (m.method) e << YAML::Key << "method" << YAML::Value << YAML::DoubleQuoted << *m.method;
    for (auto [key, list] :
         {std::pair{"headers", &m.headers}, std::pair{"queryParams", &m.query_params}}) {
      if (list->empty()) continue;
      e << YAML::Key << key << YAML::Value << YAML::BeginSeq;
      for (const auto& v : *list) {
        e << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value
          << YAML::DoubleQuoted << v.name << YAML::Key << "type" << YAML::Value
          << name_of(kValueTypes, v.type) << YAML::Key << "value" << YAML::Value
          << YAML::DoubleQuoted << v.value << YAML::EndMap;
      }
      e << YAML::EndSeq;
    }
    e << YAML::EndMap;
  }
  e << YAML::EndSeq;
}

void emit_auth(YAML::Emitter& e, const Route& r) {
  if (!r.auth) return;
  // The token value is never rendered; only the slot that holds it.
  e << YAML::Key << "auth" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
    << "scheme" << YAML::Value << r.auth->scheme << YAML::Key << "token_env" << YAML::Value
    << r.auth->token_env;
  if (r.auth->header != "Authorization") {
    e << YAML::Key << "header" << YAML::Value << YAML::DoubleQuoted << r.auth->header;
  }
  e << YAML::EndMap;
}

void emit_route_dlp(YAML::Emitter& e, const Route& r) {
  // Through the reader's own key set (emit_dlp_section), so every setting in force
  // shows: max_body_bytes and stream_large_bodies per route too.
  DlpKeys route_keys;
  route_keys.known_secrets_env = false;  // file level only
  e << YAML::Key << "dlp" << YAML::Value;
  emit_dlp_section(e, r.dlp, route_keys, nullptr);
}

}  // namespace

const std::vector<RouteTableBuilder::RouteField>& RouteTableBuilder::route_fields() {
  using B = RouteTableBuilder;
  static const std::vector<RouteField> fields = {
      {"host", false, &B::read_host_field,
       [](YAML::Emitter& e, const Route& r) {
         e << YAML::Key << "host" << YAML::Value << YAML::DoubleQuoted << r.host;
       }},
      {"port", false, &B::read_port,
       [](YAML::Emitter& e, const Route& r) {
         if (r.port) e << YAML::Key << "port" << YAML::Value << *r.port;
       }},
      {"matches", true, &B::read_matches, &emit_matches},
      {"auth", true, &B::read_auth_field, &emit_auth},
      {"dlp", true, &B::read_route_dlp, &emit_route_dlp},
      {"allow_private", false, &B::read_allow_private,
       [](YAML::Emitter& e, const Route& r) {
         if (r.allow_private) e << YAML::Key << "allow_private" << YAML::Value << true;
       }},
  };
  return fields;
}

Result<std::shared_ptr<const RouteTable>> parse_routes(std::string_view yaml, std::string_view file,
                                                       const LoadOptions& opts) {
  auto root = load_strict_yaml(yaml, file);
  if (!root) return Error{root.error()};
  return build_routes(*root, file, opts);
}

Result<std::shared_ptr<const RouteTable>> build_routes(const YAML::Node& root,
                                                       std::string_view file,
                                                       const LoadOptions& opts) {
  RouteTableBuilder b(file, opts);
  return b.build(root);
}

Result<std::shared_ptr<const RouteTable>> load_routes_file(const std::string& path,
                                                           const LoadOptions& opts) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{path + ": cannot read: " + std::strerror(errno)};
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_routes(ss.str(), path, opts);
}

const Route* RouteTable::pick(const std::vector<size_t>& idx, uint16_t port) const {
  const Route* fallback = nullptr;
  for (size_t i : idx) {
    const Route& r = routes[i];
    if (r.port) {
      if (*r.port == port) return &r;
    } else if (port == 80 || port == 443) {
      fallback = &r;
    }
  }
  return fallback;
}

const Route* RouteTable::find_host(std::string_view host, uint16_t port) const {
  if (auto it = exact_.find(host); it != exact_.end()) {
    if (const Route* r = pick(it->second, port)) return r;
  }
  if (wildcard_.empty()) return nullptr;
  // Longest suffix first: "a.b.example.com" tries ".b.example.com", ".example.com", ".com".
  // The label in front of a suffix must not be empty: ".example.com" and "a..example.com"
  // are no subdomains.
  if (host.empty() || host.front() == '.') return nullptr;
  for (size_t dot = host.find('.'); dot != std::string_view::npos; dot = host.find('.', dot + 1)) {
    if (host[dot - 1] == '.') return nullptr;
    if (auto it = wildcard_.find(host.substr(dot)); it != wildcard_.end()) {
      if (const Route* r = pick(it->second, port)) return r;
    }
  }
  return nullptr;
}

namespace {

bool value_matches(const ValueMatch& m, const std::string& v) {
  if (m.type == ValueMatchType::exact) return v == m.value;
  return RE2::FullMatch(v, *m.re);
}

// Servers disagree on a parameter given twice (first wins, last wins, a list), so every
// occurrence must satisfy the match, and at least one must be present. A name without
// '=' counts as an empty value.
bool query_param_matches(const ValueMatch& m, std::string_view query) {
  bool seen = false;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq)) == m.name) {
      std::string value = eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
      if (!value_matches(m, value)) return false;
      seen = true;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return seen;
}

bool path_matches(const PathMatch& m, const std::string& path) {
  switch (m.type) {
    case PathMatchType::exact: return path == m.value;
    case PathMatchType::path_prefix: return path_prefix_matches(m.value, path);
    case PathMatchType::regex: return RE2::FullMatch(path, *m.re);
  }
  return false;
}

bool entry_matches(const RouteMatch& m, const RequestView& req,
                   const std::vector<std::string>& path_views) {
  if (m.method && !std::equal(m.method->begin(), m.method->end(), req.method.begin(),
                              req.method.end(), [](char a, char b) {
                                return a == std::toupper(static_cast<unsigned char>(b));
                              })) {
    return false;
  }
  if (m.path) {
    for (const auto& v : path_views) {
      if (!path_matches(*m.path, v)) return false;
    }
  }
  for (const auto& h : m.headers) {
    auto v = req.header ? req.header(h.name) : std::nullopt;
    if (!v || !value_matches(h, *v)) return false;
  }
  for (const auto& q : m.query_params) {
    if (!query_param_matches(q, req.query)) return false;
  }
  return true;
}

}  // namespace

MatchResult RouteTable::match(const RequestView& req) const {
  const Route* route = find_host(req.host, req.port);
  if (!route) return {MatchOutcome::host_not_allowed, nullptr};
  if (route->matches.empty()) return {MatchOutcome::matched, route};
  std::vector<std::string> views{normalize_path(req.path)};
  if (req.path.find_first_of("%\\") != std::string_view::npos) {
    views.push_back(normalize_path(req.path, true));
  }
  for (const auto& m : route->matches) {
    if (entry_matches(m, req, views)) return {MatchOutcome::matched, route};
  }
  return {MatchOutcome::route_not_matched, route};
}

bool path_prefix_matches(std::string_view prefix, std::string_view path) {
  while (prefix.size() > 1 && prefix.back() == '/') prefix.remove_suffix(1);
  if (prefix == "/") return true;
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

std::string normalize_path(std::string_view raw, bool decode_slashes) {
  // Decode unreserved escapes (and, optionally, slashes); keep every other escape.
  std::string p;
  p.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%' && i + 2 < raw.size() && hexval(raw[i + 1]) >= 0 && hexval(raw[i + 2]) >= 0) {
      char d = static_cast<char>(hexval(raw[i + 1]) * 16 + hexval(raw[i + 2]));
      bool unreserved = std::isalnum(static_cast<unsigned char>(d)) || d == '-' || d == '.' ||
                        d == '_' || d == '~';
      if (unreserved || (decode_slashes && (d == '/' || d == '\\'))) {
        p += d == '\\' ? '/' : d;
        i += 2;
        continue;
      }
    }
    p += (decode_slashes && c == '\\') ? '/' : c;
  }
  std::vector<std::string_view> out;
  std::string_view sv(p);
  bool trailing = false;
  size_t start = sv.starts_with('/') ? 1 : 0;
  while (start <= sv.size()) {
    size_t slash = sv.find('/', start);
    std::string_view seg = sv.substr(start, slash == std::string_view::npos ? slash : slash - start);
    bool last = slash == std::string_view::npos;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      trailing = true;
    } else if (seg == "." || seg.empty()) {
      trailing = true;
    } else {
      out.push_back(seg);
      trailing = false;
    }
    if (last) break;
    start = slash + 1;
  }
  std::string result;
  for (auto s : out) {
    result += '/';
    result += s;
  }
  if (result.empty() || trailing) result += '/';
  return result;
}

std::string RouteTable::to_yaml() const {
  YAML::Emitter e;
  e << YAML::BeginMap;
  e << YAML::Key << "log" << YAML::Value << name_of(kLogLevels, log_level);
  e << YAML::Key << "dlp" << YAML::Value;
  emit_dlp_section(e, default_dlp, DlpKeys{}, &known_secrets_env);
  e << YAML::Key << "routes" << YAML::Value << YAML::BeginSeq;
  for (const auto& r : routes) {
    e << YAML::BeginMap;
    for (const auto& f : RouteTableBuilder::route_fields()) f.emit(e, r);
    e << YAML::EndMap;
  }
  e << YAML::EndSeq << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace bottle::config
