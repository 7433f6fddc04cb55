// scan() on arbitrary bytes in both directions, and the structure scans (the input cut
// into values at '&', and read as host labels), with a known secret configured so the
// literal and encoded-literal paths run too. Invariant: a finding never carries the
// known secret.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "fuzz/dlp/fuzz_scanner.h"

namespace {
using bottle::dlp::fuzzing::kKnownSecret;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const bottle::dlp::Scanner& scanner = bottle::dlp::fuzzing::fuzz_scanner();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto check = [](const std::vector<bottle::dlp::Finding>& found) {
    for (const auto& f : found) {
      if (f.snippet.find(kKnownSecret) != std::string::npos) std::abort();
    }
  };
  for (auto dir : {bottle::dlp::Direction::outbound, bottle::dlp::Direction::inbound}) {
    check(scanner.scan(input, dir, "fuzz"));
  }
  std::vector<std::string_view> values;
  for (size_t at = 0; at <= input.size() && values.size() < 16;) {
    const size_t amp = std::min(input.find('&', at), input.size());
    values.push_back(input.substr(at, amp - at));
    at = amp + 1;
  }
  check(scanner.scan_split(values, "headers"));
  check(scanner.scan_host_labels(input.substr(0, 253), "url"));
  return 0;
}
