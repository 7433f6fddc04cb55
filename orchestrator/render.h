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
  int gitgate_fd = -1;
  int supervise_fd = -1;
  std::string gitgate_config;
  std::string gitgate_state;
  std::string supervise_queue;
  std::string init_ctl;
  std::string slug;  // written into supervise's proposals ("" = not known)
};

// gitgate.yaml: the bottle's repos as written in the manifest (after `extends`), under
// `repos:`. Keys stay host-side: only bottle-gitgate (host namespace) reads this file.
std::string render_gitgate_yaml(const Plan& plan);

// init.yaml for bottle-init (init/README.md) and the BOTTLE_DAEMONS list to run.
std::string render_init_yaml(const Plan& plan, const InitLayout& layout);
std::string daemons_csv(const Plan& plan);

}  // namespace bottle::orchestrator
