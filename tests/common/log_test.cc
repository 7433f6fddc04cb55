#include "common/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>

#include "common/encoded_run.h"

namespace bottle::log {
namespace {

// Captures what the logger writes to fd 2.
std::string capture_stderr(const std::function<void()>& fn) {
  fflush(stderr);
  char path[] = "/tmp/logtestXXXXXX";
  int tmp = mkstemp(path);
  int saved = dup(2);
  dup2(tmp, 2);
  fn();
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::string out;
  lseek(tmp, 0, SEEK_SET);
  char buf[4096];
  for (ssize_t n; (n = read(tmp, buf, sizeof buf)) > 0;) out.append(buf, n);
  close(tmp);
  unlink(path);
  return out;
}

TEST(Log, EmitsOneJsonObjectPerLine) {
  init("testcomp");
  std::string out = capture_stderr([] { warn("thing_happened", {{"host", "a.example.com"}, {"n", 3}}); });
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["component"], "testcomp");
  EXPECT_EQ(j["event"], "thing_happened");
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["host"], "a.example.com");
  EXPECT_EQ(j["n"], 3);
  EXPECT_TRUE(j.contains("ts"));
}

TEST(Log, InvalidUtf8DoesNotThrow) {
  std::string out = capture_stderr([] { info("x", {{"path", std::string("/\xff\xfe")}}); });
  EXPECT_TRUE(nlohmann::json::accept(out));
}

TEST(Log, RedactKeepsOnlyPrefix) {
  EXPECT_EQ(redact("sk-ant-abcdef", 3), "sk-********");
  EXPECT_EQ(redact("ab", 5), "ab********");
  EXPECT_EQ(redact("secret"), "********");
}

TEST(Log, MaskEncodedRunsHidesTokenShapesOnly) {
  // A run of 16+ letters and digits mixing both is masked; words, numbers and short ids stay.
  EXPECT_EQ(mask_encoded_runs("token=ghp_Zq7Xw2Lp9Kd4Mv8Rt3Ns6Bh1 ok\n"), "token=ghp_******** ok\n");
  EXPECT_EQ(mask_encoded_runs("abcdefghijklmnopqrstuvwxyz 12345678901234567890 ab12"),
            "abcdefghijklmnopqrstuvwxyz 12345678901234567890 ab12");
  EXPECT_EQ(mask_encoded_runs("a1b2c3d4e5f6a7b8"), "********");
  EXPECT_EQ(mask_encoded_runs("a1b2c3d4e5f6a7b"), "a1b2c3d4e5f6a7b");
  EXPECT_EQ(mask_encoded_runs(""), "");
  EXPECT_TRUE(has_encoded_run("x-0123456789abcdef-y"));
  EXPECT_FALSE(has_encoded_run("x-0123456789abcde-y"));
}

}  // namespace
}  // namespace bottle::log
