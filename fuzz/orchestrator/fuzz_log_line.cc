// A sidecar.log line as `bottle logs`, `list` and `top` read it: parse_log_line() on any
// bytes, then the pretty line must contain no terminal control characters (the fields
// quote what the agent asked for) and the block tally must hold whatever the line says.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "orchestrator/activity.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  auto e = bottle::orchestrator::parse_log_line(line);
  if (!e) return 0;
  for (bool color : {false, true}) {
    const std::string out = bottle::orchestrator::pretty_log_line(*e, color);
    for (size_t i = 0; i < out.size(); ++i) {
      const auto c = static_cast<unsigned char>(out[i]);
      // The only escapes are the level's own colour (ESC [ 3x m / ESC [ 0 m).
      if (c == 0x1b && color && out.compare(i, 2, "\x1b[") == 0) continue;
      if (c < 0x20 || c == 0x7f) std::abort();
    }
  }
  bottle::orchestrator::BlockTally tally;
  tally.keep = 2;
  for (int i = 0; i < 3; ++i) tally.add(*e);
  if (tally.recent.size() > 2) std::abort();
  (void)bottle::orchestrator::block_reason(*e);
  return 0;
}
