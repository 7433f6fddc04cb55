// TerminalOutputFilter: whatever an agent writes, and however it is cut into chunks, what
// reaches the operator's terminal holds no sequence the filter drops: filtering the
// output again changes nothing but an unfinished sequence at its end, a split anywhere
// gives the same output, and no raw C1 byte (0x80-0x9f) gets out except inside a UTF-8
// character (none at all for a terminal that is not UTF-8).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "orchestrator/terminal.h"

namespace {

bool c1_bytes_only_inside_utf8(std::string_view out, bool utf8) {
  int left = 0;
  for (char ch : out) {
    const auto u = static_cast<unsigned char>(ch);
    if (utf8 && left > 0 && (u & 0xc0) == 0x80) {
      --left;
      continue;
    }
    left = 0;
    if (u >= 0x80 && u <= 0x9f) return false;
    if (utf8 && u >= 0xc2 && u <= 0xf4) left = u < 0xe0 ? 1 : u < 0xf0 ? 2 : 3;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using bottle::orchestrator::TerminalOutputFilter;
  const bool utf8 = (data[0] & 0x80) == 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string whole = TerminalOutputFilter(utf8).filter(text);
  if (!c1_bytes_only_inside_utf8(whole, utf8)) std::abort();
  // Filtered again, the output loses at most an unfinished sequence at its end.
  const std::string again = TerminalOutputFilter(utf8).filter(whole);
  if (!whole.starts_with(again)) std::abort();
  if (again.size() < whole.size() && whole[again.size()] != '\x1b' && whole[again.size()] != '\xc2')
    std::abort();
  const size_t cut = text.empty() ? 0 : (data[0] & 0x7f) % text.size();
  TerminalOutputFilter pieces(utf8);
  std::string split = pieces.filter(text.substr(0, cut));
  split += pieces.filter(text.substr(cut));
  if (split != whole) std::abort();
  return 0;
}
