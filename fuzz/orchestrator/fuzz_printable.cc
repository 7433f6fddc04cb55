// printable(): whatever bytes a manifest holds, the result is valid UTF-8 without C0/C1
// control characters, DEL or bidi controls (newlines only with keep_newlines).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "orchestrator/preflight.h"

namespace {

void check(const std::string& out, bool keep_newlines) {
  for (size_t i = 0; i < out.size();) {
    const auto c = static_cast<unsigned char>(out[i]);
    if (c < 0x80) {
      if ((c < 0x20 && !(keep_newlines && c == '\n')) || c == 0x7F) std::abort();
      ++i;
      continue;
    }
    const size_t n = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > out.size()) std::abort();
    uint32_t cp = c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(out[i + k]);
      if ((b & 0xC0) != 0x80) std::abort();
      cp = (cp << 6) | (b & 0x3F);
    }
    if ((cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
        (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
      std::abort();
    i += n;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check(bottle::orchestrator::printable(text), false);
  check(bottle::orchestrator::printable(text, true), true);
  return 0;
}
