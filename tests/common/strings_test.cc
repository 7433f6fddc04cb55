#include "common/strings.h"

#include <gtest/gtest.h>

#include "common/ascii.h"

namespace bottle {
namespace {

TEST(Strings, JoinPutsTheSeparatorBetweenPartsOnly) {
  EXPECT_EQ(join({}, ", "), "");
  EXPECT_EQ(join({"a"}, ", "), "a");
  EXPECT_EQ(join({"a", "", "c"}, " -> "), "a ->  -> c");
}

TEST(Strings, SplitTrimDropsBlanksAndEmptyPieces) {
  EXPECT_EQ(split_trim(" gitgate, egress,,\tgitgate ", ','),
            (std::vector<std::string>{"gitgate", "egress", "gitgate"}));
  EXPECT_TRUE(split_trim("", ',').empty());
  EXPECT_TRUE(split_trim(" , ,", ',').empty());
  EXPECT_EQ(split_trim("a b", ','), (std::vector<std::string>{"a b"}));
}

struct PortCase {
  const char* text;
  bool allow_zero;
  std::optional<uint16_t> want;
};

class ParsePort : public ::testing::TestWithParam<PortCase> {};

TEST_P(ParsePort, AcceptsDecimalDigitsInRangeOnly) {
  EXPECT_EQ(parse_port(GetParam().text, GetParam().allow_zero), GetParam().want)
      << "'" << GetParam().text << "'";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParsePort,
    ::testing::Values(PortCase{"1", false, 1}, PortCase{"65535", false, 65535},
                      PortCase{"443", false, 443}, PortCase{"0", false, std::nullopt},
                      PortCase{"0", true, 0}, PortCase{"65536", false, std::nullopt},
                      PortCase{"99999999999", false, std::nullopt},
                      PortCase{"", false, std::nullopt}, PortCase{"+80", false, std::nullopt},
                      PortCase{"-1", false, std::nullopt}, PortCase{" 80", false, std::nullopt},
                      PortCase{"80 ", false, std::nullopt}, PortCase{"8o", false, std::nullopt}));

TEST(Ascii, LowercasesOnlyAsciiLetters) {
  EXPECT_EQ(ascii_lower("HoSt.EXAMPLE-1"), "host.example-1");
  EXPECT_EQ(ascii_lower(std::string("\xC3\x89")), "\xC3\x89");  // bytes >= 0x80 untouched
  EXPECT_TRUE(ascii_iequals("Content-Length", "content-LENGTH"));
  EXPECT_FALSE(ascii_iequals("a", "ab"));
  EXPECT_FALSE(ascii_iequals("\xC3\x89", "\xC3\xA9"));
}

}  // namespace
}  // namespace bottle
