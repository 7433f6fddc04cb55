#include "common/tls/host_name.h"

#include <gtest/gtest.h>

namespace bottle::tls {
namespace {

TEST(ParseHost, NormalizesDnsNames) {
  auto h = parse_host("Api.Example.COM.");
  ASSERT_TRUE(h) << h.error();
  EXPECT_EQ(h->text, "api.example.com");
  EXPECT_FALSE(h->is_ip);
}

TEST(ParseHost, CanonicalizesIpLiterals) {
  for (auto [in, out] :
       {std::pair{"127.0.0.1", "127.0.0.1"}, std::pair{"[0:0::1]", "::1"},
        std::pair{"2001:DB8::0:1", "2001:db8::1"}, std::pair{"7.0.27.0.", "7.0.27.0"}}) {
    auto h = parse_host(in);
    ASSERT_TRUE(h) << in << ": " << h.error();
    EXPECT_EQ(h->text, out) << in;
    EXPECT_TRUE(h->is_ip) << in;
  }
}

// Found by fuzz_tls_host: a trailing dot made an IPv4 literal parse as a DNS name whose
// normalized text then parsed as an IP.
TEST(ParseHost, NormalizingTwiceChangesNothing) {
  for (const char* in : {"7.0.27.0.", "a.b.", "[::ffff:1.2.3.4]", "x_y.test"}) {
    auto once = parse_host(in);
    ASSERT_TRUE(once) << in;
    auto twice = parse_host(once->text);
    ASSERT_TRUE(twice) << once->text;
    EXPECT_EQ(twice->text, once->text);
    EXPECT_EQ(twice->is_ip, once->is_ip);
  }
}

TEST(ParseHost, RejectsWithReason) {
  EXPECT_EQ(parse_host("").error(), "empty host name");
  EXPECT_EQ(parse_host("a..b").error(), "empty label in host name 'a..b'");
  EXPECT_EQ(parse_host("a b").error(), "invalid character in host name 'a b'");
  EXPECT_EQ(parse_host("[1.2.3.4]").error(), "invalid IPv6 literal '[1.2.3.4]'");
  EXPECT_EQ(parse_host(std::string(64, 'a')).error(),
            "label longer than 63 bytes in host name '" + std::string(64, 'a') + "'");
}

}  // namespace
}  // namespace bottle::tls
