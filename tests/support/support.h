// Test helpers shared across components: scratch directories, files, bounded polling,
// loopback sockets, and the one skip macro.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

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

// Writes all of `data` (false if the peer went away).
bool send_all(int fd, std::string_view data);

// One HTTP/1.1 message as a server read it: the head (through its blank line), the body
// with any chunked framing removed, and a chunked body's trailer lines ("Name: value\r\n"
// each, "" when it had none).
struct HttpMessage {
  std::string head;
  std::string body;
  std::string trailers;
  bool chunked = false;
  // The head's first line ("GET /x HTTP/1.1").
  std::string first_line() const { return head.substr(0, head.find("\r\n")); }
};
// Reads one request (Content-Length, chunked, or no body) from `fd`; `pending` carries
// bytes read past it into the next call. nullopt when the peer closes first, the framing
// is malformed, or `limit` passes.
std::optional<HttpMessage> read_http_message(int fd, std::string& pending,
                                             std::chrono::milliseconds limit =
                                                 std::chrono::seconds(10));

// A loopback server that runs a script on each connection it accepts, until destroyed.
// one_at_a_time: one connection after another on one thread (a server holding one
// connection at a time). concurrent: each connection on a thread of its own, so a client
// may hold several at once (a connection pool). The script gets the socket and the
// connection's number (1, 2, ...); the socket is closed when it returns.
class ScriptedUpstream {
 public:
  enum class Mode { one_at_a_time, concurrent };
  explicit ScriptedUpstream(std::function<void(int fd)> serve, Mode mode = Mode::one_at_a_time);
  ScriptedUpstream(std::function<void(int fd, int conn)> serve, Mode mode);
  ~ScriptedUpstream();
  ScriptedUpstream(const ScriptedUpstream&) = delete;
  ScriptedUpstream& operator=(const ScriptedUpstream&) = delete;
  // Connections accepted so far.
  int accepted() const;
  uint16_t port = 0;

 private:
  void serve_one(int fd, int conn);
  std::function<void(int, int)> serve_;
  Mode mode_;
  int fd_ = -1;
  std::thread acceptor_;
  mutable std::mutex mu_;
  int accepted_ = 0;
  std::vector<std::thread> workers_;
  std::vector<int> open_;  // sockets whose script still runs
};

}  // namespace bottle::test
