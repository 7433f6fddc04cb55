// `bottle doctor`: can this machine run the local backend, and how to fix what is missing.
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

}  // namespace bottle::orchestrator
