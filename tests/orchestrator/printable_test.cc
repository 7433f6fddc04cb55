// printable(): manifest text on the operator's terminal cannot act as terminal input.
#include <gtest/gtest.h>

#include "orchestrator/preflight.h"

namespace bottle::orchestrator {
namespace {

TEST(Printable, PlainTextAndUtf8PassUnchanged) {
  EXPECT_EQ(printable("claude --model opus"), "claude --model opus");
  EXPECT_EQ(printable("r\xC3\xA9sum\xC3\xA9 \xE2\x9C\x93"), "r\xC3\xA9sum\xC3\xA9 \xE2\x9C\x93");
}

TEST(Printable, ControlCharactersBecomeEscapes) {
  EXPECT_EQ(printable("\x1b[2J\x1b]0;t\a"), "\\e[2J\\e]0;t\\a");
  EXPECT_EQ(printable("a\rb\tc\nd\x7f\x01"), "a\\rb\\tc\\nd\\x7f\\x01");
  EXPECT_EQ(printable("line1\nline2", true), "line1\nline2");
  EXPECT_EQ(printable("l\r\n", true), "l\\r\n");
}

TEST(Printable, C1ControlsBidiOverridesAndBadUtf8AreEscaped) {
  EXPECT_EQ(printable("\xC2\x9B"
                      "2J"),
            "\\u009b2J");  // 8-bit CSI
  EXPECT_EQ(printable("\xE2\x80\xAEtxt.exe"), "\\u202etxt.exe");
  EXPECT_EQ(printable("\xE2\x81\xA6x"), "\\u2066x");
  EXPECT_EQ(printable("\xFF\xC3"), "\\xff\\xc3");
  EXPECT_EQ(printable("\xC0\x8A"), "\\xc0\\x8a");  // overlong newline
}

}  // namespace
}  // namespace bottle::orchestrator
