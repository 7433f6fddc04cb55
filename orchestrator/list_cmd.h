// `bottle list [--all]` (SPEC §9.2): every bottle under state/ with its label (in its
// colour on a terminal), agent, backend, age, status, and the counts an operator acts
// on: blocks so far (from the sidecar log) and proposals waiting for an answer.
#pragma once

#include <iosfwd>

namespace bottle::orchestrator {

// `all`: also bottles that exited (their state is still on disk until `bottle cleanup`).
int list_command(bool all, bool color, std::ostream& out);

}  // namespace bottle::orchestrator
