#include "orchestrator/preflight.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <sstream>

#include "orchestrator/render.h"
#include "common/strings.h"

namespace bottle::orchestrator {
namespace {

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

namespace {

// Length of the UTF-8 sequence starting at s[i] and its code point; 0 when invalid.
size_t utf8_sequence(std::string_view s, size_t i, uint32_t& cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  cp = n == 1 ? c : c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

bool is_bidi_control(uint32_t cp) {
  return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::string printable(std::string_view text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  char hex[12];
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    uint32_t cp = 0;
    size_t n = utf8_sequence(text, i, cp);
    if (n == 0) {
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
      ++i;
      continue;
    }
    if (cp == '\n' && keep_newlines) {
      out += '\n';
    } else if (cp < 0x20 || cp == 0x7F) {
      switch (cp) {
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\a':
          out += "\\a";
          break;
        case 0x1B:
          out += "\\e";
          break;
        default:
          std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned>(cp));
          out += hex;
      }
    } else if ((cp >= 0x80 && cp <= 0x9F) || is_bidi_control(cp)) {
      std::snprintf(hex, sizeof hex, "\\u%04x", static_cast<unsigned>(cp));
      out += hex;
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

// One line, however long the argv.
std::string one_line(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += printable(a);
  }
  return s.size() > 160 ? s.substr(0, 157) + "..." : s;
}

std::string format_preflight(const Plan& p) {
  // Every string below may come from a project's agent file: printable() throughout.
  const auto P = [](std::string_view s) { return printable(s); };
  std::ostringstream o;
  o << "agent:     " << P(p.agent) << " (" << P(p.agent_path) << ")\n";
  o << "bottle:    " << P(join(p.chain, " <- ")) << "\n";
  o << "provider:  " << P(p.provider) << "\n";
  o << "command:   " << one_line(p.argv) << "\n";
  o << "backend:   " << P(p.backend);
  if (p.backend == "vm") o << " (" << P(p.vm.memory) << ", " << p.vm.cpus << " cpu)";
  o << "\n";
  o << "env:       ";
  bool any = false;
  for (const auto& e : p.env) {
    if (e.hidden) continue;
    o << (any ? ", " : "") << P(e.name);
    if (e.value.kind == EnvValue::Kind::prompt) o << " (asked at start)";
    if (e.value.kind == EnvValue::Kind::host) o << " (from $" << P(e.value.text) << ")";
    any = true;
  }
  o << (any ? "\n" : "none\n");
  o << "egress:    log " << P(p.egress_log) << ", " << p.routes.size() << " route(s)";
  if (!p.upstream_ca.empty()) o << ", upstream CA " << P(p.upstream_ca);
  o << "\n";
  for (const auto& r : p.routes) {
    o << "  " << P(r.host) << (r.port.empty() ? "" : ":" + P(r.port));
    if (!r.scheme.empty()) o << " [auth:" << P(r.scheme) << " from $" << P(r.token_ref) << "]";
    if (r.node["matches"]) o << " [" << r.node["matches"].size() << " match rule(s)]";
    if (r.node["allow_private"] && r.node["allow_private"].Scalar() == "true")
      o << " [allow_private]";
    if (r.from_provider) o << " (provider)";
    o << "\n";
  }
  // Which host variable becomes a credential, and which file chose it: a project agent
  // can name any variable of the operator's environment in auth_token.
  for (const auto& t : p.token_slots) {
    if (t.slot.rfind("GITGATE_SECRET_", 0) == 0) continue;  // the same variable, for the gate
    if (t.slot.rfind("EGRESS_SECRET_", 0) == 0) {
      o << "secret:    $" << P(t.host_env) << " (watched for by DLP, never sent; chosen by "
        << P(t.origin) << ")\n";
      continue;
    }
    std::vector<std::string> hosts, origins;
    for (const auto& r : p.routes) {
      if (r.token_slot != t.slot) continue;
      if (std::find(hosts.begin(), hosts.end(), r.host) == hosts.end()) hosts.push_back(r.host);
      if (std::find(origins.begin(), origins.end(), r.token_origin) == origins.end())
        origins.push_back(r.token_origin);
    }
    o << "credential: $" << P(t.host_env) << " -> " << P(join(hosts, ", ")) << " (chosen by "
      << P(join(origins, ", ")) << ")\n";
  }
  for (const auto& s : p.skills)
    o << "skill:     " << P(s.source) << " -> " << P(s.destination) << "\n";
  o << "git-gate:  " << P(daemon_state(p.gitgate));
  if (!p.repos.empty() && !p.gitgate.binary.empty()) {
    o << " (in the bottle: git://" << P(p.layout.gate_host) << ":" << kGitgateGitPort
      << "/<repo>.git, http://" << P(p.layout.gate_host) << ":" << kGitgateHttpPort
      << "/<repo>.git)";
  }
  o << "\n";
  for (const auto& r : p.repos) o << "  " << P(r.name) << " -> " << P(repo_line(r)) << "\n";
  o << "supervise: " << P(daemon_state(p.supervise_daemon)) << "\n";
  // What the agent is told, as the backend will set it (values are never secrets: the
  // placeholders are hidden manifest env, above).
  o << "agent env: (set by the bottle, then the env above)\n";
  for (const auto& [name, value] : p.sandbox_env) o << "  " << P(name) << "=" << P(value) << "\n";
  o << "gitconfig: (" << P(p.layout.files_dir) << "/gitconfig)\n";
  std::string line;
  std::istringstream gitconfig(p.gitconfig);
  while (std::getline(gitconfig, line)) {
    if (line.starts_with('\t')) line = "    " + line.substr(1);
    o << "  " << P(line) << "\n";
  }
  if (p.launch_argv != p.argv) o << "mcp:       " << one_line(p.mcp_registration) << "\n";
  for (const auto& w : p.warnings) o << "warning:   " << P(w) << "\n";
  return o.str();
}

}  // namespace bottle::orchestrator
