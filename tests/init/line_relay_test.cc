#include "init/line_relay.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "init/backoff.h"

namespace bottle::init {
namespace {

std::vector<std::string> split(const std::vector<std::string>& chunks, bool finish = true) {
  std::vector<std::string> lines;
  LineSplitter s([&](std::string_view l) { lines.emplace_back(l); });
  for (const auto& c : chunks) s.feed(c);
  if (finish) s.finish();
  return lines;
}

TEST(LineSplitter, JoinsChunksAndSplitsOnNewline) {
  EXPECT_EQ(split({"he", "llo\nwor", "ld\r\n\n"}),
            (std::vector<std::string>{"hello", "world", ""}));
}

TEST(LineSplitter, FlushesPartialLineOnlyAtFinish) {
  EXPECT_TRUE(split({"no newline"}, false).empty());
  EXPECT_EQ(split({"no newline"}), std::vector<std::string>{"no newline"});
}

TEST(LineSplitter, CutsOverlongLinesAt16KiB) {
  const auto lines = split({std::string(kMaxLineBytes * 2 + 5, 'a') + "\nb\n"});
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].size(), kMaxLineBytes);
  EXPECT_EQ(lines[1].size(), kMaxLineBytes);
  EXPECT_EQ(lines[2], "aaaaa");
  EXPECT_EQ(lines[3], "b");
}

TEST(MergeDaemonField, AddsDaemonToJsonObjects) {
  auto m = merge_daemon_field("egress", R"({"event":"x","daemon":"gitgate"})");
  ASSERT_TRUE(m.has_value());
  auto j = nlohmann::json::parse(*m);
  EXPECT_EQ(j["daemon"], "egress");
  EXPECT_EQ(j["event"], "x");
}

TEST(MergeDaemonField, LeavesOtherLinesAlone) {
  EXPECT_FALSE(merge_daemon_field("egress", "plain").has_value());
  EXPECT_FALSE(merge_daemon_field("egress", "[1,2]").has_value());
  EXPECT_FALSE(merge_daemon_field("egress", "{broken").has_value());
  EXPECT_FALSE(merge_daemon_field("egress", "{\"a\":\"\xff\"}").has_value());
}

TEST(Backoff, DoublesFrom100msToA30sCap) {
  Backoff b;
  const std::vector<long> expected = {100,  200,   400,   800,   1600, 3200,
                                      6400, 12800, 25600, 30000, 30000};
  for (long want : expected) EXPECT_EQ(b.on_death(std::chrono::seconds(1)).count(), want);
}

TEST(Backoff, ResetsAfterAHealthyMinute) {
  Backoff b;
  for (int i = 0; i < 5; ++i) (void)b.on_death(std::chrono::seconds(1));
  EXPECT_EQ(b.on_death(std::chrono::seconds(59)).count(), 3200);
  EXPECT_EQ(b.on_death(std::chrono::seconds(60)).count(), 100);
  EXPECT_EQ(b.consecutive_failures(), 1);
}

}  // namespace
}  // namespace bottle::init
