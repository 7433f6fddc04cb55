// bottle-gitgate: see gitgate/README.md and SPEC.md §6. The same binary is the mirrors'
// pre-receive hook (state/hooks/pre-receive links to it), told apart by its name.
#include <cstring>
#include <variant>

#include "gitgate/gate.h"
#include "gitgate/options.h"
#include "gitgate/push_gate.h"

int main(int argc, char** argv) {
  const char* slash = argc > 0 ? std::strrchr(argv[0], '/') : nullptr;
  if (argc > 0 && std::strcmp(slash ? slash + 1 : argv[0], "pre-receive") == 0) {
    return bottle::gitgate::run_pre_receive_hook();
  }
  auto parsed = bottle::gitgate::parse_options(argc, argv);
  if (const int* code = std::get_if<int>(&parsed)) return *code;
  return bottle::gitgate::run_gitgate(std::get<bottle::gitgate::GateOptions>(parsed));
}
