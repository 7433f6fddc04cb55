// The human-readable plan printed by `--dry-run`, before a launch and by `bottle info`:
// names, hosts and sources of values, never a value that might be a secret.
#pragma once

#include <string>

#include "orchestrator/plan.h"

namespace bottle::orchestrator {

std::string format_preflight(const Plan& plan);

// An argv as one display line (escaped as printable(), long commands shortened).
std::string one_line(const std::vector<std::string>& argv);

// Text from a manifest (a project repo may have written it) made safe for a terminal:
// C0 and C1 control characters, DEL, Unicode bidi controls and invalid UTF-8 are shown
// as escapes (\e, \r, \n, \x1f, \u202e), so no string can move the cursor, retitle the
// window, or fake a line of output. With keep_newlines, '\n' stays a line break (for
// multi-line messages whose own lines are trusted).
std::string printable(std::string_view text, bool keep_newlines = false);

}  // namespace bottle::orchestrator
