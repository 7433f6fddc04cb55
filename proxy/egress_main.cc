// bottle-egress: see proxy/README.md and SPEC.md §4.
#include <variant>

#include "proxy/egress.h"
#include "proxy/options.h"

int main(int argc, char** argv) {
  auto parsed = bottle::proxy::parse_options(argc, argv);
  if (const int* code = std::get_if<int>(&parsed)) return *code;
  return bottle::proxy::run_egress(std::get<bottle::proxy::EgressOptions>(parsed));
}
