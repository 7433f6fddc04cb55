// Filesystem and process isolation for the agent with bubblewrap (SPEC §9.4 local):
// read-only system, private /tmp and /home, the workspace read-write, its own pid and
// user namespace (no capabilities), a fresh /proc that shows none of the sidecar.
//
// bwrap runs as the agent's unprivileged host uid (agent_user.h), never as root, so the
// agent's files are never root's. Paths that uid could not reach (a workspace under
// /root, the state dir) are staged first: `bottle`'s child, still root, bind-mounts them
// under kStageDir in a private mount namespace (SpawnOptions::staged), and bwrap binds
// them from there.
#pragma once

#include <string>
#include <vector>

#include "orchestrator/plan.h"

namespace bottle::orchestrator {

// kAgentFilesDir (CA bundle, gitconfig, prompt) and kAgentHome: plan.h (AgentLayout).
// The stage, in the mount namespace of the process that execs bwrap, and its entries.
inline constexpr const char* kStageDir = "/run";
inline constexpr const char* kStagedWorkspace = "workspace";
inline constexpr const char* kStagedAgentFiles = "agent";

struct SandboxSpec {
  std::string bwrap = "bwrap";
  std::string workspace;         // host path, mounted at the same path, read-write (staged)
  std::vector<std::string> env;  // "K=V"; the sandbox starts from an empty env
  std::vector<std::string> argv;
  // Own session (setsid): no controlling terminal. Off only when the caller gives the
  // agent a terminal of its own (a pty bottle relays), never the operator's.
  bool new_session = true;
  // System directories to expose read-only: {path, symlink target or ""}.
  std::vector<std::pair<std::string, std::string>> system;
  // Read-only binds {path relative to the agent files dir, sandbox path} (skills).
  std::vector<std::pair<std::string, std::string>> agent_file_binds;
  // Workspace-relative paths bound onto themselves after the workspace, in order:
  // {path, read_only}. They protect what the host's git would run (workspace_git.h).
  std::vector<std::pair<std::string, bool>> workspace_binds;
  // Descriptor numbers in the bwrap process: the seccomp program and the passwd and
  // group files the agent sees.
  int seccomp_fd = -1;
  int passwd_fd = -1;
  int group_fd = -1;
};

// /usr, /opt, the merged-/usr links (/bin -> usr/bin ...) and an allow-list of /etc
// entries, as this host has them: {path, symlink target or "" for a read-only bind}.
std::vector<std::pair<std::string, std::string>> host_system_dirs();

std::vector<std::string> bwrap_argv(const SandboxSpec& spec);

}  // namespace bottle::orchestrator
