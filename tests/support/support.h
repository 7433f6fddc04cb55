// Test helpers shared across components (tests/proxy/harness.h predates this and keeps
// its own copies for now).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace bottle::test {

// A test that cannot run here (not root, a tool missing) skips with the reason, but
// fails when the environment says CI=true: CI must never pass quietly on a skip.
#define BOTTLE_SKIP_UNLESS(cond, why)                                             \
  do {                                                                            \
    if (!(cond)) {                                                                \
      if (::bottle::test::in_ci()) FAIL() << "CI=true and cannot run: " << (why); \
      GTEST_SKIP() << (why);                                                      \
    }                                                                             \
  } while (0)
bool in_ci();

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

// Polls `cond` every few ms until true or `limit` passes.
bool eventually(const std::function<bool()>& cond,
                std::chrono::milliseconds limit = std::chrono::seconds(10));

// A port on 127.0.0.1 nothing listens on right now.
uint16_t free_port();
int connect_loopback(uint16_t port);  // -1 on failure
// Sends `data`, then reads until the peer closes or `limit` passes.
std::string exchange(uint16_t port, const std::string& data,
                     std::chrono::milliseconds limit = std::chrono::seconds(5));
// Body of a 200 answer to GET `path`, or "".
std::string http_get(uint16_t port, const std::string& path);

}  // namespace bottle::test
