// Provider plugins (SPEC §9.3 step 4): what an agent kind needs from its bottle — routes
// that carry its credential, placeholder env, its default command and setup steps.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "orchestrator/manifest.h"
#include "orchestrator/plan.h"

namespace bottle::orchestrator {

// The placeholder the agent holds instead of a real credential.
inline constexpr const char* kPlaceholder = "egress-placeholder";

struct ProviderEnv {
  std::string name;
  std::string value;
  bool hidden = false;  // left out of the preflight (placeholders that look like secrets)
};

struct ProviderPlan {
  std::vector<YAML::Node> routes;  // manifest-style (auth.token_ref = host env name)
  std::vector<ProviderEnv> env;
  std::vector<std::string> argv;  // default agent command
  // Shell-free argv run inside the sandbox before the agent when supervise is up.
  std::vector<std::string> mcp_registration;
  // Where the agent kind looks for skills inside the sandbox.
  std::string skills_dir;
};

// `layout` says where the agent finds supervise and its home; `supervise`: whether to
// register the MCP server.
Result<ProviderPlan> provider_plan(const AgentSpec& agent, const AgentLayout& layout,
                                   bool supervise);

}  // namespace bottle::orchestrator
