#include "common/http/admin_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/unique_fd.h"

namespace bottle {
namespace {

constexpr size_t kMaxAnswerBytes = 64u << 20;  // /routes of a very large table

// Waits for `events` on fd until `deadline`; false on timeout or error.
bool wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

}  // namespace

Result<std::string> admin_get(const ListenSpec& admin, std::string_view path,
                              std::chrono::milliseconds timeout) {
  const std::string where = "egress admin " + admin.to_string();
  if (admin.kind != ListenSpec::Kind::address) return Error{where + ": not an address"};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  sockaddr_storage ss{};
  socklen_t len = 0;
  const bool v6 = admin.host.find(':') != std::string::npos;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(admin.port);
    if (inet_pton(AF_INET6, admin.host.c_str(), &a->sin6_addr) != 1)
      return Error{where + ": bad address"};
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(admin.port);
    if (inet_pton(AF_INET, admin.host.c_str(), &a->sin_addr) != 1)
      return Error{where + ": bad address"};
    len = sizeof *a;
  }
  UniqueFd s(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (s.get() < 0) return Error{where + ": socket: " + std::strerror(errno)};
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS) return Error{where + ": " + std::strerror(errno)};
    if (!wait_for(s.get(), POLLOUT, deadline)) return Error{where + ": connect timed out"};
    int err = 0;
    socklen_t elen = sizeof err;
    ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &elen);
    if (err != 0) return Error{where + ": " + std::strerror(err)};
  }
  const std::string req = "GET " + std::string(path) + " HTTP/1.1\r\nHost: " + admin.to_string() +
                          "\r\nConnection: close\r\n\r\n";
  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::send(s.get(), req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(s.get(), POLLOUT, deadline)) return Error{where + ": send timed out"};
      continue;
    }
    if (n < 0) return Error{where + ": " + std::strerror(errno)};
    off += static_cast<size_t>(n);
  }
  std::string answer;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(s.get(), POLLIN, deadline)) return Error{where + ": no answer in time"};
      continue;
    }
    if (n < 0) return Error{where + ": " + std::strerror(errno)};
    if (n == 0) break;
    answer.append(buf, static_cast<size_t>(n));
    if (answer.size() > kMaxAnswerBytes) return Error{where + ": answer too large"};
  }
  // The admin listener answers with Content-Length and closes: the body is what follows
  // the head.
  size_t head_end = answer.find("\r\n\r\n");
  if (answer.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) {
    return Error{where + ": not an HTTP answer"};
  }
  std::string_view status(answer.data() + 9, 3);
  if (status != "200") {
    return Error{where + ": GET " + std::string(path) + " answered " + std::string(status)};
  }
  return answer.substr(head_end + 4);
}

namespace {

// Calls `line` for each line of `text` until it returns true.
template <typename F>
void each_line(std::string_view text, F line) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (line(text.substr(pos, nl == std::string_view::npos ? text.size() - pos : nl - pos))) return;
    if (nl == std::string_view::npos) return;
    pos = nl + 1;
  }
}

std::optional<uint64_t> number(std::string_view v) {
  uint64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
  return out;
}

}  // namespace

std::optional<uint64_t> prometheus_value(std::string_view metrics, std::string_view name) {
  std::optional<uint64_t> out;
  each_line(metrics, [&](std::string_view line) {
    if (line.size() > name.size() && line.substr(0, name.size()) == name &&
        line[name.size()] == ' ') {
      out = number(line.substr(name.size() + 1));
    }
    return out.has_value();
  });
  return out;
}

std::map<std::string, uint64_t> prometheus_by_label(std::string_view metrics, std::string_view name,
                                                    std::string_view label) {
  std::map<std::string, uint64_t> out;
  const std::string prefix = std::string(name) + "{" + std::string(label) + "=\"";
  each_line(metrics, [&](std::string_view line) {
    if (line.substr(0, prefix.size()) != prefix) return false;
    std::string_view rest = line.substr(prefix.size());
    size_t close = rest.find("\"} ");
    if (close == std::string_view::npos) return false;
    if (auto v = number(rest.substr(close + 3))) out[std::string(rest.substr(0, close))] = *v;
    return false;
  });
  return out;
}

}  // namespace bottle
