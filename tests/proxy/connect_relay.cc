// bottle-connect-relay: lets a client without proxy support (h2load, nghttp) reach a TLS
// server through an HTTP CONNECT proxy. Each connection accepted on 127.0.0.1 gets its
// own connection to the proxy, which is asked `CONNECT <authority>`; after the 200 the
// bytes are copied both ways unchanged (the client's TLS runs end to end with the proxy's
// bump). With --plain the relay connects straight to the target port instead, so a
// direct run pays for the same extra hop.
//
// Prints the port it listens on, then serves until killed. One thread per connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "common/cli.h"
#include "tests/support/support.h"

namespace {

// A loopback connection without Nagle (relayed TLS records go out as they come).
int connect_to(uint16_t port) {
  int fd = bottle::test::connect_loopback(port);
  int one = 1;
  if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// CONNECT, then the proxy's answer head; bytes after it (none expected) go to the client.
bool open_tunnel(int up, int client, const std::string& authority) {
  std::string req = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
  if (!write_all(up, req.data(), req.size())) return false;
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = recv(up, buf, sizeof buf, 0);
    if (n <= 0 || head.size() > 65536) return false;
    head.append(buf, static_cast<size_t>(n));
  }
  if (head.compare(0, 12, "HTTP/1.1 200") != 0) return false;
  std::string rest = head.substr(head.find("\r\n\r\n") + 4);
  return write_all(client, rest.data(), rest.size());
}

void relay(int client, uint16_t target, std::string authority) {
  int up = connect_to(target);
  if (up >= 0 && (authority.empty() || open_tunnel(up, client, authority))) {
    pollfd p[2] = {{client, POLLIN, 0}, {up, POLLIN, 0}};
    char buf[65536];
    bool open = true;
    while (open && poll(p, 2, -1) > 0) {
      for (int i = 0; i < 2 && open; ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = recv(p[i].fd, buf, sizeof buf, 0);
        open = n > 0 && write_all(p[1 - i].fd, buf, static_cast<size_t>(n));
      }
    }
  }
  if (up >= 0) close(up);
  close(client);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bottle-connect-relay: a local port that reaches a TLS server through a CONNECT proxy"};
  uint16_t listen_port = 0, target = 0;
  std::string authority;
  bool plain = false;
  app.add_option("--listen", listen_port, "port on 127.0.0.1 (0 = any; printed)");
  app.add_option("--proxy", target, "the proxy's port on 127.0.0.1 (--plain: the server's)")
      ->required();
  app.add_option("--authority", authority, "host:port for CONNECT");
  app.add_flag("--plain", plain, "no CONNECT: relay straight to --proxy");
  if (auto code = bottle::parse_command_line(app, argc, argv, "bottle-connect-relay")) return *code;
  if (!plain && authority.empty()) {
    std::fprintf(stderr, "bottle-connect-relay: usage: --authority is required without --plain\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(listen_port);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 128) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    std::fprintf(stderr, "bottle-connect-relay: listen: %s\n", std::strerror(errno));
    return 1;
  }
  std::printf("%u\n", ntohs(a.sin_port));
  std::fflush(stdout);
  while (true) {
    int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::thread(relay, c, target, plain ? std::string() : authority).detach();
  }
}
