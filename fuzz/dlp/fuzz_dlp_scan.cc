// scan() on arbitrary bytes in both directions, with a known secret configured so the
// literal and encoded-literal paths run too. Invariant: a finding never carries the
// known secret.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz/dlp/fuzz_scanner.h"

namespace {
using bottle::dlp::fuzzing::kKnownSecret;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const bottle::dlp::Scanner& scanner = bottle::dlp::fuzzing::fuzz_scanner();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (auto dir : {bottle::dlp::Direction::outbound, bottle::dlp::Direction::inbound}) {
    for (const auto& f : scanner.scan(input, dir, "fuzz")) {
      if (f.snippet.find(kKnownSecret) != std::string::npos) std::abort();
    }
  }
  return 0;
}
