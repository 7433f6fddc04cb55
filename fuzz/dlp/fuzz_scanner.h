// The scanner the DLP fuzz targets share: every detector, plus one known secret so the
// literal and encoded-literal paths run too. Built once per process.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/dlp/scanner.h"

namespace bottle::dlp::fuzzing {

inline constexpr std::string_view kKnownSecret = "fuzz-known-secret-0123456789";

inline const Scanner& fuzz_scanner() {
  static const std::shared_ptr<const Scanner> scanner = [] {
    ScannerConfig config;
    config.known_secrets = {std::string(kKnownSecret)};
    return *Scanner::build(config);
  }();
  return *scanner;
}

}  // namespace bottle::dlp::fuzzing

// The scanner is built before the first input: its compile (seconds under ASan on a busy
// machine) must not count against libFuzzer's per-input timeout.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)bottle::dlp::fuzzing::fuzz_scanner();
  return 0;
}
