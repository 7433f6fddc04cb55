// Runs every corpus file through scan() and through a BodyScan with random chunking.
// benign/: ordinary traffic, must produce no finding outbound and no blocking one inbound
// (a page that quotes attacks to explain them may warn).
// malicious/<detector>__<how>.<ext>: must produce <detector>; "injection.block" files
// must produce a blocking injection.prompt verdict inbound, "injection.warn" files a
// non-blocking one.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/dlp/test_util.h"

namespace bottle::dlp::testing {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> files_in(const std::string& sub) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(DLP_CORPUS_DIR) / sub)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Corpus, BenignFilesPassInBothDirections) {
  auto scanner = build_scanner();
  const auto files = files_in("benign");
  ASSERT_GE(files.size(), 10u);
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    const std::string data = read(path);
    auto acceptable = [](const std::vector<Finding>& fs, Direction dir) {
      return dir == Direction::outbound ? fs.empty()
                                        : std::none_of(fs.begin(), fs.end(), [](const Finding& f) { return f.blocking; });
    };
    for (Direction dir : {Direction::outbound, Direction::inbound}) {
      const auto block = scanner->scan(data, dir, "body");
      EXPECT_TRUE(acceptable(block, dir)) << describe(block);
      for (uint32_t seed : {1u, 2u}) {
        const auto streamed = scan_body(*scanner, data, dir, seed, 512);
        EXPECT_TRUE(acceptable(streamed, dir)) << "seed " << seed << ": " << describe(streamed);
      }
    }
  }
}

TEST(Corpus, MaliciousFilesAreCaught) {
  auto scanner = build_scanner();
  const auto files = files_in("malicious");
  ASSERT_GE(files.size(), 80u);
  for (const auto& path : files) {
    const std::string name = path.filename().string();
    SCOPED_TRACE(name);
    const std::string expected = name.substr(0, name.find("__"));
    const bool inbound = expected.rfind("injection.", 0) == 0;
    const std::string data = read(path);
    const Direction dir = inbound ? Direction::inbound : Direction::outbound;
    std::vector<std::vector<Finding>> runs = {scanner->scan(data, dir, "body")};
    for (uint32_t seed : {3u, 4u}) runs.push_back(scan_body(*scanner, data, dir, seed, 97));
    runs.push_back(scan_body(*scanner, data, dir, 5, 1));
    for (const auto& found : runs) {
      if (inbound) {
        const bool block = expected == "injection.block";
        EXPECT_TRUE(std::any_of(found.begin(), found.end(), [&](const Finding& f) {
          return f.detector == "injection.prompt" && f.blocking == block && !f.signals.empty() && f.score > 0;
        })) << describe(found);
        if (!block) {
          EXPECT_TRUE(std::none_of(found.begin(), found.end(), [](const Finding& f) { return f.blocking; }))
              << describe(found);
        }
      } else {
        EXPECT_TRUE(has_detector(found, expected)) << describe(found);
      }
    }
  }
}

}  // namespace
}  // namespace bottle::dlp::testing
