#include "orchestrator/plan.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "common/ascii.h"
#include "config/gate_config.h"
#include "config/yaml_emit.h"
#include "orchestrator/provider.h"
#include "orchestrator/render.h"

namespace bottle::orchestrator {

using config::clone_node;

bool is_sandbox_env(const std::string& name) {
  static const char* const kNames[] = {"HTTPS_PROXY",
                                       "https_proxy",
                                       "HTTP_PROXY",
                                       "http_proxy",
                                       "NO_PROXY",
                                       "no_proxy",
                                       "ALL_PROXY",
                                       "all_proxy",
                                       "SSL_CERT_FILE",
                                       "REQUESTS_CA_BUNDLE",
                                       "NODE_EXTRA_CA_CERTS",
                                       "CURL_CA_BUNDLE",
                                       "CODEX_CA_CERTIFICATE",
                                       "GIT_SSL_CAINFO",
                                       "GIT_CONFIG_GLOBAL",
                                       "HOME",
                                       "BOTTLE_PROMPT_FILE"};
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}

bool is_container_backend(const std::string& backend) {
  return backend == "docker" || backend == "k8s";
}

AgentLayout agent_layout_for(const std::string& backend) {
  AgentLayout l;
  if (is_container_backend(backend)) {
    // Compose network aliases and k8s Service names (docker/README.md); the agent images
    // run as Node's `node` user.
    l.egress_host = "egress";
    l.gate_host = "git-gate";
    l.supervise_host = "supervise";
    l.home = "/home/node";
    l.user = "node";
  } else if (backend == "vm") {
    // QEMU user networking: guestfwd maps this guest address's three ports to the
    // listeners in the bottle's namespace.
    l.egress_host = l.gate_host = l.supervise_host = "10.0.2.100";
  }
  return l;
}

namespace {

PlanRoute to_plan_route(const YAML::Node& manifest_route, bool from_provider,
                        const std::string& origin) {
  PlanRoute r;
  r.node = clone_node(manifest_route);
  r.host = r.node["host"].Scalar();
  if (r.node["port"]) r.port = r.node["port"].Scalar();
  r.from_provider = from_provider;
  if (r.node["auth"] && r.node["auth"].IsMap()) {
    r.scheme = r.node["auth"]["scheme"].Scalar();
    r.token_ref = r.node["auth"]["token_ref"].Scalar();
    r.token_origin = origin;
  }
  return r;
}

// A repo the gate cannot serve is a manifest error now, not a crash-looping gate later.
Status check_repo(const GitRepo& r) {
  const std::string at = r.origin + ": repo '" + r.name + "': ";
  if (!r.fields["url"]) return Error{at + "needs 'url' (the upstream's ssh URL)"};
  if (auto url = config::parse_ssh_url(r.fields["url"].Scalar()); !url)
    return Error{at + url.error()};
  if (!r.fields["host_key"]) {
    return Error{
        at +
        "needs 'host_key' (the upstream's ssh host key, e.g. from ssh-keyscan; the gate never "
        "trusts a key on first use)"};
  }
  if (auto hk = config::parse_host_key(r.fields["host_key"].Scalar()); !hk)
    return Error{at + hk.error()};
  const YAML::Node key = r.fields["key"];
  if (!key || !key.IsMap())
    return Error{at + "needs 'key: {provider: static, path: ...}' (the gate's ssh key)"};
  if (key["provider"].Scalar() != "static") {
    return Error{at + "key provider '" + key["provider"].Scalar() +
                 "' is not supported yet (use provider: static)"};
  }
  if (!key["path"] || key["path"].Scalar().empty())
    return Error{at + "key {provider: static} needs 'path'"};
  return OkStatus();
}

PlanDaemon daemon(const std::string& name, bool wanted, const PlanOptions& opt) {
  PlanDaemon d;
  d.name = name;
  d.wanted = wanted;
  if (!wanted) return d;
  if (is_container_backend(opt.backend)) {
    d.binary = std::string(kImageBinDir) + "/bottle-" + name;
  } else if (opt.find_binary) {
    d.binary = opt.find_binary("bottle-" + name);
  }
  return d;
}

// NO_PROXY: the gate and supervise are reached directly, never through egress.
std::string no_proxy(const AgentLayout& l) {
  std::vector<std::string> hosts;
  for (const std::string& h : {l.gate_host, l.supervise_host, std::string("localhost"),
                               std::string("127.0.0.1"), std::string("::1")}) {
    if (std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
  }
  std::string csv;
  for (const auto& h : hosts) csv += (csv.empty() ? "" : ",") + h;
  return csv;
}

// SPEC §9.3 step 4: the agent trusts the bottle CA through every variable its tools read.
std::vector<std::pair<std::string, std::string>> sandbox_env(const AgentLayout& l) {
  const std::string proxy = "http://" + l.egress_host + ":" + std::to_string(kEgressPort);
  const std::string bundle = l.files_dir + "/ca-bundle.pem";  // system roots + bottle CA
  const std::string ca = l.files_dir + "/bottle-ca.pem";
  const std::string np = no_proxy(l);
  return {{"PATH", l.path},
          {"HOME", l.home},
          {"USER", l.user},
          {"LANG", "C.UTF-8"},
          {"HTTPS_PROXY", proxy},
          {"https_proxy", proxy},
          {"HTTP_PROXY", proxy},
          {"http_proxy", proxy},
          {"NO_PROXY", np},
          {"no_proxy", np},
          {"SSL_CERT_FILE", bundle},
          {"REQUESTS_CA_BUNDLE", bundle},
          {"CURL_CA_BUNDLE", bundle},
          {"NODE_EXTRA_CA_CERTS", ca},
          {"CODEX_CA_CERTIFICATE", ca},
          {"GIT_SSL_CAINFO", bundle},
          {"GIT_CONFIG_GLOBAL", l.files_dir + "/gitconfig"},
          {"BOTTLE_PROMPT_FILE", l.files_dir + "/prompt.md"}};
}

}  // namespace

Result<Plan> make_plan(const Manifest& m, const PlanOptions& opt) {
  Plan p;
  p.agent = m.agent.name;
  p.agent_path = m.agent.path;
  p.bottle = m.bottle.name;
  p.chain = m.bottle.chain;
  p.provider = m.agent.provider;
  p.backend = opt.backend;
  p.prompt = m.agent.prompt;
  p.git_user = m.agent.git_user;
  p.repos = m.bottle.repos;
  p.warnings = m.warnings;
  for (const auto& r : p.repos) {
    if (auto st = check_repo(r); !st) return Error{st.error()};
  }
  // Supervise defaults on: an agent that can ask for help is the safer default.
  p.supervise = m.bottle.supervise.value_or(true);
  p.vm = m.bottle.vm.value_or(VmSpec{});

  p.layout = agent_layout_for(opt.backend);
  auto prov = provider_plan(m.agent, p.layout, p.supervise);
  if (!prov) return Error{prov.error()};
  p.argv = opt.command.empty() ? prov->argv : opt.command;
  if (p.argv.empty()) {
    return Error{m.agent.path +
                 ": provider 'command' needs 'command: [...]' in the agent or "
                 "a command after '--'"};
  }
  p.mcp_registration = prov->mcp_registration;
  // Skills live next to agents/: <root>/agents/x.md names <root>/skills/review.
  const std::filesystem::path root =
      std::filesystem::path(m.agent.path).parent_path().parent_path();
  for (const auto& s : m.agent.skills) {
    std::filesystem::path rel(s);
    std::string name =
        rel.filename().empty() ? rel.parent_path().filename().string() : rel.filename().string();
    p.skills.push_back({(root / rel).lexically_normal().string(), root.string(), s,
                        prov->skills_dir + "/" + name});
  }

  // Routes: provider routes own their hosts; manifest routes for other hosts follow.
  std::map<std::string, bool> provider_hosts;
  // A provider route carries the credential the agent file names in auth_token.
  const std::string agent_origin =
      (m.agent.from_project ? "project agent " : "agent ") + m.agent.auth_token_at;
  for (const auto& r : prov->routes) {
    p.routes.push_back(to_plan_route(r, true, agent_origin));
    provider_hosts[ascii_lower(r["host"].Scalar())] = true;
  }
  if (m.bottle.egress) {
    const EgressSpec& e = *m.bottle.egress;
    p.egress_log = e.log;
    // A copy: yaml-cpp nodes share data on assignment, and the plan edits its dlp below.
    if (e.dlp.IsDefined()) p.egress_dlp = YAML::Clone(e.dlp);
    p.resolve = e.resolve;
    p.upstream_ca = e.upstream_ca;
    for (size_t i = 0; i < e.routes.size(); ++i) {
      std::string host = ascii_lower(e.routes[i]["host"].Scalar());
      if (provider_hosts.count(host)) {
        p.warnings.push_back(e.route_origins[i] + ": route for " + host + " is replaced by the " +
                             p.provider + " provider's route (it owns that host's credential)");
        continue;
      }
      p.routes.push_back(to_plan_route(e.routes[i], false, "bottle " + e.route_origins[i]));
    }
  }
  // One EGRESS_TOKEN_<n> slot per distinct host variable, in route order.
  std::map<std::string, std::string> slot_of;
  for (auto& r : p.routes) {
    if (r.token_ref.empty()) continue;
    auto it = slot_of.find(r.token_ref);
    if (it == slot_of.end()) {
      std::string slot = "EGRESS_TOKEN_" + std::to_string(slot_of.size());
      it = slot_of.emplace(r.token_ref, slot).first;
      p.token_slots.push_back({slot, r.token_ref, r.token_origin});
    }
    r.token_slot = it->second;
    YAML::Node auth = r.node["auth"];
    auth.remove("token_ref");
    auth["token_env"] = r.token_slot;
  }
  // Operator-listed secrets name host variables too; egress only receives the
  // EGRESS_SECRET_<n> slots init hands it, so rewrite the list to those slots. The gate
  // watches pushes for the same secrets through its own GITGATE_SECRET_<n> slots.
  if (p.egress_dlp && p.egress_dlp.IsMap() && p.egress_dlp["known_secrets_env"]) {
    YAML::Node names = p.egress_dlp["known_secrets_env"];
    YAML::Node slots(YAML::NodeType::Sequence);
    for (size_t i = 0; i < names.size(); ++i) {
      std::string slot = "EGRESS_SECRET_" + std::to_string(i);
      p.token_slots.push_back({slot, names[i].Scalar(), "bottle " + m.bottle.egress->origin});
      slots.push_back(slot);
    }
    if (!p.repos.empty()) {
      for (size_t i = 0; i < names.size(); ++i) {
        p.token_slots.push_back({"GITGATE_SECRET_" + std::to_string(i), names[i].Scalar(),
                                 "bottle " + m.bottle.egress->origin});
      }
    }
    p.egress_dlp["known_secrets_env"] = slots;
  }

  for (const auto& [name, value] : m.bottle.env) {
    if (is_sandbox_env(name)) {
      p.warnings.push_back("env " + name + " is set by the sandbox; the bottle's value is ignored");
      continue;
    }
    p.env.push_back({name, value, false});
  }
  for (const auto& e : prov->env) {
    auto it = std::find_if(p.env.begin(), p.env.end(),
                           [&](const PlanEnv& x) { return x.name == e.name; });
    PlanEnv pe{e.name, {EnvValue::Kind::literal, e.value}, e.hidden};
    if (it != p.env.end()) {
      p.warnings.push_back("env " + e.name + " is set by the " + p.provider +
                           " provider; the bottle's value is ignored");
      *it = pe;
    } else {
      p.env.push_back(pe);
    }
  }

  p.egress = daemon("egress", true, opt);
  p.gitgate = daemon("gitgate", !p.repos.empty(), opt);
  p.supervise_daemon = daemon("supervise", p.supervise, opt);

  // A manifest may set what is not the sandbox's to decide (LANG, PATH...): its value
  // wins, once, so no rendering carries the name twice.
  for (auto& entry : sandbox_env(p.layout)) {
    const auto& name = entry.first;
    if (std::none_of(p.env.begin(), p.env.end(), [&](const PlanEnv& e) { return e.name == name; }))
      p.sandbox_env.emplace_back(entry.first, entry.second);
  }
  p.gitconfig = render_gitconfig(p);
  p.launch_argv = p.argv;
  if (!p.supervise_daemon.binary.empty() && !p.mcp_registration.empty()) {
    // Register the supervise MCP server with the agent, then become the agent. The words
    // are ours (provider + layout), never the manifest's, so quoting them is safe.
    std::string reg;
    for (const auto& w : p.mcp_registration) reg += "'" + w + "' ";
    p.launch_argv = {
        "sh", "-c",
        reg + ">/dev/null 2>&1 || echo 'bottle: MCP registration failed' >&2; exec \"$@\"", "sh"};
    p.launch_argv.insert(p.launch_argv.end(), p.argv.begin(), p.argv.end());
  }
  return p;
}

}  // namespace bottle::orchestrator
