#include "orchestrator/preflight.h"

#include <sstream>

#include "orchestrator/render.h"

namespace bottle::orchestrator {
namespace {

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? std::string(sep) : "") + v[i];
  return s;
}

std::string daemon_state(const PlanDaemon& d) {
  if (!d.wanted) return "off";
  if (d.binary.empty()) return "not available (bottle-" + d.name + " not found; skipped)";
  return "on";
}

// "ssh://git@host/org/app.git (host key ssh-ed25519, key static ~/.ssh/id)".
std::string repo_line(const GitRepo& r) {
  std::string line = r.fields["url"] ? r.fields["url"].Scalar() : "(no url)";
  if (r.fields["host_key"]) {
    const std::string hk = r.fields["host_key"].Scalar();
    line += " (host key " + hk.substr(0, hk.find(' '));
  } else {
    line += " (no host key";
  }
  const YAML::Node key = r.fields["key"];
  if (key && key.IsMap()) {
    line += ", key " + key["provider"].Scalar() + (key["path"] ? " " + key["path"].Scalar() : "");
  }
  return line + ")";
}

}  // namespace

// One line, however long the argv: newlines shown as "\n", long commands cut.
std::string one_line(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    for (char c : a) s += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return s.size() > 160 ? s.substr(0, 157) + "..." : s;
}

std::string format_preflight(const Plan& p) {
  std::ostringstream o;
  o << "agent:     " << p.agent << " (" << p.agent_path << ")\n";
  o << "bottle:    " << join(p.chain, " <- ") << "\n";
  o << "provider:  " << p.provider << "\n";
  o << "command:   " << one_line(p.argv) << "\n";
  o << "backend:   " << p.backend << "\n";
  o << "env:       ";
  bool any = false;
  for (const auto& e : p.env) {
    if (e.hidden) continue;
    o << (any ? ", " : "") << e.name;
    if (e.value.kind == EnvValue::Kind::prompt) o << " (asked at start)";
    if (e.value.kind == EnvValue::Kind::host) o << " (from $" << e.value.text << ")";
    any = true;
  }
  o << (any ? "\n" : "none\n");
  o << "egress:    log " << p.egress_log << ", " << p.routes.size() << " route(s)";
  if (!p.upstream_ca.empty()) o << ", upstream CA " << p.upstream_ca;
  o << "\n";
  for (const auto& r : p.routes) {
    o << "  " << r.host << (r.port.empty() ? "" : ":" + r.port);
    if (!r.scheme.empty()) o << " [auth:" << r.scheme << " from $" << r.token_ref << "]";
    if (r.node["matches"]) o << " [" << r.node["matches"].size() << " match rule(s)]";
    if (r.node["allow_private"] && r.node["allow_private"].Scalar() == "true")
      o << " [allow_private]";
    if (r.from_provider) o << " (provider)";
    o << "\n";
  }
  for (const auto& s : p.skills) o << "skill:     " << s.source << " -> " << s.destination << "\n";
  o << "git-gate:  " << daemon_state(p.gitgate);
  if (!p.repos.empty() && !p.gitgate.binary.empty()) {
    o << " (in the bottle: git://127.0.0.1:" << kGitgateGitPort << "/<repo>.git, http://127.0.0.1:"
      << kGitgateHttpPort << "/<repo>.git)";
  }
  o << "\n";
  for (const auto& r : p.repos) o << "  " << r.name << " -> " << repo_line(r) << "\n";
  o << "supervise: " << daemon_state(p.supervise_daemon) << "\n";
  for (const auto& w : p.warnings) o << "warning:   " << w << "\n";
  return o.str();
}

}  // namespace bottle::orchestrator
