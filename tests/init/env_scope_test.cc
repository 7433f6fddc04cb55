#include "init/env_scope.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace bottle::init {
namespace {

const std::vector<std::string> kParent = {"PATH=/bin",
                                          "HOME=/root",
                                          "EGRESS_TOKEN_1=tok",
                                          "GIT_SSH_KEY=k",
                                          "GIT_SSH_KEY_PATH=p",
                                          "GITGATE_DEPLOY_KEY=d",
                                          "GIT_KEY_0=-----BEGIN OPENSSH PRIVATE KEY-----",
                                          "SSH_AUTH_SOCK=/s",
                                          "HTTPS_PROXY=x",
                                          "http_proxy=x",
                                          "NO_PROXY=x",
                                          "all_proxy=x",
                                          "LISTEN_FDS=2",
                                          "OTHER=1",
                                          "GITGATE_PORT=9418",
                                          "NOEQUALS",
                                          "=bad"};

bool has(const std::vector<std::string>& env, const std::string& name) {
  return std::any_of(env.begin(), env.end(),
                     [&](const std::string& e) { return e.rfind(name + "=", 0) == 0; });
}

TEST(EnvScope, EgressTokensReachOnlyEgress) {
  EXPECT_TRUE(has(scoped_env("egress", {"*"}, kParent), "EGRESS_TOKEN_1"));
  EXPECT_FALSE(has(scoped_env("gitgate", {"*"}, kParent), "EGRESS_TOKEN_1"));
  EXPECT_FALSE(has(scoped_env("supervise", {"EGRESS_TOKEN_*"}, kParent), "EGRESS_TOKEN_1"));
}

TEST(EnvScope, GitKeysReachOnlyGitgate) {
  for (const char* name :
       {"GIT_SSH_KEY", "GIT_SSH_KEY_PATH", "GIT_KEY_0", "GITGATE_DEPLOY_KEY", "SSH_AUTH_SOCK"}) {
    EXPECT_TRUE(has(scoped_env("gitgate", {"*"}, kParent), name)) << name;
    EXPECT_FALSE(has(scoped_env("egress", {"*"}, kParent), name)) << name;
    EXPECT_FALSE(has(scoped_env("supervise", {name}, kParent), name)) << name;
  }
  EXPECT_TRUE(has(scoped_env("egress", {"*"}, kParent), "GITGATE_PORT"));
}

TEST(EnvScope, ProxyVarsReachNobody) {
  for (const char* d : {"egress", "gitgate", "supervise"}) {
    const auto env = scoped_env(d, {"*", "HTTPS_PROXY", "http_proxy"}, kParent);
    for (const char* name : {"HTTPS_PROXY", "http_proxy", "NO_PROXY", "all_proxy"}) {
      EXPECT_FALSE(has(env, name)) << d << " " << name;
    }
  }
}

TEST(EnvScope, AllowListIsExactOrPrefix) {
  const auto env = scoped_env("egress", {"PATH", "EGRESS_*"}, kParent);
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/bin", "EGRESS_TOKEN_1=tok"}));
  EXPECT_TRUE(scoped_env("egress", {}, kParent).empty());
  EXPECT_FALSE(has(scoped_env("egress", {"PAT"}, kParent), "PATH"));
}

TEST(EnvScope, InheritedListenVarsAreDropped) {
  EXPECT_FALSE(has(scoped_env("egress", {"*"}, kParent), "LISTEN_FDS"));
}

}  // namespace
}  // namespace bottle::init
