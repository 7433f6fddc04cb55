// metadata.json: what `bottle info`, `list` and scripts read about a running bottle.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "orchestrator/state.h"

namespace bottle::orchestrator {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Metadata, AdminPortIsWrittenOnlyOnceChosen) {
  const std::string dir = testing::TempDir() + "/metadata-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  BottleMetadata md;
  md.slug = "demo-1";
  md.netns = "bottle-demo-1";
  ASSERT_TRUE(write_metadata(dir, md).ok());
  EXPECT_EQ(slurp(dir + "/metadata.json").find("admin_port"), std::string::npos);
  auto early = read_metadata(dir);
  ASSERT_TRUE(early.ok()) << early.error();
  EXPECT_EQ(early->admin_port, 0);
  EXPECT_EQ(early->netns, "bottle-demo-1");

  md.admin_port = 41234;
  ASSERT_TRUE(write_metadata(dir, md).ok());
  auto later = read_metadata(dir);
  ASSERT_TRUE(later.ok()) << later.error();
  EXPECT_EQ(later->admin_port, 41234);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bottle::orchestrator
