// Manifest parsing on arbitrary bytes: frontmatter split, strict YAML, agent and bottle
// schemas, and the egress-parser check of every route. Must never crash or hang; every
// rejection is an error string that starts with the file name.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "orchestrator/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace bottle::orchestrator;
  auto agent = parse_agent(text, "agent.md", "agent");
  if (!agent.ok() && agent.error().rfind("agent.md:", 0) != 0) std::abort();
  auto bottle = parse_bottle(text, "bottle.md", "bottle");
  if (!bottle.ok() && bottle.error().rfind("bottle.md:", 0) != 0) std::abort();
  return 0;
}
