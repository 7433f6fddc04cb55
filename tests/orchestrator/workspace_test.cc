// The workspace around a run (workspace.h): the ACL grant to a bottle uid and its exact
// removal, and the setuid sweep that backs up the seccomp filter. Real files, real ACLs.
#include "orchestrator/workspace.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>

#include "orchestrator/agent_user.h"
#include "tests/support/support.h"

namespace bottle::orchestrator {
namespace {

namespace fs = std::filesystem;

constexpr uid_t kUid = kBottleUidBase + 7;

class Workspace : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) BOTTLE_SKIP() << "needs root (files of another uid)";
    ws_ = ::testing::TempDir() + "/ws-" + std::to_string(::getpid());
    fs::create_directories(ws_ + "/sub");
    std::ofstream(ws_ + "/a.txt") << "a";
    std::ofstream(ws_ + "/sub/run.sh") << "#!/bin/sh";
    ::chmod((ws_ + "/a.txt").c_str(), 0644);
    ::chmod((ws_ + "/sub/run.sh").c_str(), 0750);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(ws_, ec);
  }
  static bool has_acl(const std::string& p) {
    return ::getxattr(p.c_str(), "system.posix_acl_access", nullptr, 0) >= 0;
  }
  static mode_t mode(const std::string& p) {
    struct stat st {};
    ::lstat(p.c_str(), &st);
    return st.st_mode & 07777;
  }
  // Whether `uid` may open `p` for writing (checked by a child that becomes it).
  static bool writable_by(const std::string& p, uid_t uid) {
    pid_t pid = ::fork();
    if (pid == 0) {
      if (::setgid(uid) != 0 || ::setuid(uid) != 0) ::_exit(2);
      ::_exit(::access(p.c_str(), W_OK) == 0 ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  std::string ws_;
};

TEST_F(Workspace, GrantGivesTheUidTheTreeAndRevokeRestoresItExactly) {
  EXPECT_FALSE(writable_by(ws_ + "/a.txt", kUid));
  auto n = grant_workspace(ws_, kUid);
  ASSERT_TRUE(n.ok()) << n.error();
  EXPECT_EQ(n->changed, 4u);  // ws, a.txt, sub, sub/run.sh
  EXPECT_TRUE(writable_by(ws_ + "/a.txt", kUid));
  EXPECT_TRUE(writable_by(ws_ + "/sub", kUid));
  EXPECT_TRUE(has_acl(ws_ + "/sub/run.sh"));
  auto r = finish_workspace(ws_, kUid, std::time(nullptr), true);
  EXPECT_EQ(r.revoked.changed, 4u);
  EXPECT_EQ(r.revoked.failed, 0u);
  for (const char* p : {"", "/a.txt", "/sub", "/sub/run.sh"}) EXPECT_FALSE(has_acl(ws_ + p)) << p;
  EXPECT_EQ(mode(ws_ + "/a.txt"), 0644u);
  EXPECT_EQ(mode(ws_ + "/sub/run.sh"), 0750u);
  EXPECT_FALSE(writable_by(ws_ + "/a.txt", kUid));
}

TEST_F(Workspace, HardLinkedFilesAreNotShared) {
  ASSERT_EQ(::link((ws_ + "/a.txt").c_str(), (ws_ + "/b.txt").c_str()), 0);
  ASSERT_TRUE(grant_workspace(ws_, kUid).ok());
  EXPECT_FALSE(has_acl(ws_ + "/a.txt")) << "the grant would reach the file's other names";
  finish_workspace(ws_, kUid, std::time(nullptr), true);
}

TEST_F(Workspace, SweepClearsSetidBitsTheAgentLeft) {
  const time_t before = std::time(nullptr) - 5;
  const std::string agent_file = ws_ + "/tool", operator_file = ws_ + "/sub/run.sh";
  std::ofstream(agent_file) << "x";
  ASSERT_EQ(::chown(agent_file.c_str(), kUid, kUid), 0);
  ASSERT_EQ(::chmod(agent_file.c_str(), 06755), 0);
  ASSERT_EQ(::chmod(operator_file.c_str(), 04750), 0);  // root's own: never touched
  auto r = finish_workspace(ws_, kUid, before, false);
  ASSERT_EQ(r.setid_cleared.size(), 1u);
  EXPECT_EQ(r.setid_cleared[0], "tool");
  EXPECT_EQ(mode(agent_file), 0755u);
  EXPECT_EQ(mode(operator_file), 04750u);
  // A file whose status last changed before the run started is the operator's.
  ASSERT_EQ(::chmod(agent_file.c_str(), 04755), 0);
  EXPECT_TRUE(finish_workspace(ws_, kUid, std::time(nullptr) + 60, false).setid_cleared.empty());
}

}  // namespace
}  // namespace bottle::orchestrator
