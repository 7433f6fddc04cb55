// The class-run pass works on 64-byte blocks and carries run state across them (and
// across BodyScan chunks); every detector must find its sample wherever it lands
// relative to those blocks.
#include <gtest/gtest.h>

#include <string>

#include "tests/dlp/fake_secrets.h"
#include "tests/dlp/test_util.h"

namespace bottle::dlp::testing {
namespace {

TEST(BlockBoundary, EverySampleFoundAtEveryOffsetAcrossTwoBlocks) {
  auto scanner = build_scanner();
  ASSERT_NE(scanner, nullptr);
  for (const Sample& s : fake_samples(7)) {
    for (size_t pad = 0; pad < 130; ++pad) {
      // Newlines belong to no class, so the padding only moves the sample.
      const std::string text = std::string(pad, '\n') + s.text + "\n";
      EXPECT_TRUE(has_detector(scanner->scan(text, Direction::outbound, "body"), s.detector))
          << s.detector << " at offset " << pad;
      EXPECT_TRUE(has_detector(scan_body(*scanner, text, Direction::outbound, static_cast<uint32_t>(pad), 97),
                               s.detector))
          << s.detector << " streamed at offset " << pad;
    }
  }
}

}  // namespace
}  // namespace bottle::dlp::testing
