// The workspace as the host sees it around a bottle run: sharing it with the agent's
// uid before, and checking what the agent left in it after.
//
// Every walk stays on the workspace's filesystem, never follows a symlink, and touches
// only directories and regular files.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <string>
#include <vector>

#include "common/result.h"

namespace bottle::orchestrator {

struct WalkCount {
  size_t changed = 0;
  size_t failed = 0;  // entries the change could not be made to (EPERM, EROFS, ...)
};

// Gives `uid` read/write (and search/execute where the owner has it) on the workspace
// and everything in it, with one POSIX ACL entry per directory and regular file. Files
// with more than one hard link are skipped (the grant would reach their other names).
// Fails when the workspace directory itself cannot carry the entry (no ACL support).
Result<WalkCount> grant_workspace(const std::string& workspace, uid_t uid);
// After the agent, in one walk: clears setuid/setgid bits on regular files owned by
// `uid` whose status changed at or after `since` (the operator's own older setuid files
// are left alone), and with `revoke` removes exactly the entries grant_workspace added
// (any ACL entry naming `uid`).
struct AfterRun {
  std::vector<std::string> setid_cleared;  // workspace-relative paths
  WalkCount revoked;
};
AfterRun finish_workspace(const std::string& workspace, uid_t uid, time_t since, bool revoke);

// Workspace-relative paths of every `.git` directory or file in the workspace, the
// top-level one first (the walk does not descend into them). At most `limit`.
std::vector<std::string> find_git_entries(const std::string& workspace, size_t limit);

}  // namespace bottle::orchestrator
