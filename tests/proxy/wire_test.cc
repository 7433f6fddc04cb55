#include <gtest/gtest.h>

#include "proxy/block.h"
#include "proxy/http1_wire.h"
#include "proxy/target.h"

namespace bottle::proxy {
namespace {

TEST(Wire, RequestHeadReplacesAgentCredentialAndDropsHopByHop) {
  MessageHead h;
  h.method = "POST";
  h.headers = {{"Host", "evil.test"},
               {"authorization", "Bearer placeholder"},
               {"Proxy-Connection", "keep-alive"},
               {"Connection", "X-Secret-Hop"},
               {"X-Secret-Hop", "1"},
               {"Content-Length", "3"},
               {"Accept", "*/*"}};
  h.content_length = 3;
  UpstreamRequestHead up;
  up.origin_target = "/v1/x";
  up.host_header = "api.test";
  up.inject_name = "authorization";
  up.inject_value = "Bearer real";
  std::string out = serialize_request_head(h, up);
  EXPECT_EQ(out.rfind("POST /v1/x HTTP/1.1\r\nHost: api.test\r\n", 0), 0u) << out;
  EXPECT_EQ(out.find("placeholder"), std::string::npos);
  EXPECT_EQ(out.find("evil.test"), std::string::npos);
  EXPECT_EQ(out.find("Proxy-Connection"), std::string::npos);
  EXPECT_EQ(out.find("X-Secret-Hop"), std::string::npos);
  EXPECT_NE(out.find("authorization: Bearer real\r\n"), std::string::npos);
  EXPECT_NE(out.find("Content-Length: 3\r\n"), std::string::npos);
  EXPECT_NE(out.find("Accept: */*\r\n"), std::string::npos);
}

TEST(Wire, BlockResponseMatchesSpec) {
  BlockInfo b;
  b.reason = BlockReason::route_not_matched;
  b.host = "api.test";
  b.rule = "api.test:443";
  b.request_id = "r1";
  std::string out = render_block(b, false);
  EXPECT_EQ(out.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u);
  EXPECT_NE(out.find("X-Bottle-Block: route_not_matched\r\n"), std::string::npos);
  EXPECT_NE(out.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(
      out.find("\r\n\r\n{\"error\":\"egress: route_not_matched\",\"reason\":\"route_not_matched\","
               "\"host\":\"api.test\",\"rule\":\"api.test:443\",\"request_id\":\"r1\"}"),
      std::string::npos)
      << out;
}

TEST(Target, ParsesAuthorities) {
  auto a = parse_authority("API.Test.:8443", 443);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "api.test");
  EXPECT_EQ(a->port, 8443);
  auto v6 = parse_authority("[::1]:443", 443);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_TRUE(v6->is_ip);
  EXPECT_FALSE(parse_authority("user@api.test", 443).ok());
  EXPECT_FALSE(parse_authority("api.test:0", 443).ok());
  EXPECT_FALSE(parse_authority("api.test:99999", 443).ok());
  EXPECT_FALSE(parse_authority("a b", 443).ok());
}

TEST(Target, ParsesAbsoluteUrls) {
  auto u = parse_absolute_url("HTTP://api.test/v1/x?y=1#frag");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->https);
  EXPECT_EQ(u->authority.port, 80);
  EXPECT_EQ(u->path_and_query, "/v1/x?y=1");
  auto bare = parse_absolute_url("https://api.test");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->path_and_query, "/");
  EXPECT_EQ(bare->authority.port, 443);
  EXPECT_FALSE(parse_absolute_url("ftp://api.test/").ok());
  EXPECT_FALSE(parse_absolute_url("/relative").ok());
}

}  // namespace
}  // namespace bottle::proxy

#include "proxy/evidence.h"

namespace bottle::proxy {
namespace {

TEST(Evidence, QueryValuesAreAlwaysRedacted) {
  EXPECT_EQ(loggable_target("/v1/x", "key=abc&flag&b=2", false),
            "/v1/x?key=********&flag&b=********");
  EXPECT_EQ(loggable_target("/v1/x", "", false), "/v1/x");
}

TEST(Evidence, UrlWithASecretLosesPathAndSubdomains) {
  EXPECT_EQ(loggable_target("/ghp_secretsecret/x", "q=1", true), "/********");
  EXPECT_EQ(loggable_host("ghpsecret.api.example.com"), "********.example.com");
  EXPECT_EQ(loggable_host("example.com"), "example.com");
  EXPECT_EQ(loggable_host("localhost"), "localhost");
}

}  // namespace
}  // namespace bottle::proxy
