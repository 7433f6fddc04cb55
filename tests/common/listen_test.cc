#include "common/listen.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

namespace bottle {
namespace {

TEST(ListenSpec, ParsesAddressForms) {
  auto a = parse_listen_spec("127.0.0.1:9099");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9099);
  auto b = parse_listen_spec("[::1]:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->to_string(), "[::1]:0");
  auto c = parse_listen_spec("fd:3");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, ListenSpec::Kind::fd);
  EXPECT_EQ(c->fd, 3);
  EXPECT_EQ(parse_listen_spec("localhost:80")->host, "127.0.0.1");
}

TEST(ListenSpec, RejectsBadSpecsWithReason) {
  EXPECT_EQ(parse_listen_spec("127.0.0.1").error(),
            "bad listen spec '127.0.0.1' (expected host:port, [v6]:port or fd:N)");
  EXPECT_EQ(parse_listen_spec("127.0.0.1:99999").error(),
            "bad port in '127.0.0.1:99999' (expected 0-65535)");
  EXPECT_EQ(parse_listen_spec("fd:x").error(), "bad listen spec 'fd:x' (expected fd:N)");
  EXPECT_EQ(parse_listen_spec("example.com:80").error(),
            "bad listen address 'example.com' (expected an IP literal)");
  EXPECT_FALSE(parse_listen_spec("::1:80").ok());
  EXPECT_FALSE(parse_listen_spec("[::1]80").ok());
}

TEST(OpenListener, BindsEphemeralPortAndReportsPortInUse) {
  auto fd = open_listener(*parse_listen_spec("127.0.0.1:0"));
  ASSERT_TRUE(fd.ok()) << fd.error();
  uint16_t port = local_port(*fd);
  ASSERT_NE(port, 0);
  auto again = open_listener(*parse_listen_spec("127.0.0.1:" + std::to_string(port)));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error(), "127.0.0.1:" + std::to_string(port) + ": Address already in use");
  close(*fd);
}

TEST(OpenListener, AdoptsPassedSocketAndRejectsNonSocket) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  auto fd = open_listener(*parse_listen_spec("fd:" + std::to_string(s)));
  ASSERT_TRUE(fd.ok()) << fd.error();
  EXPECT_EQ(*fd, s);
  close(s);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  auto bad = open_listener(*parse_listen_spec("fd:" + std::to_string(p[0])));
  ASSERT_FALSE(bad.ok());
  std::string prefix = "fd:" + std::to_string(p[0]) + ": not a socket";
  EXPECT_EQ(bad.error().substr(0, prefix.size()), prefix);
  close(p[0]);
  close(p[1]);
  EXPECT_FALSE(open_listener(*parse_listen_spec("fd:999")).ok());
}

TEST(TakeListenFds, HonoursPidAndNamesAndUnsets) {
  setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
  setenv("LISTEN_FDS", "2", 1);
  setenv("LISTEN_FDNAMES", "egress:admin", 1);
  auto fds = take_listen_fds();
  ASSERT_EQ(fds.size(), 2u);
  EXPECT_EQ(fds[0].fd, 3);
  EXPECT_EQ(fds[1].name, "admin");
  EXPECT_EQ(std::getenv("LISTEN_FDS"), nullptr);
  setenv("LISTEN_PID", "1", 1);  // meant for another process
  setenv("LISTEN_FDS", "1", 1);
  EXPECT_TRUE(take_listen_fds().empty());
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
}

}  // namespace
}  // namespace bottle
