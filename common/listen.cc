#include "common/listen.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "common/strings.h"

namespace bottle {
namespace {

Result<uint16_t> listen_port(std::string_view s, std::string_view whole) {
  if (auto port = parse_port(s, /*allow_zero=*/true)) return *port;
  return Error{"bad port in '" + std::string(whole) + "' (expected 0-65535)"};
}

std::string errno_text(int e) { return std::strerror(e); }

}  // namespace

std::string ListenSpec::to_string() const {
  if (kind == Kind::fd) return "fd:" + std::to_string(fd);
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<ListenSpec> parse_listen_spec(std::string_view text) {
  ListenSpec spec;
  if (text.starts_with("fd:")) {
    std::string_view n = text.substr(3);
    int fd = -1;
    auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), fd);
    if (n.empty() || ec != std::errc() || p != n.data() + n.size() || fd < 0) {
      return Error{"bad listen spec '" + std::string(text) + "' (expected fd:N)"};
    }
    spec.kind = ListenSpec::Kind::fd;
    spec.fd = fd;
    return spec;
  }
  std::string_view host, port;
  if (text.starts_with("[")) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Error{"bad listen spec '" + std::string(text) + "' (expected [addr]:port)"};
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return Error{"bad listen spec '" + std::string(text) +
                   "' (expected host:port, [v6]:port or fd:N)"};
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) return Error{"bad listen spec '" + std::string(text) + "' (empty host)"};
  auto p = listen_port(port, text);
  if (!p) return Error{p.error()};
  spec.host = std::string(host);
  if (spec.host == "localhost") spec.host = "127.0.0.1";
  spec.port = *p;
  in6_addr a6;
  in_addr a4;
  if (inet_pton(AF_INET, spec.host.c_str(), &a4) != 1 &&
      inet_pton(AF_INET6, spec.host.c_str(), &a6) != 1) {
    return Error{"bad listen address '" + spec.host + "' (expected an IP literal)"};
  }
  return spec;
}

Result<int> open_listener(const ListenSpec& spec, bool reuseport, int backlog) {
  if (spec.kind == ListenSpec::Kind::fd) {
    int type = 0;
    socklen_t len = sizeof type;
    if (getsockopt(spec.fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
      return Error{spec.to_string() + ": not a socket: " + errno_text(errno)};
    }
    int acc = 0;
    len = sizeof acc;
    if (getsockopt(spec.fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == 0 && !acc) {
      if (listen(spec.fd, backlog) != 0) {
        return Error{spec.to_string() + ": listen: " + errno_text(errno)};
      }
    }
    int fl = fcntl(spec.fd, F_GETFL);
    fcntl(spec.fd, F_SETFL, fl | O_NONBLOCK);
    fcntl(spec.fd, F_SETFD, FD_CLOEXEC);
    return spec.fd;
  }
  sockaddr_storage ss{};
  socklen_t sslen = 0;
  int family = AF_INET;
  if (spec.host.find(':') != std::string::npos) {
    family = AF_INET6;
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(spec.port);
    inet_pton(AF_INET6, spec.host.c_str(), &s6->sin6_addr);
    sslen = sizeof *s6;
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(spec.port);
    inet_pton(AF_INET, spec.host.c_str(), &s4->sin_addr);
    sslen = sizeof *s4;
  }
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{spec.to_string() + ": socket: " + errno_text(errno)};
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), sslen) != 0) {
    int e = errno;
    close(fd);
    return Error{spec.to_string() + ": " + errno_text(e)};
  }
  if (listen(fd, backlog) != 0) {
    int e = errno;
    close(fd);
    return Error{spec.to_string() + ": listen: " + errno_text(e)};
  }
  return fd;
}

std::vector<PassedFd> take_listen_fds() {
  std::vector<PassedFd> out;
  const char* pid = std::getenv("LISTEN_PID");
  const char* n = std::getenv("LISTEN_FDS");
  if (!n) return out;
  if (pid && std::atoi(pid) != getpid()) return out;
  int count = std::atoi(n);
  std::vector<std::string> names;
  if (const char* nm = std::getenv("LISTEN_FDNAMES")) {
    std::string_view all(nm);
    while (true) {
      auto c = all.find(':');
      names.emplace_back(all.substr(0, c));
      if (c == std::string_view::npos) break;
      all.remove_prefix(c + 1);
    }
  }
  for (int i = 0; i < count && i < 256; ++i) {
    int fd = 3 + i;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    out.push_back({fd, i < static_cast<int>(names.size()) ? names[i] : std::string()});
  }
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  return out;
}

uint16_t local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

}  // namespace bottle
