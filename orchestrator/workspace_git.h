// What the operator's git would run from a workspace (SPEC §9.4: nothing the agent
// writes into the workspace runs on the host when the operator later uses git there).
//
// Git executes commands named in a repository's own config (core.fsmonitor,
// core.hooksPath, core.sshCommand, alias.*, filter.*, diff.external, ...) and its hooks.
// The defence has three parts:
// - Inside the bottle the workspace's existing repositories are protected: each `.git`
//   is bound onto itself (a mount point cannot be renamed or replaced by a fresh repo)
//   and its config, hooks, modules/, worktrees/, commondir, config.worktree and an
//   in-workspace core.hooksPath are bound read-only. The agent still commits, branches
//   and fetches; it cannot change what git runs. (git config writes into .git/config
//   fail; the agent's own settings go to GIT_CONFIG_GLOBAL or `git -c`.)
// - `.git` itself must stay writable (git's lock files live there), so the agent could
//   create `.git/commondir`, which makes git read config and hooks from anywhere (git
//   does not check who owns that place). GitDirWatch removes such a file the moment
//   inotify reports it, and the exit check again.
// - Repositories the agent creates belong to its uid, not the operator's: the host's
//   git refuses them (safe.directory) unless bottle ran under sudo, where that uid is the
//   operator's. So:
// - Before a start, bottle warns about every such setting or hook already in the
//   workspace; after the run, it reports every one the agent added.
#pragma once

#include <string>
#include <vector>

#include "orchestrator/process.h"

namespace bottle::orchestrator {

struct GitFinding {
  std::string where;  // workspace-relative file: "sub/.git/config", ".git/hooks/pre-commit"
  std::string what;   // "core.fsmonitor = touch /tmp/x", "hook pre-commit", ...
  bool operator==(const GitFinding&) const = default;
};

// Every command-running setting and hook of every repository in the workspace (the
// top-level one and nested ones, at most 64). Needs `git` on PATH to read configs
// (without it nothing on the host runs them either).
std::vector<GitFinding> scan_workspace_git(const std::string& workspace);

// Findings in `after` that were not in `before`.
std::vector<GitFinding> added_findings(const std::vector<GitFinding>& before,
                                       const std::vector<GitFinding>& after);

// Workspace-relative paths to bind onto themselves inside the bottle, in mount order
// (a repository's `.git` before what lies in it).
struct GitBind {
  std::string path;
  bool read_only = true;
};
std::vector<GitBind> git_protection(const std::string& workspace);

// Files that redirect a repository (commondir, config.worktree) are removed from the
// protected git directories as soon as they appear, while the agent runs.
class GitDirWatch {
 public:
  GitDirWatch() = default;
  // Watches every pinned (read-write) `.git` directory of `binds`.
  static GitDirWatch start(const std::string& workspace, const std::vector<GitBind>& binds);
  int fd() const { return inotify_.get(); }
  // Handles pending events; returns the workspace-relative paths it removed.
  std::vector<std::string> on_readable();

 private:
  struct Dir {
    int wd;
    UniqueFd fd;
    std::string rel;
  };
  UniqueFd inotify_;
  std::vector<Dir> dirs_;
};

// Removes a redirecting file the agent added (a finding whose `where` ends in
// /commondir or /config.worktree); true when it did.
bool remove_redirect(const std::string& workspace, const GitFinding& finding);

}  // namespace bottle::orchestrator
