// The /reload page's JSON: what egress renders is what writers parse, and a page that is
// not one (an old egress, a different daemon) is an error naming the field.
#include <gtest/gtest.h>

#include "common/http/config_reload.h"
#include "common/sha256.h"

namespace bottle {
namespace {

TEST(ReloadState, RenderedPageParsesBackEqual) {
  ReloadState s;
  s.reloads = 7;
  s.failures = 2;
  s.pending = true;
  s.config_sha256 = sha256_hex("routes: []\n");
  s.failed_sha256 = sha256_hex("routes: [\n");
  s.last_error = "/r/routes.yaml:1:9: \"quoted\" and\nnewline";
  auto back = parse_reload_state(to_json(s));
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->reloads, 7u);
  EXPECT_EQ(back->failures, 2u);
  EXPECT_TRUE(back->pending);
  EXPECT_EQ(back->config_sha256, s.config_sha256);
  EXPECT_EQ(back->failed_sha256, s.failed_sha256);
  EXPECT_EQ(back->last_error, s.last_error);
}

TEST(ReloadState, APageThatIsNotOneNamesWhatIsWrong) {
  struct Case {
    const char* page;
    const char* error;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"", "/reload: not a JSON object"},
           {"[1]", "/reload: not a JSON object"},
           {R"({"failures":0,"pending":false,"config_sha256":"","failed_sha256":"","last_error":""})",
            "/reload: reloads is not a count"},
           {R"({"reloads":-1,"failures":0,"pending":false,"config_sha256":"","failed_sha256":"","last_error":""})",
            "/reload: reloads is not a count"},
           {R"({"reloads":1,"failures":0,"pending":false,"config_sha256":3,"failed_sha256":"","last_error":""})",
            "/reload: config_sha256 is not a string"},
           {R"({"reloads":1,"failures":0,"pending":"no","config_sha256":"","failed_sha256":"","last_error":""})",
            "/reload: pending is not a boolean"},
       }) {
    auto r = parse_reload_state(c.page);
    ASSERT_FALSE(r.ok()) << c.page;
    EXPECT_EQ(r.error(), c.error) << c.page;
  }
}

TEST(Sha256, KnownDigests) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the padding spills into a second block.
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

}  // namespace
}  // namespace bottle
