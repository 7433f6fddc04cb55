// `bottle doctor`: can this machine run a backend (local by default, or docker), and how
// to fix what is missing.
#pragma once

#include <string>
#include <vector>

namespace bottle::orchestrator {

struct DoctorCheck {
  std::string name;
  bool ok = false;
  std::string detail;  // what was found
  std::string fix;     // what to do when !ok
};

std::vector<DoctorCheck> run_doctor();

// `bottle doctor --backend docker`: the docker CLI, Compose (v2 plugin or v1
// docker-compose) and a daemon that answers; failures carry docker's own words.
std::vector<DoctorCheck> run_docker_doctor();

// `bottle doctor --backend vm`: local's checks (the sidecar is the same), then QEMU,
// virtiofsd, the built guest, and whether KVM or TCG will run it (the probe boot).
std::vector<DoctorCheck> run_vm_doctor();

}  // namespace bottle::orchestrator
