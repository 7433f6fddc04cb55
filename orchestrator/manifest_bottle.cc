// Bottle files: <home>/bottles/<name>.md. Each file is parsed on its own here; `extends`
// is resolved by manifest_loader.cc.
#include <set>

#include "config/route_table.h"
#include "common/strict_yaml.h"
#include "config/yaml_emit.h"
#include "orchestrator/frontmatter.h"
#include "orchestrator/manifest.h"

namespace bottle::orchestrator {

using config::clone_node;
using config::to_yaml_text;


namespace {

bool valid_env_name(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

EnvValue classify_env(const std::string& v) {
  if (v == "?prompt") return {EnvValue::Kind::prompt, ""};
  if (v.size() > 3 && v.rfind("${", 0) == 0 && v.back() == '}' &&
      valid_env_name(std::string_view(v).substr(2, v.size() - 3))) {
    return {EnvValue::Kind::host, v.substr(2, v.size() - 3)};
  }
  return {EnvValue::Kind::literal, v};
}

Status parse_env(MapReader& top, const YAML::Node& env, const std::string& path, int off,
                 std::map<std::string, EnvValue>& out) {
  if (env.IsNull()) return OkStatus();
  if (!env.IsMap()) return Error{top.where(env) + ": 'env' must be a mapping NAME: value"};
  MapReader r(path, env, "env", off);
  for (const auto& kv : env) {
    const std::string name = kv.first.Scalar();
    if (!valid_env_name(name)) {
      return Error{top.where(kv.first) + ": env name '" + name +
                   "' is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)"};
    }
    auto v = r.str(name);
    if (!r.ok()) return Error{r.error()};
    if (v) out[name] = classify_env(*v);
  }
  r.finish();
  if (!r.ok()) return Error{r.error()};
  return OkStatus();
}

// Renders one manifest route as a one-route routes.yaml and lets the egress parser
// judge it, so the manifest and the proxy accept exactly the same vocabulary.
Status check_route_with_egress_parser(const YAML::Node& route, const std::string& at) {
  YAML::Node copy = clone_node(route);
  if (copy["auth"] && copy["auth"].IsMap() && copy["auth"]["token_ref"]) {
    copy["auth"].remove("token_ref");
    copy["auth"]["token_env"] = "EGRESS_TOKEN_0";
  }
  YAML::Node doc(YAML::NodeType::Map);
  YAML::Node list(YAML::NodeType::Sequence);
  list.push_back(copy);
  doc["routes"] = list;
  auto parsed = config::parse_routes(to_yaml_text(doc), "route");
  if (parsed) return OkStatus();
  std::string msg = parsed.error();
  // "route:3:5: what" -> "what": the position is the rendered fragment's, not the file's.
  if (msg.rfind("route:", 0) == 0) {
    size_t p = msg.find(": ");
    if (p != std::string::npos) msg = msg.substr(p + 2);
  }
  return Error{at + ": route: " + msg};
}

Status parse_route(const YAML::Node& route, const std::string& path, int off, MapReader& top,
                   EgressSpec& egress) {
  if (!route.IsMap()) return Error{top.where(route) + ": each route must be a mapping (host: ...)"};
  const std::string at = top.where(route);
  MapReader r(path, route, "route", off);
  r.reject("role", "is reserved and not accepted in routes (remove it)");
  auto host = r.str("host");
  YAML::Node auth = r.node("auth");
  for (const char* k : {"port", "matches", "dlp", "allow_private"}) r.node(k);
  r.finish();
  if (!r.ok()) return Error{r.error()};
  if (!host || host->empty()) return Error{at + ": route needs a 'host'"};
  if (auth && !auth.IsNull()) {
    if (!auth.IsMap()) return Error{r.where(auth) + ": 'auth' must be {scheme, token_ref}"};
    MapReader a(path, auth, "auth", off);
    if (a.has("token_env")) {
      a.fail(auth["token_env"],
             "manifests name the host variable with 'token_ref' (token_env is the rendered slot)");
      return Error{a.error()};
    }
    auto scheme = a.one_of("scheme", {"Bearer", "token", "Basic"});
    auto ref = a.str("token_ref");
    a.str("header");
    a.finish();
    if (!a.ok()) return Error{a.error()};
    if (!scheme) return Error{r.where(auth) + ": 'auth' needs a scheme (Bearer, token or Basic)"};
    if (!ref || !valid_env_name(*ref)) {
      return Error{r.where(auth) + ": 'auth' needs token_ref: <host environment variable>"};
    }
  }
  if (auto st = check_route_with_egress_parser(route, at); !st) return st;
  egress.routes.push_back(route);
  egress.route_origins.push_back(at);
  return OkStatus();
}

Status parse_egress(MapReader& top, const YAML::Node& node, const std::string& path, int off,
                    EgressSpec& egress) {
  if (node.IsNull()) return OkStatus();
  if (!node.IsMap()) return Error{top.where(node) + ": 'egress' must be a mapping"};
  MapReader r(path, node, "egress", off);
  r.reject("role", "is reserved and not accepted (remove it)");
  auto log = r.one_of("log", {"off", "blocks", "full"});
  YAML::Node dlp = r.node("dlp");
  YAML::Node routes = r.node("routes");
  auto resolve = r.str_list("resolve");
  auto upstream_ca = r.str("upstream_ca");
  r.finish();
  if (!r.ok()) return Error{r.error()};
  egress.origin = top.where(node);
  if (log) egress.log = *log;
  if (dlp && !dlp.IsNull()) egress.dlp = dlp;
  if (resolve) egress.resolve = *resolve;
  if (upstream_ca) {
    if (upstream_ca->empty() || (*upstream_ca)[0] != '/') {
      return Error{r.where(r.node("upstream_ca")) + ": 'upstream_ca' must be an absolute path"};
    }
    egress.upstream_ca = *upstream_ca;
  }
  if (routes && !routes.IsNull()) {
    if (!routes.IsSequence()) return Error{r.where(routes) + ": 'routes' must be a list"};
    std::set<std::string> seen;
    for (const auto& route : routes) {
      if (auto st = parse_route(route, path, off, r, egress); !st) return st;
      const YAML::Node& added = egress.routes.back();
      std::string key = added["host"].Scalar() + ":" +
                        (added["port"] ? added["port"].Scalar() : std::string("*"));
      if (!seen.insert(key).second) {
        return Error{egress.route_origins.back() + ": duplicate route for " + key};
      }
    }
  }
  return OkStatus();
}

Status parse_git_gate(MapReader& top, const YAML::Node& node, const std::string& path, int off,
                      std::vector<GitRepo>& repos) {
  if (node.IsNull()) return OkStatus();
  if (!node.IsMap())
    return Error{top.where(node) + ": 'git-gate' must be a mapping (repos: [...])"};
  MapReader r(path, node, "git-gate", off);
  YAML::Node list = r.node("repos");
  r.finish();
  if (!r.ok()) return Error{r.error()};
  if (!list || list.IsNull()) return OkStatus();
  if (!list.IsSequence()) return Error{r.where(list) + ": 'repos' must be a list"};
  std::set<std::string> names;
  for (const auto& repo : list) {
    if (!repo.IsMap()) return Error{r.where(repo) + ": each repo must be a mapping (name: ...)"};
    MapReader rr(path, repo, "repo", off);
    auto name = rr.str("name");
    rr.str("url");
    rr.str("host_key");
    YAML::Node key = rr.node("key");
    rr.finish();
    if (!rr.ok()) return Error{rr.error()};
    if (!name || name->empty() ||
        name->find_first_not_of(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
            std::string::npos) {
      return Error{r.where(repo) + ": repo needs a 'name' matching [A-Za-z0-9._-]+"};
    }
    if (!names.insert(*name).second) {
      return Error{r.where(repo) + ": duplicate repo name '" + *name + "'"};
    }
    if (key && !key.IsNull()) {
      if (!key.IsMap())
        return Error{rr.where(key) + ": 'key' must be {provider: static, path: ...}"};
      MapReader k(path, key, "key", off);
      auto provider = k.one_of("provider", {"static", "gitea"});
      k.str("path");
      k.str("provisioner_token");
      k.finish();
      if (!k.ok()) return Error{k.error()};
      if (!provider) return Error{rr.where(key) + ": 'key' needs provider: static or gitea"};
    }
    GitRepo g;
    g.name = *name;
    g.fields = clone_node(repo);
    g.origin = r.where(repo);
    repos.push_back(std::move(g));
  }
  return OkStatus();
}

// `vm: {memory: 2G, cpus: 2}`: sizes in M or G, as QEMU takes them.
Status parse_vm(MapReader& top, const YAML::Node& vm, const std::string& path, int off,
                VmSpec& out) {
  if (!vm.IsMap()) return Error{top.where(vm) + ": 'vm' must be a mapping {memory: 2G, cpus: 2}"};
  MapReader r(path, vm, "vm", off);
  auto memory = r.str("memory");
  auto cpus = r.integer("cpus", 1, 64);
  r.finish();
  if (!r.ok()) return Error{r.error()};
  if (memory) {
    const std::string& m = *memory;
    size_t digits = 0;
    while (digits < m.size() && std::isdigit(static_cast<unsigned char>(m[digits]))) ++digits;
    const std::string unit = m.substr(digits);
    const long n = digits == 0 || digits > 6 ? 0 : std::stol(m.substr(0, digits));
    const long mib = unit == "G" ? n * 1024 : unit == "M" ? n : 0;
    if (mib < 128 || mib > 256 * 1024) {
      return Error{r.where(r.node("memory")) + ": vm.memory '" + m +
                   "' is not a size from 128M to 256G (like 512M or 2G)"};
    }
    out.memory = std::to_string(mib) + "M";
  }
  if (cpus) out.cpus = static_cast<int>(*cpus);
  return OkStatus();
}

}  // namespace

Result<RawBottle> parse_bottle(std::string_view text, const std::string& path,
                               const std::string& name) {
  auto fm = load_manifest_document(text, path);
  if (!fm) return Error{fm.error()};
  RawBottle raw;
  raw.path = path;
  raw.spec.name = name;
  if (fm->doc.IsNull()) return raw;
  const int off = fm->line_offset;
  MapReader r(path, fm->doc, "bottle", off);
  r.reject("role", "is reserved and not accepted (remove it)");
  auto extends = r.str("extends");
  YAML::Node env = r.node("env");
  YAML::Node egress = r.node("egress");
  YAML::Node gate = r.node("git-gate");
  auto supervise = r.boolean("supervise");
  YAML::Node vm = r.node("vm");
  r.str("description");
  r.finish();
  if (!r.ok()) return Error{r.error()};

  if (extends) {
    raw.extends = *extends;
    raw.extends_at = r.where(r.node("extends"));
  }
  if (env) {
    raw.has_env = true;
    if (auto st = parse_env(r, env, path, off, raw.spec.env); !st) return Error{st.error()};
  }
  if (egress) {
    raw.has_egress = true;
    raw.spec.egress.emplace();
    if (auto st = parse_egress(r, egress, path, off, *raw.spec.egress); !st)
      return Error{st.error()};
  }
  if (gate) {
    raw.has_repos = true;
    if (auto st = parse_git_gate(r, gate, path, off, raw.spec.repos); !st) return Error{st.error()};
  }
  if (supervise) {
    raw.has_supervise = true;
    raw.spec.supervise = *supervise;
  }
  if (vm) {
    raw.spec.vm.emplace();
    if (auto st = parse_vm(r, vm, path, off, *raw.spec.vm); !st) return Error{st.error()};
  }
  return raw;
}

}  // namespace bottle::orchestrator
