// The `docker` backend (SPEC §9.4): one Compose project per bottle, `bottle-<slug>`,
// driven through the docker CLI (compose v2 `docker compose`, else v1 `docker-compose`).
//
// start/run: state dir with docker-compose.yaml and the files it binds (owned by the
// images' users) -> `up -d sidecars` with the token values in compose's environment only
// -> poll `exec -T sidecars bottle-init ctl health` -> `run --rm [-T] agent` (its exit
// status is bottle's) -> `logs` into logs/sidecar.log -> `down`. Layout: docker/README.md.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "orchestrator/local_backend.h"  // LaunchOptions
#include "orchestrator/plan.h"

namespace bottle::orchestrator {

// The docker CLI the docker backend and `bottle doctor` run: $BOTTLE_DOCKER when set, else
// `docker` on PATH; "" when there is none.
std::string docker_cli();
// Compose v1 for `docker` (used when `docker compose` does not answer):
// $BOTTLE_DOCKER_COMPOSE when set, else `docker-compose` in the directory `docker` is in.
// Never one found elsewhere on PATH: the lookup cannot wander off to another installation
// than the docker CLI it pairs with (nor, in tests, out of the fakes). "" when none.
std::string compose_v1_for(const std::string& docker);

// Returns the agent's exit status.
Result<int> run_docker(const Plan& plan, const LaunchOptions& options);

// From another process: asks the owning `bottle` to stop, then saves the logs and runs
// `down` itself (idempotent).
Status stop_docker(const std::string& slug, const std::function<void(const std::string&)>& progress);

// A Compose project carrying our slug label.
struct DockerProject {
  std::string project;  // com.docker.compose.project
  std::string slug;     // dev.bot-bottle.slug
  std::string status;   // docker's, of its first container ("Up 2 minutes", "Exited (0) ...")
};
// Projects labelled as bottles whose state directory is gone (another machine's state, a
// deleted BOTTLE_HOME). Empty when there is no docker CLI or the daemon does not answer.
std::vector<DockerProject> docker_orphans();

// Docker bottles whose `bottle` is gone: logs saved, `down`, state removed; then orphaned
// projects: their containers and networks removed. Returns what it did.
std::vector<std::string> cleanup_docker();

// `bottle routes apply` for a docker bottle: validated like the local one, written into the
// bound routes directory (owned by the bundle's user), then `exec -T sidecars bottle-init
// ctl reload` (works with remote engines too: no host path to init's socket needed).
Status routes_apply_docker(const std::string& slug, const std::string& text,
                           const std::string& source);

}  // namespace bottle::orchestrator
