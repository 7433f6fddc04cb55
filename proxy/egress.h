// The bottle-egress process: loads config and CA, opens listeners, runs N workers and
// the control loop (signals, admin, reload). SIGHUP re-reads routes.yaml on the libuv
// thread pool and hands the new snapshot to every worker; a bad file keeps the old one.
#pragma once

#include "proxy/options.h"

namespace bottle::proxy {

// Runs until SIGTERM/SIGINT. Returns the process exit code; errors are printed as one
// line "bottle-egress: <what>: <why>".
int run_egress(const EgressOptions& options);

}  // namespace bottle::proxy
