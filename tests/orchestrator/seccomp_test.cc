// The agent's seccomp filter, loaded into a forked child of the test (as bwrap loads it
// into the agent): no call may leave a setuid or setgid file behind, everything else works.
#include "orchestrator/seccomp.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <functional>
#include <string>

namespace bottle::orchestrator {
namespace {

// Runs `call` in a child under the filter; returns its errno (0 on success).
int filtered_errno(const std::function<long()>& call) {
  pid_t pid = ::fork();
  if (pid == 0) {
    auto prog = setid_filter();
    sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0)
      ::_exit(255);
    errno = 0;
    long r = call();
    ::_exit(r < 0 ? errno : 0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class SetidFilter : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/setid-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_);
    file_ = dir_ + "/tool";
    ::close(::open(file_.c_str(), O_CREAT | O_WRONLY, 0755));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  mode_t mode_of(const std::string& path) {
    struct stat st {};
    ::stat(path.c_str(), &st);
    return st.st_mode & 07777;
  }
  std::string dir_, file_;
};

TEST_F(SetidFilter, ChmodFamilyCannotSetSetuidOrSetgid) {
  const char* f = file_.c_str();
  EXPECT_EQ(filtered_errno([&] { return ::chmod(f, 04755); }), EPERM);
  EXPECT_EQ(filtered_errno([&] { return ::chmod(f, 02755); }), EPERM);
  EXPECT_EQ(filtered_errno([&] {
              int fd = ::open(f, O_RDONLY);
              return ::fchmod(fd, 06755);
            }),
            EPERM);
  EXPECT_EQ(filtered_errno([&] { return ::fchmodat(AT_FDCWD, f, 04700, 0); }), EPERM);
  EXPECT_EQ(filtered_errno([&] { return ::syscall(452 /* fchmodat2 */, AT_FDCWD, f, 04755, 0); }),
            EPERM);
  EXPECT_EQ(mode_of(file_), 0755u);
  // Ordinary modes (sticky bit included) still work.
  EXPECT_EQ(filtered_errno([&] { return ::chmod(f, 01700); }), 0);
  EXPECT_EQ(mode_of(file_), 01700u);
}

TEST_F(SetidFilter, FilesCannotBeCreatedSetuid) {
  const std::string a = dir_ + "/a", b = dir_ + "/b", c = dir_ + "/c";
  EXPECT_EQ(filtered_errno([&] { return ::open(a.c_str(), O_CREAT | O_WRONLY, 04755); }), EPERM);
  EXPECT_EQ(filtered_errno([&] { return ::creat(a.c_str(), 02755); }), EPERM);
  EXPECT_EQ(filtered_errno([&] { return ::mknodat(AT_FDCWD, b.c_str(), S_IFREG | 04755, 0); }),
            EPERM);
  EXPECT_FALSE(std::filesystem::exists(a));
  EXPECT_FALSE(std::filesystem::exists(b));
  EXPECT_EQ(filtered_errno([&] { return ::open(c.c_str(), O_CREAT | O_WRONLY, 0755); }), 0);
  EXPECT_EQ(mode_of(c) & 06000, 0u);
  // Without O_CREAT the mode argument is ignored by the kernel, and by the filter.
  EXPECT_EQ(
      filtered_errno([&] { return ::syscall(SYS_openat, AT_FDCWD, c.c_str(), O_RDONLY, 04755); }),
      0);
}

TEST_F(SetidFilter, CallsWhoseModeItCannotSeeAreRefused) {
  EXPECT_EQ(filtered_errno([&] { return ::syscall(437 /* openat2 */, AT_FDCWD, "/", nullptr, 0); }),
            ENOSYS);
  EXPECT_EQ(filtered_errno([&] { return ::syscall(SYS_io_uring_setup, 1, nullptr); }), ENOSYS);
  // Everything else is untouched.
  EXPECT_EQ(filtered_errno([&] { return ::getpid(); }), 0);
}

TEST(SetidFilterFd, HoldsTheProgramForBwrap) {
  auto fd = setid_filter_fd();
  ASSERT_TRUE(fd.ok()) << fd.error();
  struct stat st {};
  ASSERT_EQ(::fstat(fd->get(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), setid_filter().size() * sizeof(sock_filter));
  EXPECT_EQ(::lseek(fd->get(), 0, SEEK_CUR), 0);
}

}  // namespace
}  // namespace bottle::orchestrator
