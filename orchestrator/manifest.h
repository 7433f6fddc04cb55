// Manifest model (SPEC §9.1): one agent file and the chain of bottle files it selects.
// Loading is lazy: only the selected agent and its bottle chain are read and parsed, so a
// broken unrelated file never blocks another agent.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace bottle::orchestrator {

struct GitUser {
  std::string name;
  std::string email;
};

struct AgentSpec {
  std::string name;  // file name without .md
  std::string path;
  std::string bottle;                // bottle to run in
  std::string bottle_at;             // "path:line:col" of the bottle key
  std::string provider = "claude";   // claude | codex | command
  std::vector<std::string> command;  // provider: command
  std::string auth_token;            // host env var with the real credential
  std::string auth_token_at;         // "path:line:col" of auth_token
  bool from_project = false;         // found in a project's .bot-bottle/, not the operator's
  GitUser git_user;
  std::vector<std::string> skills;  // relative to the manifest root (the dir holding agents/)
  std::string prompt;               // the Markdown body
};

// How an env value is obtained at launch; the plan keeps the recipe, not the value.
struct EnvValue {
  enum class Kind { literal, prompt, host };
  Kind kind = Kind::literal;
  std::string text;  // literal value, or host variable name
};

// One git-gate repo, as raw YAML so `extends` can merge field by field without dropping
// fields this version does not know (a lossy round trip was a bug in the old version).
struct GitRepo {
  std::string name;
  YAML::Node fields;   // mapping: url, host_key, key
  std::string origin;  // "path:line" for messages
};

// Egress section of a bottle: routes as YAML (token_ref, not token_env) plus the
// file-level settings. Validated at load; rendered into routes.yaml by render.h.
struct EgressSpec {
  std::string log = "blocks";
  YAML::Node dlp;                          // passthrough to routes.yaml; null when absent
  std::vector<YAML::Node> routes;          // each a mapping
  std::vector<std::string> route_origins;  // "path:line" per route
  std::vector<std::string> resolve;        // host:port:addr pins for bottle-egress (demos, tests)
  std::string origin;                      // "path:line:col" of the egress section
  std::string upstream_ca;  // PEM bundle replacing egress's trust store (local TLS upstreams)
};

// The vm backend's guest (`vm: {memory: 2G, cpus: 2}`); other backends ignore it.
struct VmSpec {
  std::string memory = "1G";  // QEMU's form after parsing: <n>M
  int cpus = 1;
};

struct BottleSpec {
  std::string name;
  std::vector<std::string> chain;  // this bottle first, then its ancestors
  std::map<std::string, EnvValue> env;
  std::optional<EgressSpec> egress;
  std::vector<GitRepo> repos;
  std::optional<bool> supervise;
  std::optional<VmSpec> vm;
};

struct Manifest {
  AgentSpec agent;
  BottleSpec bottle;  // effective: `extends` resolved
  std::vector<std::string> warnings;
};

struct ManifestDirs {
  // Searched in order. The last is the operator's own; the ones before it belong to
  // the project in the current directory (untrusted: they may ship agents, not bottles).
  std::vector<std::string> agent_dirs;
  std::string bottle_dir;
};

// ./.bot-bottle/agents then <home>/agents; bottles only from <home>/bottles, where home
// is $BOTTLE_HOME or ~/.bot-bottle.
ManifestDirs default_manifest_dirs();
std::string bottle_home();

// Manifest names are file names: [a-z][a-z0-9-]*.
bool valid_manifest_name(std::string_view name);

Result<AgentSpec> parse_agent(std::string_view text, const std::string& path,
                              const std::string& name);
// One bottle file without resolving `extends` (the raw parent name is returned in `extends`).
struct RawBottle {
  BottleSpec spec;
  std::optional<std::string> extends;
  std::string extends_at;  // "path:line:col" of the extends value
  std::string path;
  bool has_env = false, has_egress = false, has_repos = false, has_supervise = false;
};
Result<RawBottle> parse_bottle(std::string_view text, const std::string& path,
                               const std::string& name);

Result<std::string> find_agent_file(const ManifestDirs& dirs, const std::string& name);
// Every file named `name` in the search dirs, in search order (the first one wins).
std::vector<std::string> find_agent_files(const ManifestDirs& dirs, const std::string& name);
Result<BottleSpec> load_bottle(const ManifestDirs& dirs, const std::string& name);
Result<Manifest> load_manifest(const ManifestDirs& dirs, const std::string& agent_name);
// Agent names visible in the search dirs (file names only; nothing is parsed).
std::vector<std::string> list_agent_names(const ManifestDirs& dirs);

}  // namespace bottle::orchestrator
