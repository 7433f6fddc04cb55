#include "orchestrator/render.h"

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

std::string render_gitgate_yaml(const Plan& p) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "repos" << YAML::Value << YAML::BeginSeq;
  for (const auto& r : p.repos) emit_node(out, r.fields);
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
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
                  const std::vector<std::string>& env, int fd, const std::string& ready_http,
                  bool reload) {
  out << YAML::Key << name << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "argv" << YAML::Value;
  flow_list(out, argv);
  out << YAML::Key << "env" << YAML::Value;
  flow_list(out, env);
  out << YAML::Key << "inherit_fds" << YAML::Value << YAML::Flow << YAML::BeginSeq << fd
      << YAML::EndSeq;
  out << YAML::Key << "restart" << YAML::Value << "always";
  if (!ready_http.empty()) {
    out << YAML::Key << "ready" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
        << "http" << YAML::Value << YAML::DoubleQuoted << ready_http << YAML::EndMap;
  }
  if (reload) out << YAML::Key << "reload_signal" << YAML::Value << true;
  out << YAML::EndMap;
}

}  // namespace

std::string render_init_yaml(const Plan& p, const InitLayout& l) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "daemons" << YAML::Value << YAML::BeginMap;
  const std::string admin = "127.0.0.1:" + std::to_string(l.admin_port);
  std::vector<std::string> argv = {p.egress.binary, "--config",  l.routes_file, "--listen",
                                   "fd:3",          "--ca-cert", l.ca_cert,     "--ca-key",
                                   l.ca_key,        "--admin",   admin};
  if (!p.upstream_ca.empty()) {
    argv.push_back("--upstream-ca");
    argv.push_back(p.upstream_ca);
  }
  for (const auto& r : p.resolve) {
    argv.push_back("--resolve");
    argv.push_back(r);
  }
  daemon_entry(out, "egress", argv, {"PATH", "HOME", "EGRESS_TOKEN_*", "EGRESS_SECRET_*"}, l.egress_fd,
               admin + "/healthz", true);
  if (p.gitgate.wanted && !p.gitgate.binary.empty() && l.gitgate_fd >= 0) {
    daemon_entry(out, "gitgate",
                 {p.gitgate.binary, "--config", l.gitgate_config, "--state", l.gitgate_state,
                  "--listen", "fd:3"},
                 {"PATH", "HOME"}, l.gitgate_fd, "", false);
  }
  if (p.supervise_daemon.wanted && !p.supervise_daemon.binary.empty() && l.supervise_fd >= 0) {
    // supervise confirms a route approval through egress's admin listener (/metrics,
    // /routes) before it tells the agent the route is live.
    std::vector<std::string> sv = {p.supervise_daemon.binary, "--listen", "fd:3"};
    sv.insert(sv.end(), {"--queue", l.supervise_queue, "--routes", l.routes_file});
    sv.insert(sv.end(), {"--init-ctl", l.init_ctl, "--egress-admin", admin});
    if (!l.slug.empty()) {
      sv.push_back("--bottle");
      sv.push_back(l.slug);
    }
    daemon_entry(out, "supervise", sv, {"PATH", "HOME"}, l.supervise_fd, "", false);
  }
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace bottle::orchestrator
