// Per-bottle state: $BOTTLE_HOME/state/<slug>/ with metadata.json (SPEC §9.3 step 2).
// metadata.json is what list/stop/logs/cleanup read; it is rewritten by temp + rename.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/files.h"  // write_file_atomic, read_text_file, now_iso8601
#include "common/result.h"

namespace bottle::orchestrator {

struct BottleMetadata {
  std::string slug;
  std::string label;
  std::string agent;
  std::string bottle;
  std::string backend;
  std::string created;  // ISO 8601 UTC
  std::string netns;
  std::string status;  // starting | running | kept | exited
  pid_t orchestrator_pid = 0;
  pid_t init_pid = 0;
  pid_t agent_pid = 0;
  int admin_port = 0;
  std::string init_ctl;
  std::string workspace;
};

std::string state_root();
std::string state_dir(const std::string& slug);

// Slug: the label verbatim when given (so a second start with the same label collides
// on purpose), else "<agent>-<6 hex>".
Result<std::string> choose_slug(const std::string& agent, const std::string& label);

Status write_metadata(const std::string& dir, const BottleMetadata& md);
Result<BottleMetadata> read_metadata(const std::string& dir);
std::vector<BottleMetadata> list_metadata();

// A bottle is live while the `bottle` process that owns its lifecycle runs (or, after
// `--keep`, while its init runs). If that process crashed, init and the namespace are
// leftovers for `bottle cleanup`.
bool bottle_alive(const BottleMetadata& md);

// mkdir -p with a mode for the last component.
Status make_dir(const std::string& path, mode_t mode);

}  // namespace bottle::orchestrator
