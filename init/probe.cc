#include "init/probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bottle::init {

ReadinessCheck::ReadinessCheck(const ReadyProbe& probe) : probe_(probe) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, probe.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(probe.port);
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, probe.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(probe.port);
    len = sizeof *v6;
  } else {
    outcome_ = Outcome::failed;
    return;
  }
  fd_.reset(socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_.valid()) {
    outcome_ = Outcome::failed;
    return;
  }
  if (connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 && errno != EINPROGRESS) {
    finish(Outcome::failed);
  }
}

ReadinessCheck::Outcome ReadinessCheck::finish(Outcome o) {
  outcome_ = o;
  fd_.reset();
  return o;
}

ReadinessCheck::Outcome ReadinessCheck::on_event(short revents) {
  if (outcome_ != Outcome::pending) return outcome_;
  if (!connected_) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      return finish(Outcome::failed);
    }
    if (!(revents & POLLOUT)) return outcome_;
    connected_ = true;
    if (probe_.kind == ReadyProbe::Kind::tcp) return finish(Outcome::ready);
  }
  if (!sent_) {
    const bool v6 = probe_.host.find(':') != std::string::npos;
    const std::string host = v6 ? "[" + probe_.host + "]" : probe_.host;
    const std::string request = "GET " + probe_.path + " HTTP/1.0\r\nHost: " + host + ":" +
                                std::to_string(probe_.port) + "\r\nConnection: close\r\n\r\n";
    if (send(fd_.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      return finish(Outcome::failed);
    }
    sent_ = true;
    return outcome_;
  }
  char buf[512];
  const ssize_t n = recv(fd_.get(), buf, sizeof buf, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return outcome_;
  if (n <= 0) return finish(Outcome::failed);
  response_.append(buf, static_cast<size_t>(n));
  // Status line "HTTP/1.x NNN ..."; only 2xx counts as ready.
  const auto eol = response_.find("\r\n");
  if (eol == std::string::npos) {
    return response_.size() > 1024 ? finish(Outcome::failed) : outcome_;
  }
  const bool ok =
      response_.starts_with("HTTP/1.") && eol >= 12 && response_[8] == ' ' && response_[9] == '2';
  return finish(ok ? Outcome::ready : Outcome::failed);
}

}  // namespace bottle::init
