// Small helpers shared by the DLP tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "common/dlp/scanner.h"

namespace bottle::dlp::testing {

inline std::shared_ptr<const Scanner> build_scanner(ScannerConfig config = {}) {
  auto s = Scanner::build(config);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
  return s.ok() ? *s : nullptr;
}

// Feeds `data` through a BodyScan in chunks of random size (1..max_chunk).
inline std::vector<Finding> scan_body(const Scanner& scanner, std::string_view data, Direction dir,
                                      uint32_t seed, size_t max_chunk = 64) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> size(1, max_chunk);
  auto body = scanner.open_body(dir, "body");
  std::vector<Finding> out;
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t n = std::min(size(rng), data.size() - pos);
    body->feed(data.substr(pos, n), out);
    pos += n;
  }
  body->finish(out);
  return out;
}

// Feeds `data` through a BodyScan as two chunks cut at `split`.
inline std::vector<Finding> scan_in_two(const Scanner& scanner, std::string_view data, size_t split,
                                        Direction dir = Direction::outbound) {
  auto body = scanner.open_body(dir, "body");
  std::vector<Finding> out;
  body->feed(data.substr(0, split), out);
  body->feed(data.substr(split), out);
  body->finish(out);
  return out;
}

inline bool has_detector(const std::vector<Finding>& fs, std::string_view id) {
  return std::any_of(fs.begin(), fs.end(), [&](const Finding& f) { return f.detector == id; });
}

inline std::string describe(const std::vector<Finding>& fs) {
  std::string out;
  for (const auto& f : fs) out += f.detector + "@" + std::to_string(f.offset) + "{" + f.snippet + "} ";
  return out.empty() ? "(none)" : out;
}

// Fails when any finding's snippet or location carries the secret or a long piece of it.
inline void expect_no_leak(const std::vector<Finding>& fs, std::string_view secret) {
  const size_t piece = std::min<size_t>(secret.size(), 12);
  for (const auto& f : fs) {
    for (size_t i = 0; i + piece <= secret.size(); ++i) {
      const std::string_view part = secret.substr(i, piece);
      EXPECT_EQ(f.snippet.find(part), std::string::npos) << f.detector << " snippet leaks: " << f.snippet;
      EXPECT_EQ(f.detector.find(part), std::string::npos);
      EXPECT_EQ(f.location.find(part), std::string::npos);
    }
  }
}

}  // namespace bottle::dlp::testing
