#include "orchestrator/sandbox.h"

#include <filesystem>

#include "orchestrator/agent_user.h"

namespace bottle::orchestrator {

namespace fs = std::filesystem;

namespace {

// /etc is an allow-list of what programs need, not the whole directory: the host's
// configuration (users, sudoers, ssh, service settings) is none of the agent's business,
// even where its unprivileged uid could read it. passwd and group are the bottle's own.
constexpr const char* kEtcAllowList[] = {"hosts",
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
  const std::string stage = kStageDir;
  const std::string agent_files = stage + "/" + kStagedAgentFiles;
  const std::string workspace = stage + "/" + kStagedWorkspace;
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
  if (s.passwd_fd >= 0)
    a.insert(a.end(), {"--ro-bind-data", std::to_string(s.passwd_fd), "/etc/passwd"});
  if (s.group_fd >= 0)
    a.insert(a.end(), {"--ro-bind-data", std::to_string(s.group_fd), "/etc/group"});
  a.insert(a.end(), {"--ro-bind", agent_files, kAgentFilesDir});
  // bwrap binds are nosuid and nodev (only --dev-bind keeps devices).
  if (!s.workspace.empty()) {
    a.insert(a.end(), {"--bind", workspace, s.workspace, "--chdir", s.workspace});
    for (const auto& [rel, read_only] : s.workspace_binds)
      a.insert(a.end(), {read_only ? "--ro-bind" : "--bind", workspace + "/" + rel,
                         s.workspace + "/" + rel});
  }
  for (const auto& [rel, to] : s.agent_file_binds)
    a.insert(a.end(), {"--ro-bind", agent_files + "/" + rel, to});
  // bwrap runs unprivileged; the user namespace maps the agent's inside uid to it alone.
  // The agent gets no user namespaces of its own (they open kernel surface that only
  // capabilities would reach otherwise).
  const std::string inside = std::to_string(kAgentUidInside);
  a.insert(a.end(), {"--unshare-user", "--disable-userns", "--assert-userns-disabled", "--uid",
                     inside, "--gid", inside, "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                     "--hostname", "bottle", "--cap-drop", "ALL", "--die-with-parent"});
  if (s.new_session) a.push_back("--new-session");  // no TIOCSTI into any terminal
  if (s.seccomp_fd >= 0) a.insert(a.end(), {"--seccomp", std::to_string(s.seccomp_fd)});
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
