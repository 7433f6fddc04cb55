// Per-bottle state: $BOTTLE_HOME/state/<slug>/ with metadata.json (SPEC §9.3 step 2).
// metadata.json is what list/stop/logs/cleanup read; it is rewritten by temp + rename.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/files.h"  // write_file_atomic, read_text_file, now_iso8601
#include "common/result.h"
#include "orchestrator/process.h"

namespace bottle::orchestrator {

struct BottleMetadata {
  std::string slug;
  std::string label;  // also written: "color", label_color(label).hex (terminal.h)
  std::string agent;
  std::string bottle;
  std::string backend;
  std::string created;  // ISO 8601 UTC
  std::string netns;
  std::string status;  // starting | running | kept | exited | applied (k8s)
  std::string project;        // docker: the Compose project (bottle-<slug>)
  std::string k8s_namespace;  // k8s: where its objects are ("" = the context's)
  // Recorded with their start times: stop and cleanup never signal a recycled pid.
  struct Processes {
    ProcessId orchestrator;
    ProcessId crash_guard;  // finishes the teardown if the orchestrator dies
    ProcessId init;
    ProcessId agent;
  } pids;
  int admin_port = 0;
  std::string init_ctl;
  std::string workspace;
  // The agent's host uid/gid (0 = not chosen yet); whether the workspace was shared with
  // it through ACL entries (to be revoked); when the agent started (epoch seconds).
  uid_t agent_uid = 0;
  gid_t agent_gid = 0;
  bool workspace_shared = false;
  long long agent_started = 0;
};

std::string state_root();
std::string state_dir(const std::string& slug);
// bottle-init's control socket, in the state dir (never taken from metadata.json).
std::string init_ctl_path(const std::string& slug);

// Slug: the label verbatim when given (so a second start with the same label collides
// on purpose), else "<agent>-<6 hex>".
Result<std::string> choose_slug(const std::string& agent, const std::string& label);

Status write_metadata(const std::string& dir, const BottleMetadata& md);
Result<BottleMetadata> read_metadata(const std::string& dir);
// metadata.json's text; `path` names it in errors. Every field is checked for its type;
// a pid without its start time is kept as {pid, 0} (never alive, never signalled).
Result<BottleMetadata> parse_metadata(std::string_view json, const std::string& path);
// Every bottle under state/, oldest first. A bottle is named by its directory, never by
// what its metadata.json says: `slug` is set to the directory name, and directories
// whose names are not slugs are skipped.
std::vector<BottleMetadata> list_metadata();

// A bottle is live while the `bottle` process that owns its lifecycle runs (or, after
// `--keep`, while its init runs).
bool bottle_alive(const BottleMetadata& md);
// A bottle that is not live but still has processes or its namespace: what a crash left
// for `bottle cleanup`.
bool bottle_has_leftovers(const BottleMetadata& md);

// SIGTERM to the `bottle` process that owns `md` (not this one), then up to `grace` for it
// to finish its teardown and exit.
void ask_owner_to_stop(const BottleMetadata& md, std::chrono::milliseconds grace,
                       const std::function<void(const std::string&)>& progress);

// mkdir -p with a mode for the last component.
Status make_dir(const std::string& path, mode_t mode);

// Files a project repository supplies (agent manifests, skills) are read only if they
// are regular files of at most this size: a FIFO would block `bottle`, a device
// (/dev/zero) would never end.
inline constexpr size_t kMaxAgentFileBytes = 1 << 20;

// Reads a regular file of at most `max_bytes`, following symlinks. The file is opened
// O_PATH and checked before it is opened for reading, so a device or FIFO is never
// opened at all. Errors: "<path>: not a regular file", "<path>: larger than 1 MiB".
Result<std::string> read_regular_file(const std::string& path, size_t max_bytes);
// The same for an O_PATH descriptor already opened (and checked not to be a symlink)
// by the caller; `shown` names it in errors.
Result<std::string> read_regular_fd(int path_fd, const std::string& shown, size_t max_bytes);

}  // namespace bottle::orchestrator
