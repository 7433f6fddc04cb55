// The container backends' renderings (SPEC §9.4 docker, k8s): pure functions of the plan
// and where things go, so golden files and structural tests pin them without an engine.
//
// The bundle runs the sidecar image (docker/Dockerfile.sidecar) with bottle-init as PID 1;
// the agent runs an agent image (docker/Dockerfile.agent) as `node`. The agent's network
// has no way out but the bundle (Compose `internal: true`, k8s NetworkPolicy) and reaches
// it by the names in plan.layout (egress, git-gate, supervise).
//
// Secrets are never in a rendering. Tokens travel as names: Compose passes
// EGRESS_TOKEN_<n> from the environment of `docker compose` (bottle sets it; never argv);
// k8s references a Secret that `bottle start --backend k8s` fills from stdin.
#pragma once

#include <sys/types.h>

#include <string>

#include "orchestrator/plan.h"
#include "orchestrator/render.h"

namespace bottle::orchestrator {

struct ContainerTarget {
  std::string slug;       // Compose project bottle-<slug>, k8s names and labels
  std::string state_dir;  // host directory holding the rendered files (Compose binds)
  std::string workspace;  // host directory mounted at /workspace (Compose)
  std::string sidecar_image;
  std::string agent_image;  // "" = bot-bottle/agent-<provider>:<version>
  std::string namespace_;   // k8s namespace; "" = the context's
  // k8s: the bundle Service's ClusterIP, which the agent Pod maps egress, git-gate and
  // supervise to (hostAliases: the agent has no DNS). "" = render the bundle only.
  std::string bundle_ip;
  // Compose, an operator who is not root: the bundle runs as the operator ("UID:GID"), so
  // the files bound into it need no chown and what supervise writes into the queue is the
  // operator's to read; passwd/group files in the state dir name that uid (ssh needs a
  // passwd entry). "" = the image's user (uid kBundleUid, files chowned to it).
  std::string sidecar_user;
};

// Paths inside the sidecar image where the bundle finds its files.
inline constexpr const char* kBundleConfigDir = "/etc/bottle";
inline constexpr const char* kBundleStateDir = "/var/lib/bottle";
inline constexpr int kContainerAdminPort = 9098;
// The images' users: the bundle's daemons (docker/Dockerfile.sidecar) and `node` in the
// agent images. Files bind-mounted into a container belong to these uids.
inline constexpr uid_t kBundleUid = 10001;
inline constexpr uid_t kImageAgentUid = 1000;
inline constexpr int kContainerGateAdminPort = 9097;
// Compose labels every object with these; `bottle list`/`cleanup` find bottles by them.
inline constexpr const char* kSlugLabel = "dev.bot-bottle.slug";
inline constexpr const char* kAgentLabel = "dev.bot-bottle.agent";
// The state dir it was started from: only projects of this BOTTLE_HOME count as its orphans.
inline constexpr const char* kStateLabel = "dev.bot-bottle.state";

std::string default_sidecar_image();
std::string default_agent_image(const std::string& provider);

// The bundle's init.yaml and gitgate.yaml inside the sidecar image: daemons bind
// 0.0.0.0:<port> in the bundle's own network namespace.
InitLayout container_init_layout(const std::string& slug, bool supervise);
GitgateLayout container_gitgate_layout(const std::string& slug, bool supervise);

// docker-compose.yaml for one bottle: services `sidecars` and `agent`, networks `internal`
// (internal: true; both) and `egress` (sidecars only), the routes directory and the CA
// (key included) bound into the sidecars only. Host paths are under target.state_dir.
std::string render_compose(const Plan& plan, const ContainerTarget& target);

// Which variables `docker compose` must have in its environment for this bottle: each
// token slot (EGRESS_TOKEN_<n>, ...) and each manifest env value not rendered literally.
struct ComposeEnvName {
  std::string name;  // in compose's environment
  std::string from;  // host variable ("" = asked at start / literal)
};
std::vector<ComposeEnvName> compose_env_names(const Plan& plan);

// Multi-document YAML for `kubectl apply`: the bundle Deployment and Service, the agent
// Pod (when target.bundle_ip is known), NetworkPolicies (agent -> the bundle's three
// ports only, no DNS; bundle -> anywhere), ConfigMaps (bundle config, routes, agent
// files), and the Secrets the bundle alone mounts (tokens, CA, git keys) — without data:
// k8s_secret_fill() says how `bottle start` fills them from stdin.
std::string render_k8s(const Plan& plan, const ContainerTarget& target);

// Object names for one bottle (also the label selectors `bottle stop` deletes by).
std::string k8s_name(const std::string& slug, const std::string& suffix = "");

struct K8sSecretKey {
  std::string secret;  // object name
  std::string key;     // key in it (a token slot, ca.pem, a repo name)
  std::string from;    // "$HOST_VAR", or a host file path
};
std::vector<K8sSecretKey> k8s_secret_fill(const Plan& plan, const std::string& slug);

}  // namespace bottle::orchestrator
