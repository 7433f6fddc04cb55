#include <yaml-cpp/yaml.h>

#include "common/version.h"
#include "orchestrator/container_render.h"
#include "orchestrator/preflight.h"

namespace bottle::orchestrator {

std::string default_sidecar_image() {
  return std::string("bot-bottle/sidecar:") + kVersion;
}

std::string default_agent_image(const std::string& provider) {
  return "bot-bottle/agent-" + provider + ":" + kVersion;
}

InitLayout container_init_layout(const std::string& slug, bool supervise) {
  const std::string etc = kBundleConfigDir, var = kBundleStateDir;
  InitLayout l;
  l.routes_file = etc + "/routes/routes.yaml";
  l.ca_cert = etc + "/ca/ca.pem";
  l.ca_key = etc + "/ca/ca-key.pem";
  l.admin_port = kContainerAdminPort;
  l.gitgate_admin_port = kContainerGateAdminPort;
  l.gitgate_config = etc + "/gitgate.yaml";
  l.gitgate_state = var + "/gitgate";
  if (supervise) l.supervise_queue = var + "/proposals";
  l.init_ctl = "/run/bottle/init.sock";
  l.slug = slug;
  l.listen_host = "0.0.0.0";
  // A ConfigMap volume (k8s) changes under init; a bind mount (docker) does too when the
  // engine is local. `bottle routes apply` still asks for the reload explicitly.
  l.watch_routes = etc + "/routes";
  return l;
}

GitgateLayout container_gitgate_layout(const std::string& slug, bool supervise) {
  GitgateLayout g;
  g.keys_dir = std::string(kBundleConfigDir) + "/gitgate-keys";
  if (supervise) g.proposals_queue = std::string(kBundleStateDir) + "/proposals";
  g.bottle = slug;
  return g;
}

std::vector<ComposeEnvName> compose_env_names(const Plan& p) {
  std::vector<ComposeEnvName> out;
  for (const auto& t : p.token_slots) out.push_back({t.slot, t.host_env});
  for (const auto& e : p.env) {
    if (e.value.kind == EnvValue::Kind::host) out.push_back({e.name, e.value.text});
    if (e.value.kind == EnvValue::Kind::prompt) out.push_back({e.name, ""});
  }
  return out;
}

namespace {

// Compose interpolates ${...} and $NAME in every string of the file; ours are literal.
std::string literal(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '$') out += '$';
    out += c;
  }
  return out;
}

void string_list(YAML::Emitter& out, const std::vector<std::string>& items) {
  out << YAML::BeginSeq;
  for (const auto& s : items) out << YAML::DoubleQuoted << literal(s);
  out << YAML::EndSeq;
}

void hardening(YAML::Emitter& out) {
  out << YAML::Key << "cap_drop" << YAML::Value << YAML::Flow << YAML::BeginSeq << "ALL"
      << YAML::EndSeq;
  out << YAML::Key << "security_opt" << YAML::Value << YAML::Flow << YAML::BeginSeq
      << "no-new-privileges:true" << YAML::EndSeq;
}

void labels(YAML::Emitter& out, const Plan& p, const ContainerTarget& t) {
  out << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << kSlugLabel << YAML::Value << YAML::DoubleQuoted << literal(t.slug);
  out << YAML::Key << kAgentLabel << YAML::Value << YAML::DoubleQuoted << literal(p.agent);
  out << YAML::Key << kStateLabel << YAML::Value << YAML::DoubleQuoted << literal(t.state_dir);
  out << YAML::EndMap;
}

}  // namespace

