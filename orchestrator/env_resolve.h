// Turns the plan's env recipes into values at launch (SPEC §9.1): literals as written,
// "${HOST_VAR}" from the host environment, "?prompt" asked on the terminal.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "orchestrator/plan.h"

namespace bottle::orchestrator {

struct EnvSources {
  std::function<std::optional<std::string>(const std::string&)> host;  // getenv
  // Asks for a value; nullopt when there is no terminal to ask on.
  std::function<std::optional<std::string>(const std::string& name)> ask;
};

EnvSources process_env_sources();

// "NAME=value" entries, or the first env that cannot be resolved.
Result<std::vector<std::string>> resolve_env(const std::vector<PlanEnv>& env,
                                             const EnvSources& src);

// Real credentials for the egress token slots ("EGRESS_TOKEN_0=..."); every host
// variable must be set.
Result<std::vector<std::string>> resolve_token_slots(const Plan& plan, const EnvSources& src);

}  // namespace bottle::orchestrator
