#include "orchestrator/sandbox.h"

#include <filesystem>

namespace bottle::orchestrator {

namespace fs = std::filesystem;

std::vector<std::pair<std::string, std::string>> host_system_dirs() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* d :
       {"/usr", "/etc", "/opt", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    std::error_code ec;
    auto st = fs::symlink_status(d, ec);
    if (ec || !fs::exists(st)) continue;
    if (fs::is_symlink(st)) {
      out.emplace_back(d, fs::read_symlink(d, ec).string());
    } else if (fs::is_directory(st)) {
      out.emplace_back(d, "");
    }
  }
  return out;
}

std::vector<std::string> bwrap_argv(const SandboxSpec& s) {
  std::vector<std::string> a = {s.bwrap};
  for (const auto& [path, link] : s.system) {
    if (link.empty()) {
      a.insert(a.end(), {"--ro-bind", path, path});
    } else {
      a.insert(a.end(), {"--symlink", link, path});
    }
  }
  a.insert(a.end(),
           {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp", "--tmpfs",
            "/home", "--dir", kAgentHome, "--tmpfs", "/root", "--tmpfs", "/run"});
  a.insert(a.end(), {"--ro-bind", s.agent_files_dir, kAgentFilesDir});
  if (!s.workspace.empty())
    a.insert(a.end(), {"--bind", s.workspace, s.workspace, "--chdir", s.workspace});
  for (const auto& [from, to] : s.ro_binds) a.insert(a.end(), {"--ro-bind", from, to});
  // The user namespace takes the agent's capabilities away even though it maps to uid 0,
  // so it cannot reconfigure the network namespace it was placed in.
  a.insert(a.end(),
           {"--unshare-user", "--uid", "0", "--gid", "0", "--unshare-pid", "--unshare-ipc",
            "--unshare-uts", "--hostname", "bottle", "--cap-drop", "ALL", "--die-with-parent"});
  if (!s.interactive) a.push_back("--new-session");  // no TIOCSTI into the operator's tty
  a.push_back("--clearenv");
  for (const auto& kv : s.env) {
    size_t eq = kv.find('=');
    a.insert(a.end(),
             {"--setenv", kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1)});
  }
  a.push_back("--");
  a.insert(a.end(), s.argv.begin(), s.argv.end());
  return a;
}

}  // namespace bottle::orchestrator
