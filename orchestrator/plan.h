// The plan (SPEC §9.3 step 1): everything a launch will do, computed from the manifest
// without side effects. `--dry-run` prints it; render.h turns it into config files; the
// backend executes it. Secrets are never in the plan, only the names that hold them.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "orchestrator/manifest.h"

namespace bottle::orchestrator {

struct PlanRoute {
  YAML::Node node;  // routes.yaml entry; auth carries token_env (the slot)
  std::string host;
  std::string port;        // "" = 80 and 443
  std::string scheme;      // "" = no injection
  std::string token_ref;   // host env var with the credential
  std::string token_slot;  // EGRESS_TOKEN_<n>
  std::string token_origin;  // who chose token_ref: "project agent <path:line:col>", ...
  bool from_provider = false;
};

struct PlanEnv {
  std::string name;
  EnvValue value;
  bool hidden = false;
};

// A sidecar daemon the bottle asked for, and whether its binary exists here.
struct PlanDaemon {
  std::string name;  // egress | gitgate | supervise
  bool wanted = false;
  std::string binary;  // absolute path, empty if not found
};

struct TokenSlot {
  std::string
      slot;  // EGRESS_TOKEN_<n>; EGRESS_SECRET_<n> / GITGATE_SECRET_<n> for dlp.known_secrets_env
  std::string host_env;  // where its value comes from at launch
  std::string origin;    // the manifest that named host_env (for known secrets)
};

struct Plan {
  std::string agent;
  std::string agent_path;
  std::string bottle;
  std::vector<std::string> chain;
  std::string provider;
  std::vector<std::string> argv;
  std::vector<PlanEnv> env;
  std::string egress_log = "blocks";
  YAML::Node egress_dlp;
  std::vector<std::string> resolve;
  std::string upstream_ca;
  std::vector<PlanRoute> routes;
  std::vector<TokenSlot> token_slots;
  std::vector<GitRepo> repos;
  bool supervise = false;
  std::vector<std::string> mcp_registration;
  PlanDaemon egress, gitgate, supervise_daemon;
  std::string backend;
  std::string prompt;
  struct Skill {
    std::string source;       // host path (manifest root / relative), for messages
    std::string root;         // the manifest root: the directory holding agents/
    std::string relative;     // as the agent file lists it (skills/review)
    std::string destination;  // where the agent finds it
  };
  std::vector<Skill> skills;
  GitUser git_user;
  std::vector<std::string> warnings;
};

// Finds a helper binary by name ("bottle-egress"); returns "" when absent. Injected so
// planning stays pure and golden tests do not depend on what is built.
using BinaryFinder = std::function<std::string(const std::string&)>;

struct PlanOptions {
  std::string backend = "local";
  std::vector<std::string> command;  // `-- cmd...` overrides the provider's argv
  BinaryFinder find_binary;
};

Result<Plan> make_plan(const Manifest& manifest, const PlanOptions& options);

// Names the sandbox sets itself; a manifest value for them is ignored with a warning.
bool is_sandbox_env(const std::string& name);

}  // namespace bottle::orchestrator
