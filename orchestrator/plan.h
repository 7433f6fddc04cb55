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

// Where the agent reaches the sidecar bundle (SPEC §2), and what the agent's own side
// looks like: its home, user, PATH and the directory of the files the bottle gives it.
// Only this differs between backends on the agent's side; the proxy env, the gitconfig and
// the MCP registration are built from it, so every backend renders them from one plan.
inline constexpr int kEgressPort = 9099;
inline constexpr int kGitgateGitPort = 9418;   // git://
inline constexpr int kGitgateHttpPort = 9419;  // smart HTTP
inline constexpr int kSupervisePort = 9100;

// The local backend's agent files and home (sandbox.cc mounts them there).
inline constexpr const char* kAgentFilesDir = "/run/bottle";
inline constexpr const char* kAgentHome = "/home/agent";

struct AgentLayout {
  std::string egress_host = "127.0.0.1";
  std::string gate_host = "127.0.0.1";
  std::string supervise_host = "127.0.0.1";
  std::string files_dir = kAgentFilesDir;  // CA bundle, gitconfig, prompt (read-only)
  std::string home = kAgentHome;
  std::string user = "agent";
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
};

// local: 127.0.0.1 inside the bottle's namespace. docker, k8s: the bundle's network
// aliases / Service names, agent images run as `node`. vm: the guest's forwarded address.
// Unknown backends get local's layout (the CLI rejects them before planning).
AgentLayout agent_layout_for(const std::string& backend);

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
  AgentLayout layout;
  VmSpec vm;  // the vm backend's guest
  // What the bottle sets in the agent's environment (proxy, CA variables, HOME, PATH,
  // GIT_CONFIG_GLOBAL...), before `env`. Launch-time facts (BOTTLE_SLUG, TERM) are the
  // backend's.
  std::vector<std::pair<std::string, std::string>> sandbox_env;
  // The agent's gitconfig (GIT_CONFIG_GLOBAL): identity and insteadOf rewrites to the gate.
  std::string gitconfig;
  // What the agent process runs: argv, behind the MCP registration when supervise is up.
  std::vector<std::string> launch_argv;
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
  // Host backends (local, vm) look the daemons up here; container backends (docker, k8s)
  // use the sidecar image's paths (kImageBinDir) instead.
  BinaryFinder find_binary;
};

// Where the sidecar image (docker/Dockerfile.sidecar) installs the daemons.
inline constexpr const char* kImageBinDir = "/usr/local/bin";

// Backends whose sidecar bundle is the sidecar image, not binaries on this host.
bool is_container_backend(const std::string& backend);

Result<Plan> make_plan(const Manifest& manifest, const PlanOptions& options);

// Names the sandbox sets itself; a manifest value for them is ignored with a warning.
bool is_sandbox_env(const std::string& name);

}  // namespace bottle::orchestrator
