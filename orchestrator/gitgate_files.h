// The gate's files for one launch (SPEC §9.3 step 2): each repo's static key copied into
// the gate's state directory (0600; "~" expands to $HOME), and gitgate.yaml pointing at
// those copies. The agent never sees either: both live in state/<slug>/, never mounted.
#pragma once

#include <string>

#include "common/result.h"
#include "orchestrator/plan.h"
#include "orchestrator/render.h"

namespace bottle::orchestrator {

// Creates <gate_dir> (0700) with keys/<repo>, and writes `config_path` (`layout` without
// its keys_dir: that is <gate_dir>/keys). An unreadable key is an error naming the repo
// and the path.
Status write_gitgate_files(const Plan& plan, const std::string& gate_dir,
                           const std::string& config_path, GitgateLayout layout = {});

// "~/x" -> "$HOME/x"; other paths unchanged.
std::string expand_home(const std::string& path);

}  // namespace bottle::orchestrator
