#include "orchestrator/sandbox.h"

#include <filesystem>

namespace bottle::orchestrator {

namespace fs = std::filesystem;

namespace {

// The agent maps to the host's uid 0 (so it can write a root-owned workspace), which
// would let it read root-only files such as /etc/shadow or ssh host keys. So /etc is an
// allow-list of what programs need, not the whole directory.
constexpr const char* kEtcAllowList[] = {"passwd",
                                         "group",
                                         "hosts",
                                         "hostname",
                                         "nsswitch.conf",
                                         "host.conf",
                                         "resolv.conf",
                                         "gai.conf",
                                         "networks",
                                         "protocols",
                                         "services",
                                         "ssl",
                                         "ca-certificates",
                                         "ca-certificates.conf",
                                         "alternatives",
                                         "ld.so.cache",
                                         "ld.so.conf",
                                         "ld.so.conf.d",
                                         "localtime",
                                         "timezone",
                                         "os-release",
                                         "debian_version",
                                         "issue",
                                         "profile",
                                         "profile.d",
                                         "bash.bashrc",
                                         "bash_completion.d",
                                         "inputrc",
                                         "environment",
                                         "mime.types",
                                         "magic",
                                         "magic.mime",
                                         "terminfo",
                                         "shells",
                                         "gitconfig",
                                         "vim",
                                         "wgetrc",
                                         "python3",
                                         "python3.11",
                                         "perl",
                                         "pip.conf",
                                         "npmrc",
                                         "locale.alias",
                                         "xdg",
                                         "java-17-openjdk",
                                         "manpath.config"};

void add_existing(std::vector<std::pair<std::string, std::string>>& out, const std::string& path) {
  std::error_code ec;
  auto st = fs::symlink_status(path, ec);
  if (ec || !fs::exists(st)) return;
  out.emplace_back(path, fs::is_symlink(st) ? fs::read_symlink(path, ec).string() : "");
}

}  // namespace

std::vector<std::pair<std::string, std::string>> host_system_dirs() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* d : {"/usr", "/opt", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    add_existing(out, d);
  }
  for (const char* e : kEtcAllowList) add_existing(out, std::string("/etc/") + e);
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
