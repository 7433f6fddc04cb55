#include "orchestrator/render.h"

#include <sstream>

#include "config/gate_config.h"
#include "config/yaml_emit.h"

namespace bottle::orchestrator {

using config::emit_node;

std::string render_routes_yaml(const Plan& p) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "log" << YAML::Value << p.egress_log;
  if (p.egress_dlp && !p.egress_dlp.IsNull()) {
    out << YAML::Key << "dlp" << YAML::Value;
    emit_node(out, p.egress_dlp);
  }
  out << YAML::Key << "routes" << YAML::Value << YAML::BeginSeq;
  for (const auto& r : p.routes) emit_node(out, r.node);
  out << YAML::EndSeq << YAML::EndMap;
  return "# Rendered by bottle from " + p.agent_path + "; edit with `bottle routes edit`.\n" +
         out.c_str() + "\n";
}

std::string render_gitgate_yaml(const Plan& p, const GitgateLayout& layout) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "repos" << YAML::Value << YAML::BeginSeq;
  for (const auto& r : p.repos) {
    out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << r.name;
    out << YAML::Key << "upstream" << YAML::Value << YAML::DoubleQuoted << r.fields["url"].Scalar();
    out << YAML::Key << "host_key" << YAML::Value << YAML::DoubleQuoted
        << r.fields["host_key"].Scalar();
    out << YAML::Key << "key" << YAML::Value << YAML::DoubleQuoted
        << layout.keys_dir + "/" + r.name;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  std::vector<std::string> secrets;
  for (const auto& t : p.token_slots) {
    if (t.slot.starts_with("GITGATE_SECRET_")) secrets.push_back(t.slot);
  }
  if (!secrets.empty()) {
    out << YAML::Key << "dlp" << YAML::Value << YAML::BeginMap << YAML::Key << "known_secrets_env"
        << YAML::Value << YAML::Flow << secrets << YAML::EndMap;
  }
  if (!layout.proposals_queue.empty()) {
    out << YAML::Key << "proposals" << YAML::Value << YAML::BeginMap << YAML::Key << "queue"
        << YAML::Value << YAML::DoubleQuoted << layout.proposals_queue << YAML::Key << "wait_ms"
        << YAML::Value << 300000;
    if (!layout.bottle.empty())
      out << YAML::Key << "bottle" << YAML::Value << YAML::DoubleQuoted << layout.bottle;
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  return "# Rendered by bottle from " + p.agent_path + " (git-gate.repos); keys are copies.\n" +
         out.c_str() + "\n";
}

namespace {

// A gitconfig value in double quotes, so '#', ';' and spaces stay part of it.
std::string config_value(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string render_gitconfig(const Plan& p) {
  std::ostringstream o;
  if (!p.git_user.name.empty() || !p.git_user.email.empty()) {
    o << "[user]\n";
    if (!p.git_user.name.empty()) o << "\tname = " << config_value(p.git_user.name) << "\n";
    if (!p.git_user.email.empty()) o << "\temail = " << config_value(p.git_user.email) << "\n";
  }
  o << "[safe]\n\tdirectory = *\n";
  if (p.gitgate.binary.empty()) return o.str();
  for (const auto& r : p.repos) {
    const std::string url = r.fields["url"].Scalar();
    o << "[url \"git://" << p.layout.gate_host << ":" << kGitgateGitPort << "/" << r.name
      << ".git\"]\n";
    o << "\tinsteadOf = " << config_value(url) << "\n";
    if (auto parsed = config::parse_ssh_url(url)) {
      for (const auto& other : parsed->equivalent_urls()) {
        if (other != url) o << "\tinsteadOf = " << config_value(other) << "\n";
      }
    }
  }
  return o.str();
}

std::string daemons_csv(const Plan& p) {
  std::string csv;
  for (const PlanDaemon* d : {&p.egress, &p.gitgate, &p.supervise_daemon}) {
    if (d->wanted && !d->binary.empty()) csv += (csv.empty() ? "" : ",") + d->name;
  }
  return csv;
}

namespace {

void flow_list(YAML::Emitter& out, const std::vector<std::string>& items) {
  out << YAML::Flow << YAML::BeginSeq;
  for (const auto& s : items) out << YAML::DoubleQuoted << s;
  out << YAML::EndSeq;
}

void daemon_entry(YAML::Emitter& out, const std::string& name, const std::vector<std::string>& argv,
                  const std::vector<std::string>& env, const std::vector<int>& fds,
                  const std::string& ready_http, bool reload,
                  const std::string& reload_on_change = "") {
  out << YAML::Key << name << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "argv" << YAML::Value;
  flow_list(out, argv);
  out << YAML::Key << "env" << YAML::Value;
  flow_list(out, env);
  if (!fds.empty()) out << YAML::Key << "inherit_fds" << YAML::Value << YAML::Flow << fds;
  out << YAML::Key << "restart" << YAML::Value << "always";
  if (!ready_http.empty()) {
    out << YAML::Key << "ready" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
        << "http" << YAML::Value << YAML::DoubleQuoted << ready_http << YAML::EndMap;
  }
  if (reload) out << YAML::Key << "reload_signal" << YAML::Value << true;
  if (!reload_on_change.empty())
    out << YAML::Key << "reload_on_change" << YAML::Value << YAML::DoubleQuoted << reload_on_change;
  out << YAML::EndMap;
}

}  // namespace

std::string render_init_yaml(const Plan& p, const InitLayout& l) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "daemons" << YAML::Value << YAML::BeginMap;
  const std::string admin = "127.0.0.1:" + std::to_string(l.admin_port);
  // An inherited listener is fd 3, 4... in the daemon (init dup2s them in order).
  const bool own = !l.listen_host.empty();
  auto listen = [&](int port, const char* fd) {
    return own ? l.listen_host + ":" + std::to_string(port) : std::string(fd);
  };
  auto fds = [&](std::vector<int> v) { return own ? std::vector<int>{} : v; };
  std::vector<std::string> argv = {p.egress.binary,
                                   "--config",
                                   l.routes_file,
                                   "--listen",
                                   listen(kEgressPort, "fd:3"),
                                   "--ca-cert",
                                   l.ca_cert,
                                   "--ca-key",
                                   l.ca_key,
                                   "--admin",
                                   admin};
  if (!p.upstream_ca.empty()) {
    argv.push_back("--upstream-ca");
    argv.push_back(p.upstream_ca);
  }
  for (const auto& r : p.resolve) {
    argv.push_back("--resolve");
    argv.push_back(r);
  }
  daemon_entry(out, "egress", argv, {"PATH", "HOME", "EGRESS_TOKEN_*", "EGRESS_SECRET_*"},
               fds({l.egress_fd}), admin + "/healthz", true, l.watch_routes);
  if (p.gitgate.wanted && !p.gitgate.binary.empty() &&
      (own || (l.gitgate_git_fd >= 0 && l.gitgate_http_fd >= 0))) {
    const std::string gate_admin = "127.0.0.1:" + std::to_string(l.gitgate_admin_port);
    daemon_entry(out, "gitgate",
                 {p.gitgate.binary, "--config", l.gitgate_config, "--state", l.gitgate_state,
                  "--listen-git", listen(kGitgateGitPort, "fd:3"), "--listen-http",
                  listen(kGitgateHttpPort, "fd:4"), "--admin", gate_admin},
                 {"PATH", "HOME", "GIT_KEY_*", "GITGATE_SECRET_*"},
                 fds({l.gitgate_git_fd, l.gitgate_http_fd}), gate_admin + "/healthz", false);
  }
  if (p.supervise_daemon.wanted && !p.supervise_daemon.binary.empty() &&
      (own || l.supervise_fd >= 0)) {
    // supervise confirms a route approval through egress's admin listener (/metrics,
    // /routes) before it tells the agent the route is live.
    std::vector<std::string> sv = {p.supervise_daemon.binary, "--listen",
                                   listen(kSupervisePort, "fd:3")};
    sv.insert(sv.end(), {"--queue", l.supervise_queue});
    if (l.supervise_applies_routes)
      sv.insert(sv.end(), {"--routes", l.routes_file, "--init-ctl", l.init_ctl});
    else
      sv.push_back("--routes-by-operator");  // `bottle proposals approve` applies them
    sv.insert(sv.end(), {"--egress-admin", admin});
    if (!l.slug.empty()) {
      sv.push_back("--bottle");
      sv.push_back(l.slug);
    }
    daemon_entry(out, "supervise", sv, {"PATH", "HOME"}, fds({l.supervise_fd}), "", false);
  }
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace bottle::orchestrator
