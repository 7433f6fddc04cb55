// The `local` backend (SPEC §9.4): a network namespace with only `lo` for the agent,
// listeners for the sidecar made inside it, bottle-init and its daemons in the host
// namespace, the agent under bubblewrap. No NAT, no iptables, nothing on host interfaces.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "orchestrator/env_resolve.h"
#include "orchestrator/plan.h"

namespace bottle::orchestrator {

struct LaunchOptions {
  std::string label;
  std::string workspace;  // --cwd; default the current directory
  bool interactive = false;
  bool keep = false;  // leave sidecar + namespace up after the agent exits (bottle stop)
  EnvSources env_sources;
  std::function<void(const std::string&)> progress;  // one line per step
};

// Starts the bottle, runs the agent to completion, tears everything down. Returns the
// agent's exit code.
Result<int> run_local(const Plan& plan, const LaunchOptions& options);

// From another process: stops the bottle `slug` and removes its namespace.
Status stop_local(const std::string& slug, const std::function<void(const std::string&)>& progress);

// Removes namespaces and state of bottles whose processes are gone. Returns what it did.
std::vector<std::string> cleanup_local();

// What `bottle` would have torn down, found from the state directory alone: recorded
// processes (by identity), the namespace named after `slug`, the CA key. Idempotent;
// the crash guard, `stop` and `cleanup` use it.
Status remove_leftovers(const std::string& slug,
                        const std::function<void(const std::string&)>& progress);

}  // namespace bottle::orchestrator
