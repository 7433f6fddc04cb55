// bottle-init's event loop: starts the selected daemons, relays their output, reaps every
// child and orphan, restarts with backoff, forwards SIGHUP, answers the control socket,
// and stops everything on SIGTERM/SIGINT. Single-threaded: one poll() over a signalfd,
// the control socket, the children's pipes and readiness checks.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "init/config.h"

namespace bottle::init {

struct SupervisorOptions {
  InitConfig config;
  std::vector<std::string> daemons;  // selected names, in start order; may be empty
  std::string ctl_path;
  std::string ready_file;  // empty: none
  std::chrono::milliseconds grace{8000};
};

// Runs until SIGTERM/SIGINT, or until every daemon has exited for good. Returns the exit
// code: the first failure (non-zero exit, or 128+signal for a death init did not ask
// for), else 0. Returns 1 if the control socket cannot be opened.
int run_supervisor(const SupervisorOptions& options);

}  // namespace bottle::init