std::string render_compose(const Plan& p, const ContainerTarget& t) {
  const std::string state = t.state_dir;
  const std::string etc = kBundleConfigDir;
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "version" << YAML::Value << YAML::DoubleQuoted << "3.8";
  out << YAML::Key << "services" << YAML::Value << YAML::BeginMap;

  // The bundle: the only service on the `egress` network, the only holder of tokens and
  // the CA key.
  out << YAML::Key << "sidecars" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "image" << YAML::Value
      << (t.sidecar_image.empty() ? default_sidecar_image() : t.sidecar_image);
  out << YAML::Key << "environment" << YAML::Value << YAML::BeginSeq;
  out << YAML::DoubleQuoted << "BOTTLE_DAEMONS=" + daemons_csv(p);
  for (const auto& slot : p.token_slots) out << slot.slot;  // the value: compose's own env
  out << YAML::EndSeq;
  out << YAML::Key << "volumes" << YAML::Value;
  std::vector<std::string> volumes = {
      state + "/init.yaml:" + etc + "/init.yaml:ro",
      // The directory, not the file: routes apply and supervise's approvals replace
      // routes.yaml by rename, which a file bind would never see.
      state + "/routes:" + etc + "/routes",
      state + "/ca:" + etc + "/ca:ro",
      state + "/run:/run/bottle",
  };
  if (!p.gitgate.binary.empty()) {
    volumes.push_back(state + "/gitgate.yaml:" + etc + "/gitgate.yaml:ro");
    volumes.push_back(state + "/gitgate/keys:" + etc + "/gitgate-keys:ro");
    volumes.push_back(state + "/gitgate/state:" + std::string(kBundleStateDir) + "/gitgate");
  }
  if (!p.supervise_daemon.binary.empty())
    volumes.push_back(state + "/proposals:" + std::string(kBundleStateDir) + "/proposals");
  if (!t.sidecar_user.empty()) {
    volumes.push_back(state + "/passwd:/etc/passwd:ro");
    volumes.push_back(state + "/group:/etc/group:ro");
  }
  string_list(out, volumes);
  if (!t.sidecar_user.empty())
    out << YAML::Key << "user" << YAML::Value << YAML::DoubleQuoted << t.sidecar_user;
  out << YAML::Key << "networks" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "internal" << YAML::Value << YAML::BeginMap << YAML::Key << "aliases"
      << YAML::Value << YAML::Flow << YAML::BeginSeq << p.layout.egress_host;
  for (const std::string& alias : {p.layout.gate_host, p.layout.supervise_host}) {
    if (alias != p.layout.egress_host) out << alias;
  }
  out << YAML::EndSeq << YAML::EndMap;
  out << YAML::Key << "egress" << YAML::Value << YAML::BeginMap << YAML::EndMap;
  out << YAML::EndMap;
  hardening(out);
  out << YAML::Key << "read_only" << YAML::Value << true;
  out << YAML::Key << "tmpfs" << YAML::Value << YAML::Flow << YAML::BeginSeq << "/tmp"
      << YAML::EndSeq;
  out << YAML::Key << "restart" << YAML::Value << YAML::DoubleQuoted << "no";
  labels(out, p, t);
  out << YAML::EndMap;

  // The agent: only the internal network, no token, the bottle's files read-only.
  out << YAML::Key << "agent" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "image" << YAML::Value
      << (t.agent_image.empty() ? default_agent_image(p.provider) : t.agent_image);
  out << YAML::Key << "command" << YAML::Value;
  string_list(out, p.launch_argv);
  out << YAML::Key << "working_dir" << YAML::Value << "/workspace";
  out << YAML::Key << "environment" << YAML::Value << YAML::BeginSeq;
  for (const auto& [name, value] : p.sandbox_env)
    out << YAML::DoubleQuoted << literal(name + "=" + value);
  out << YAML::DoubleQuoted << literal("BOTTLE_SLUG=" + t.slug);
  for (const auto& e : p.env) {
    if (e.value.kind == EnvValue::Kind::literal) {
      out << YAML::DoubleQuoted << literal(e.name + "=" + e.value.text);
    } else {
      out << e.name;  // resolved by bottle at start, passed through compose's env
    }
  }
  out << YAML::EndSeq;
  out << YAML::Key << "volumes" << YAML::Value;
  std::vector<std::string> agent_volumes = {t.workspace + ":/workspace",
                                            state + "/agent:" + p.layout.files_dir + ":ro"};
  for (const auto& skill : p.skills) {
    if (skill.destination.rfind(p.layout.files_dir + "/", 0) == 0) continue;
    const std::string name = skill.destination.substr(skill.destination.rfind('/') + 1);
    agent_volumes.push_back(state + "/agent/skills/" + name + ":" + skill.destination + ":ro");
  }
  string_list(out, agent_volumes);
  out << YAML::Key << "networks" << YAML::Value << YAML::Flow << YAML::BeginSeq << "internal"
      << YAML::EndSeq;
  // The bundle's names come from Docker's embedded DNS; names it does not know would be
  // forwarded to this upstream: the agent's own loopback, where nothing answers (no DNS
  // exfiltration through the host's resolver on engines that forward for internal
  // networks).
  out << YAML::Key << "dns" << YAML::Value << YAML::Flow << YAML::BeginSeq << "127.0.0.1"
      << YAML::EndSeq;
  out << YAML::Key << "depends_on" << YAML::Value << YAML::BeginMap << YAML::Key << "sidecars"
      << YAML::Value << YAML::BeginMap << YAML::Key << "condition" << YAML::Value
      << "service_healthy" << YAML::EndMap << YAML::EndMap;
  hardening(out);  // its root filesystem stays writable: agents install and cache things
  out << YAML::Key << "stdin_open" << YAML::Value << true;
  out << YAML::Key << "tty" << YAML::Value << true;
  labels(out, p, t);
  out << YAML::EndMap;
  out << YAML::EndMap;  // services

  out << YAML::Key << "networks" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "internal" << YAML::Value << YAML::BeginMap << YAML::Key << "internal"
      << YAML::Value << true << YAML::EndMap;
  out << YAML::Key << "egress" << YAML::Value << YAML::BeginMap << YAML::EndMap;
  out << YAML::EndMap;
  out << YAML::EndMap;

  std::string head = "# Rendered by bottle from " + printable(p.agent_path) + " for bottle " +
                     printable(t.slug) + " (project bottle-" + printable(t.slug) +
                     ").\n# No secret is in this file. `docker compose` takes these values "
                     "from its own environment:\n";
  for (const auto& n : compose_env_names(p)) {
    head += "#   " + printable(n.name) +
            (n.from.empty() ? " (asked at start)" : " <- $" + printable(n.from)) + "\n";
  }
  return head + out.c_str() + "\n";
}

}  // namespace bottle::orchestrator
