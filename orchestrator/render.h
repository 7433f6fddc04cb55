// Config files a launch writes into state/<slug>/ (SPEC §9.3 step 2). Pure functions of
// the plan and the chosen paths, so golden tests pin their exact text.
#pragma once

#include <string>
#include <vector>

#include "orchestrator/plan.h"

namespace bottle::orchestrator {

// routes.yaml for bottle-egress (SPEC §4.3): token_env slots, never token values.
std::string render_routes_yaml(const Plan& plan);

struct InitLayout {
  std::string routes_file;  // inside the routes directory
  std::string ca_cert;
  std::string ca_key;
  int admin_port = 9098;
  // bottle-init's fds holding the listeners made in the agent's namespace, per daemon.
  int egress_fd = 3;
  int gitgate_git_fd = -1;   // git:// (9418 in the bottle)
  int gitgate_http_fd = -1;  // smart HTTP (9419 in the bottle)
  int gitgate_admin_port = 0;
  int supervise_fd = -1;
  std::string gitgate_config;
  std::string gitgate_state;
  std::string supervise_queue;
  std::string init_ctl;
  std::string slug;  // written into supervise's proposals ("" = not known)
  // Container backends: the daemons bind <listen_host>:<port> themselves (the bundle's
  // own network namespace) instead of inheriting fds; "" = the *_fd fields above.
  std::string listen_host;
  // Container backends: init reloads egress when this directory changes (a Kubernetes
  // ConfigMap volume is swapped by the kubelet, nobody sends a reload); "" = reloads come
  // only through init's control socket / SIGHUP.
  std::string watch_routes;
  // supervise gets --routes and --init-ctl (route approvals write routes.yaml). false: the
  // routes are not the bundle's to write (k8s: a read-only ConfigMap): supervise gets
  // --routes-by-operator, and `bottle proposals approve` applies the ConfigMap through
  // kubectl before it answers in the pod's queue (kubectl exec).
  bool supervise_applies_routes = true;
};

// Where one launch puts the gate's files.
struct GitgateLayout {
  std::string keys_dir;         // <keys_dir>/<repo>: copies of the static keys
  std::string proposals_queue;  // supervise's queue when supervise runs: blocked pushes may
                                // become gitleaks-allow proposals; "" = simply rejected
  std::string bottle;           // slug written into those proposals
};

// gitgate.yaml (gitgate/README.md): each repo's upstream, pinned host key and the path of
// its key copy, the GITGATE_SECRET_<n> slots of the operator's listed secrets, and the
// proposal queue. Keys stay host-side: only bottle-gitgate (host namespace) reads it.
std::string render_gitgate_yaml(const Plan& plan, const GitgateLayout& layout);

// The agent's gitconfig: its identity, and for each repo a url.<gate>.insteadOf of the
// manifest's URL and its other spellings, so `git clone <url>` goes through the gate (at
// plan.layout.gate_host); safe.directory=* since the workspace may belong to a uid the
// agent's namespace does not map. make_plan stores it in Plan::gitconfig.
std::string render_gitconfig(const Plan& plan);

// init.yaml for bottle-init (init/README.md) and the BOTTLE_DAEMONS list to run.
std::string render_init_yaml(const Plan& plan, const InitLayout& layout);
std::string daemons_csv(const Plan& plan);

}  // namespace bottle::orchestrator
