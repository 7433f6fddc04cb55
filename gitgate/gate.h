// bottle-gitgate's process: load gitgate.yaml, prepare the state directory, build the
// DLP scanner, open the git://, smart-HTTP and admin listeners, run the event loop until
// SIGTERM/SIGINT. Exit codes per SPEC §3: 0, 2 usage, 1 runtime.
#pragma once

#include "gitgate/options.h"

namespace bottle::gitgate {

int run_gitgate(const GateOptions& options);

}  // namespace bottle::gitgate
