// TerminalOutputFilter: whatever an agent writes, and however it is cut into chunks, what
// reaches the operator's terminal holds no sequence the filter drops: filtering the
// output again changes nothing but an unfinished sequence at its end, and a split
// anywhere gives the same output.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "orchestrator/terminal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string whole = bottle::orchestrator::TerminalOutputFilter().filter(text);
  // Filtered again, the output loses at most an unfinished sequence at its end.
  const std::string again = bottle::orchestrator::TerminalOutputFilter().filter(whole);
  if (!whole.starts_with(again)) std::abort();
  if (again.size() < whole.size() && whole[again.size()] != '\x1b' && whole[again.size()] != '\xc2')
    std::abort();
  const size_t cut = text.empty() ? 0 : data[0] % text.size();
  bottle::orchestrator::TerminalOutputFilter pieces;
  std::string split = pieces.filter(text.substr(0, cut));
  split += pieces.filter(text.substr(cut));
  if (split != whole) std::abort();
  return 0;
}
