// `extends` (SPEC §9.1): env dict-merged (child wins), git-gate.repos merged by name
// field by field, egress and supervise replaced whole; chain errors name the chain.
#include <gtest/gtest.h>

#include "orchestrator/manifest.h"
#include "tests/orchestrator/test_home.h"

namespace bottle::orchestrator {
namespace {

using testing::TestHome;

const char* kBase =
    "---\n"
    "env: {SHARED: base, ONLY_BASE: b}\n"
    "egress:\n"
    "  routes:\n"
    "    - host: base.example\n"
    "git-gate:\n"
    "  repos:\n"
    "    - name: app\n"
    "      url: ssh://git@git.example.com:22/org/app.git\n"
    "      host_key: \"ssh-ed25519 AAAAbase\"\n"
    "      key: {provider: static, path: /keys/base}\n"
    "    - name: lib\n"
    "      url: ssh://git@git.example.com:22/org/lib.git\n"
    "supervise: false\n"
    "---\n";

TEST(Extends, MergesEnvChildWins) {
  TestHome h;
  h.bottle("base", kBase);
  h.bottle("dev", "---\nextends: base\nenv: {SHARED: child, ONLY_CHILD: c}\n---\n");
  auto b = load_bottle(h.dirs(), "dev");
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_EQ(b->env.at("SHARED").text, "child");
  EXPECT_EQ(b->env.at("ONLY_BASE").text, "b");
  EXPECT_EQ(b->env.at("ONLY_CHILD").text, "c");
  EXPECT_EQ(b->chain, (std::vector<std::string>{"dev", "base"}));
}

TEST(Extends, MergesReposByNameFieldByField) {
  TestHome h;
  h.bottle("base", kBase);
  h.bottle("dev",
           "---\nextends: base\ngit-gate:\n  repos:\n"
           "    - name: app\n      key: {provider: static, path: /keys/child}\n"
           "    - name: extra\n      url: ssh://git@git.example.com:22/org/extra.git\n---\n");
  auto b = load_bottle(h.dirs(), "dev");
  ASSERT_TRUE(b.ok()) << b.error();
  ASSERT_EQ(b->repos.size(), 3u);
  EXPECT_EQ(b->repos[0].name, "app");
  EXPECT_EQ(b->repos[0].fields["url"].Scalar(), "ssh://git@git.example.com:22/org/app.git");
  EXPECT_EQ(b->repos[0].fields["host_key"].Scalar(), "ssh-ed25519 AAAAbase");
  EXPECT_EQ(b->repos[0].fields["key"]["path"].Scalar(), "/keys/child");
  EXPECT_EQ(b->repos[1].name, "lib");
  EXPECT_EQ(b->repos[2].name, "extra");
}

TEST(Extends, ReplacesEgressAndSuperviseWhole) {
  TestHome h;
  h.bottle("base", kBase);
  h.bottle(
      "dev",
      "---\nextends: base\negress:\n  routes:\n    - host: child.example\nsupervise: true\n---\n");
  auto b = load_bottle(h.dirs(), "dev");
  ASSERT_TRUE(b.ok()) << b.error();
  ASSERT_EQ(b->egress->routes.size(), 1u);
  EXPECT_EQ(b->egress->routes[0]["host"].Scalar(), "child.example");
  EXPECT_EQ(b->supervise, true);
}

TEST(Extends, InheritsWhatTheChildDoesNotSay) {
  TestHome h;
  h.bottle("base", kBase);
  h.bottle("dev", "---\nextends: base\n---\n");
  auto b = load_bottle(h.dirs(), "dev");
  ASSERT_TRUE(b.ok()) << b.error();
  ASSERT_TRUE(b->egress.has_value());
  EXPECT_EQ(b->egress->routes[0]["host"].Scalar(), "base.example");
  EXPECT_EQ(b->supervise, false);
}

TEST(Extends, ThreeLevels) {
  TestHome h;
  h.bottle("base", kBase);
  h.bottle("mid", "---\nextends: base\nenv: {LEVEL: mid}\n---\n");
  h.bottle("top", "---\nextends: mid\nenv: {LEVEL: top}\n---\n");
  auto b = load_bottle(h.dirs(), "top");
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_EQ(b->env.at("LEVEL").text, "top");
  EXPECT_EQ(b->env.at("SHARED").text, "base");
  EXPECT_EQ(b->chain, (std::vector<std::string>{"top", "mid", "base"}));
}

TEST(Extends, MissingParentNamesTheChain) {
  TestHome h;
  h.bottle("mid", "---\nextends: gone\n---\n");
  h.bottle("dev", "---\nextends: mid\n---\n");
  auto b = load_bottle(h.dirs(), "dev");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().rfind(h.bottle_path("mid") + ":2:", 0), 0u) << b.error();
  EXPECT_NE(b.error().find("bottle 'gone' not found"), std::string::npos) << b.error();
  EXPECT_NE(b.error().find("dev -> mid -> gone"), std::string::npos) << b.error();
  EXPECT_NE(b.error().find("available: dev, mid"), std::string::npos) << b.error();
}

TEST(Extends, SelfExtendIsAnError) {
  TestHome h;
  h.bottle("dev", "---\nextends: dev\n---\n");
  auto b = load_bottle(h.dirs(), "dev");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().rfind(h.bottle_path("dev") + ":2:", 0), 0u) << b.error();
  EXPECT_NE(b.error().find("extends itself"), std::string::npos) << b.error();
}

TEST(Extends, TwoNodeCycleNamesTheChain) {
  TestHome h;
  h.bottle("a", "---\nextends: b\n---\n");
  h.bottle("b", "---\nextends: a\n---\n");
  auto r = load_bottle(h.dirs(), "a");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("extends cycle: a -> b -> a"), std::string::npos) << r.error();
}

TEST(Extends, ThreeNodeCycleNamesTheChain) {
  TestHome h;
  h.bottle("a", "---\nextends: b\n---\n");
  h.bottle("b", "---\nextends: c\n---\n");
  h.bottle("c", "---\nextends: a\n---\n");
  auto r = load_bottle(h.dirs(), "a");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rfind(h.bottle_path("c") + ":2:", 0), 0u) << r.error();
  EXPECT_NE(r.error().find("extends cycle: a -> b -> c -> a"), std::string::npos) << r.error();
}

TEST(Extends, NonStringExtends) {
  TestHome h;
  h.bottle("dev", "---\nextends: [a, b]\n---\n");
  auto b = load_bottle(h.dirs(), "dev");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().rfind(h.bottle_path("dev") + ":2:", 0), 0u) << b.error();
  EXPECT_NE(b.error().find("must be a string"), std::string::npos) << b.error();
}

}  // namespace
}  // namespace bottle::orchestrator
