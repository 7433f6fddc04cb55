// The human-readable plan printed by `--dry-run`, before a launch and by `bottle info`:
// names, hosts and sources of values, never a value that might be a secret.
#pragma once

#include <string>

#include "orchestrator/plan.h"

namespace bottle::orchestrator {

std::string format_preflight(const Plan& plan);

// An argv as one display line (newlines escaped, long commands shortened).
std::string one_line(const std::vector<std::string>& argv);

}  // namespace bottle::orchestrator
