// BodyScan fed in chunks whose sizes come from the input's first bytes. Invariant: a
// known secret present in the input is found whatever the chunking.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz/dlp/fuzz_scanner.h"

namespace {
using bottle::dlp::fuzzing::kKnownSecret;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const bottle::dlp::Scanner& scanner = bottle::dlp::fuzzing::fuzz_scanner();
  if (size < 2) return 0;
  const size_t header = 8 < size ? 8 : size;
  const std::string_view sizes(reinterpret_cast<const char*>(data), header);
  const std::string_view body(reinterpret_cast<const char*>(data) + header, size - header);
  for (auto dir : {bottle::dlp::Direction::outbound, bottle::dlp::Direction::inbound}) {
    auto scan = scanner.open_body(dir, "body");
    std::vector<bottle::dlp::Finding> out;
    size_t pos = 0, k = 0;
    while (pos < body.size()) {
      const size_t n = std::min<size_t>(body.size() - pos, 1 + static_cast<unsigned char>(sizes[k++ % sizes.size()]));
      scan->feed(body.substr(pos, n), out);
      pos += n;
    }
    scan->finish(out);
    bool found = false;
    for (const auto& f : out) {
      if (f.snippet.find(kKnownSecret) != std::string::npos) std::abort();
      found = found || f.detector == "known_secret";
    }
    if (dir == bottle::dlp::Direction::outbound && body.find(kKnownSecret) != std::string_view::npos && !found) {
      std::abort();
    }
  }
  return 0;
}
