// Every docker, docker compose and kubectl call of the container backends (and doctor)
// goes through run_cli: bounded, so a hung daemon, engine or API server turns into a
// one-line error naming the command and the bound instead of a `bottle` that never
// returns. The agent session itself (`compose run agent`) is not a call: it is unbounded.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/result.h"
#include "orchestrator/process.h"

namespace bottle::orchestrator {

enum class CliWait {
  quick,  // version, exec, ps, ls, rm, logs, get, apply, delete: BOTTLE_CLI_TIMEOUT (60 s)
  slow,   // compose up (image pulls) and down (container stops): BOTTLE_CLI_SLOW_TIMEOUT (900 s)
};

// The bound for `wait`: its variable (seconds, > 0) or the default.
std::chrono::milliseconds cli_timeout(CliWait wait);

// run_capture bounded by cli_timeout(wait). On timeout the whole process group is killed
// and the error is "`docker compose up` timed out after 60 s (BOTTLE_CLI_TIMEOUT)".
Result<CaptureResult> run_cli(const std::vector<std::string>& argv, CliWait wait,
                              const std::string& stdin_data = "",
                              const std::vector<std::string>& add_env = {});

// What a timeout message calls argv: the program's name and its words up to the first
// flag argument that follows a subcommand ("docker compose exec", "kubectl apply").
std::string cli_command_name(const std::vector<std::string>& argv);

}  // namespace bottle::orchestrator
