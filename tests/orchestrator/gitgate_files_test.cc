// The gate's files of one launch: key copies (0600, "~" expanded) and gitgate.yaml.
#include "orchestrator/gitgate_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "config/gate_config.h"
#include "orchestrator/plan.h"
#include "tests/orchestrator/test_home.h"

namespace bottle::orchestrator {
namespace {

using testing::TestHome;

mode_t mode_of(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

Plan plan_with_key(TestHome& h, const std::string& key_path) {
  h.bottle("dev",
           "---\ngit-gate:\n  repos:\n    - name: app\n      url: ssh://git@h:2222/org/app.git\n"
           "      host_key: \"ssh-ed25519 "
           "AAAAC3NzaC1lZDI1NTE5AAAAIHPc6qDFTajfl6uR9jnS0mJ7JaAEf5ZfwIuIEQCd3YNj\"\n"
           "      key: {provider: static, path: \"" +
               key_path + "\"}\n---\n");
  h.agent("impl", "---\nbottle: dev\nprovider: command\ncommand: [\"true\"]\n---\n");
  auto p = make_plan(*load_manifest(h.dirs(), "impl"), PlanOptions{});
  EXPECT_TRUE(p.ok()) << p.error();
  return *p;
}

TEST(GitgateFiles, StaticKeysAreCopiedPrivateAndTheConfigPointsAtTheCopies) {
  TestHome h;
  const std::string fake_home = h.home() + "/user";
  std::filesystem::create_directories(fake_home + "/.ssh");
  std::ofstream(fake_home + "/.ssh/id_ed25519") << "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n";
  ::chmod((fake_home + "/.ssh/id_ed25519").c_str(), 0644);
  const char* old_home = std::getenv("HOME");
  const std::string saved = old_home ? old_home : "";
  ::setenv("HOME", fake_home.c_str(), 1);
  Plan p = plan_with_key(h, "~/.ssh/id_ed25519");
  const std::string gate = h.home() + "/state/gitgate";
  auto st = write_gitgate_files(p, gate, h.home() + "/state/gitgate.yaml");
  ::setenv("HOME", saved.c_str(), 1);
  ASSERT_TRUE(st.ok()) << st.error();
  EXPECT_EQ(mode_of(gate), 0700u);
  EXPECT_EQ(mode_of(gate + "/keys/app"), 0600u);
  std::ifstream copy(gate + "/keys/app");
  std::string first;
  std::getline(copy, first);
  EXPECT_EQ(first, "-----BEGIN OPENSSH PRIVATE KEY-----");
  EXPECT_EQ(mode_of(h.home() + "/state/gitgate.yaml"), 0600u);
  auto cfg = config::load_gate_config(h.home() + "/state/gitgate.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ((*cfg)->repos[0].key_file, gate + "/keys/app");
}

TEST(GitgateFiles, AMissingKeyNamesTheRepoAndThePath) {
  TestHome h;
  Plan p = plan_with_key(h, "/nonexistent/key");
  auto st = write_gitgate_files(p, h.home() + "/g", h.home() + "/g.yaml");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().find("repo 'app': key: /nonexistent/key"), std::string::npos) << st.error();
}

TEST(GitgateFiles, TildeExpandsOnlyAtTheStart) {
  const char* old_home = std::getenv("HOME");
  const std::string saved = old_home ? old_home : "";
  ::setenv("HOME", "/home/op", 1);
  EXPECT_EQ(expand_home("~/.ssh/id"), "/home/op/.ssh/id");
  EXPECT_EQ(expand_home("~"), "/home/op");
  EXPECT_EQ(expand_home("/abs/~/x"), "/abs/~/x");
  EXPECT_EQ(expand_home("~other/x"), "~other/x");
  ::setenv("HOME", saved.c_str(), 1);
}

}  // namespace
}  // namespace bottle::orchestrator
