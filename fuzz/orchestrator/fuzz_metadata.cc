// metadata.json as a bottle (or anyone with write access to state/) might have left it:
// parsing must never crash, and a pid never comes back alive without its start time.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "orchestrator/state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto md = bottle::orchestrator::parse_metadata(text, "metadata.json");
  if (!md.ok()) {
    if (md.error().rfind("metadata.json: ", 0) != 0) std::abort();
    return 0;
  }
  for (const auto* p :
       {&md->pids.orchestrator, &md->pids.crash_guard, &md->pids.init, &md->pids.agent}) {
    if (p->pid < 0) std::abort();
  }
  return 0;
}
