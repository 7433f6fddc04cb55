// Filesystem and process isolation for the agent with bubblewrap (SPEC §9.4 local):
// read-only system, private /tmp and /home, the workspace read-write, its own pid and
// user namespace (no capabilities), a fresh /proc that shows none of the sidecar.
#pragma once

#include <string>
#include <vector>

namespace bottle::orchestrator {

// Where the per-bottle agent files (CA bundle, gitconfig, prompt) appear inside.
inline constexpr const char* kAgentFilesDir = "/run/bottle";
inline constexpr const char* kAgentHome = "/home/agent";

struct SandboxSpec {
  std::string bwrap = "bwrap";
  std::string workspace;         // host path, mounted at the same path, read-write
  std::string agent_files_dir;   // host path, mounted read-only at kAgentFilesDir
  std::vector<std::string> env;  // "K=V"; the sandbox starts from an empty env
  std::vector<std::string> argv;
  bool interactive = false;  // keep the terminal (no --new-session)
  // System directories to expose read-only: {path, symlink target or ""}.
  std::vector<std::pair<std::string, std::string>> system;
  // Extra read-only binds {host path, sandbox path} (skills), applied last.
  std::vector<std::pair<std::string, std::string>> ro_binds;
};

// /usr, /opt, the merged-/usr links (/bin -> usr/bin ...) and an allow-list of /etc
// entries, as this host has them: {path, symlink target or "" for a read-only bind}.
std::vector<std::pair<std::string, std::string>> host_system_dirs();

std::vector<std::string> bwrap_argv(const SandboxSpec& spec);

}  // namespace bottle::orchestrator
