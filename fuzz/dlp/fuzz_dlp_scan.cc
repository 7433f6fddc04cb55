// scan() on arbitrary bytes in both directions, with a known secret configured so the
// literal and encoded-literal paths run too. Invariant: a finding never carries the
// known secret.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/dlp/scanner.h"

namespace {
constexpr std::string_view kSecret = "fuzz-known-secret-0123456789";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto scanner = [] {
    bottle::dlp::ScannerConfig config;
    config.known_secrets = {std::string(kSecret)};
    return *bottle::dlp::Scanner::build(config);
  }();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (auto dir : {bottle::dlp::Direction::outbound, bottle::dlp::Direction::inbound}) {
    for (const auto& f : scanner->scan(input, dir, "fuzz")) {
      if (f.snippet.find(kSecret) != std::string::npos) std::abort();
    }
  }
  return 0;
}
