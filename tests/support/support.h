// Test helpers shared across components: scratch directories, files, bounded polling,
// loopback sockets, and the one skip macro.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <cstdint>
#include <functional>
#include <string>

namespace bottle::test {

// True when the environment says CI=true.
inline bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::strcmp(ci, "true") == 0;
}

}  // namespace bottle::test

// The one way a test gives up when it cannot run here (not root, a tool missing): used
// like GTEST_SKIP in a void function, `if (geteuid() != 0) BOTTLE_SKIP() << "needs root";`.
// It skips with the reason on a developer's machine and FAILS under CI=true: CI must run
// every test, never quietly pass one it could not run. Header-only, so any test may use it.
#define BOTTLE_SKIP()                                                                     \
  return ::testing::internal::AssertHelper(                                               \
             ::bottle::test::in_ci() ? ::testing::TestPartResult::kFatalFailure           \
                                     : ::testing::TestPartResult::kSkip,                  \
             __FILE__, __LINE__, ::bottle::test::in_ci() ? "cannot run under CI=true: " : "") = \
             ::testing::Message()

namespace bottle::test {

// mkdtemp'ed directory, removed recursively on destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix = "bottle-test");
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& data);
std::string read_file(const std::string& path);
// The absolute path of `name` in PATH, or "".
std::string which(const std::string& name);

// Polls `cond` every few ms until true or `limit` passes (generous: it only matters when
// the test fails, and sanitizer builds on a shared 2-core box are slow).
bool eventually(const std::function<bool()>& cond,
                std::chrono::milliseconds limit = std::chrono::seconds(20));

// A listening socket on 127.0.0.1 with a port the kernel picked (stored in *port_out);
// -1 on failure.
int listen_loopback(uint16_t* port_out);
// A port on 127.0.0.1 nothing listens on right now.
uint16_t free_port();
int connect_loopback(uint16_t port);  // -1 on failure
// Sends `data`, then reads until the peer closes or `limit` passes.
std::string exchange(uint16_t port, const std::string& data,
                     std::chrono::milliseconds limit = std::chrono::seconds(5));
// Body of a 200 answer to GET `path`, or "".
std::string http_get(uint16_t port, const std::string& path);

}  // namespace bottle::test
