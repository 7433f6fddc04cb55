// bottle-loadgen: keep-alive HTTPS GETs, directly or through an HTTP CONNECT proxy that
// may intercept TLS, for the side-by-side proxy benchmark (bench/proxy/run.sh). wrk
// cannot speak CONNECT, and one client for every proxy keeps the figures comparable.
//
// One thread per connection with blocking sockets: the point is to load the proxy, and a
// few dozen threads on loopback are cheaper to reason about than another event loop.
// Prints one JSON object on stdout.
#include <arpa/inet.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/cli.h"
#include "common/result.h"
#include "common/tls/contexts.h"
#include "common/tls/ssl_error.h"
#include "common/version.h"

namespace bottle::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "bench.test";  // the name in CONNECT, SNI, Host and verification
  int port = 443;
  std::string dial;   // host:port to connect to when there is no proxy
  std::string proxy;  // host:port of a CONNECT proxy
  std::string path = "/";
  std::string ca_bundle;
  int connections = 8;
  int requests_per_connection = 0;  // 0 = keep the connection as long as the server does
  double seconds = 5;
};

struct Stats {
  std::vector<double> latencies_ms;
  uint64_t body_bytes = 0;
  uint64_t errors = 0;
  uint64_t connects = 0;
  std::string first_error;

  void fail(const std::string& why) {
    if (errors++ == 0) first_error = why;
  }
};

Result<std::pair<std::string, int>> split_host_port(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return Error{"expected host:port, got '" + s + "'"};
  try {
    int port = std::stoi(s.substr(colon + 1));
    if (port < 1 || port > 65535) throw std::out_of_range("port");
    return std::pair{s.substr(0, colon), port};
  } catch (const std::exception&) {
    return Error{"bad port in '" + s + "'"};
  }
}

class Connection {
 public:
  Connection(const Options& opt, SSL_CTX* ctx, Stats& stats) : opt_(opt), ctx_(ctx), stats_(stats) {
    llhttp_settings_init(&settings_);
    settings_.on_body = [](llhttp_t* p, const char*, size_t len) {
      auto* self = static_cast<Connection*>(p->data);
      self->stats_.body_bytes += len;
      return 0;
    };
    settings_.on_message_complete = [](llhttp_t* p) {
      auto* self = static_cast<Connection*>(p->data);
      self->complete_ = true;
      self->keep_alive_ = llhttp_should_keep_alive(p) != 0;  // flags are reset after this callback
      return 0;
    };
  }
  ~Connection() { close(); }

  // One GET; false when the connection is unusable (already counted as an error) or
  // the deadline cut a body short.
  bool request(Clock::time_point deadline) {
    if (!ssl_ && !open()) return false;
    // The port belongs in Host when it is not 443: squid routes the bumped request by it.
    const std::string authority =
        opt_.port == 443 ? opt_.host : opt_.host + ":" + std::to_string(opt_.port);
    const std::string req = "GET " + opt_.path + " HTTP/1.1\r\nHost: " + authority +
                            "\r\nUser-Agent: bottle-loadgen\r\n\r\n";
    auto start = Clock::now();
    if (SSL_write(ssl_.get(), req.data(), static_cast<int>(req.size())) !=
        static_cast<int>(req.size())) {
      return drop("write: " + ssl_reason());
    }
    complete_ = false;
    char buf[65536];
    while (!complete_) {
      if (Clock::now() >= deadline) {
        close();  // the rest of a bulk body is not wanted
        return false;
      }
      int n = SSL_read(ssl_.get(), buf, sizeof(buf));
      if (n <= 0) return drop("read: " + ssl_reason(n));
      if (llhttp_execute(&parser_, buf, static_cast<size_t>(n)) != HPE_OK) {
        return drop(std::string("bad HTTP response: ") + llhttp_get_error_reason(&parser_));
      }
    }
    if (parser_.status_code != 200)
      return drop("HTTP status " + std::to_string(parser_.status_code));
    stats_.latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    ++requests_on_connection_;
    if (!keep_alive_ || (opt_.requests_per_connection > 0 &&
                         requests_on_connection_ >= opt_.requests_per_connection)) {
      close();
    }
    return true;
  }

 private:
  bool open() {
    ++stats_.connects;
    std::string addr;
    int port = 0;
    if (auto hp = split_host_port(opt_.proxy.empty() ? opt_.dial : opt_.proxy); hp) {
      std::tie(addr, port) = *hp;
    } else {
      return drop(hp.error());
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1)
      return drop("not an IPv4 address: " + addr);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{.tv_sec = 10, .tv_usec = 0};  // a stuck proxy fails the run instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
      return drop("connect " + addr + ":" + std::to_string(port) + ": " + std::strerror(errno));
    }
    if (!opt_.proxy.empty() && !tunnel()) return false;
    ssl_.reset(SSL_new(ctx_));
    if (auto st = tls::set_upstream_host(ssl_.get(), opt_.host); !st) return drop(st.error());
    if (auto st = tls::offer_alpn(ssl_.get(), {"http/1.1"}); !st) return drop(st.error());
    SSL_set_fd(ssl_.get(), fd_);
    if (SSL_connect(ssl_.get()) != 1) {
      long verify = SSL_get_verify_result(ssl_.get());
      return drop("TLS handshake: " + ssl_reason() +
                  (verify != X509_V_OK
                       ? std::string(" (") + X509_verify_cert_error_string(verify) + ")"
                       : ""));
    }
    llhttp_init(&parser_, HTTP_RESPONSE, &settings_);
    parser_.data = this;
    requests_on_connection_ = 0;
    return true;
  }

  // CONNECT, then read the proxy's answer a byte at a time so no TLS bytes are eaten.
  bool tunnel() {
    const std::string authority = opt_.host + ":" + std::to_string(opt_.port);
    const std::string req = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
      return drop(std::string("CONNECT write: ") + std::strerror(errno));
    }
    std::string head;
    char c;
    while (head.size() < 16384 && head.find("\r\n\r\n") == std::string::npos) {
      if (::recv(fd_, &c, 1, 0) != 1) return drop("proxy closed during CONNECT");
      head.push_back(c);
    }
    if (head.compare(0, 9, "HTTP/1.1 ") != 0 && head.compare(0, 9, "HTTP/1.0 ") != 0) {
      return drop("CONNECT: not an HTTP response");
    }
    if (head.compare(9, 3, "200") != 0)
      return drop("CONNECT refused: " + head.substr(0, head.find('\r')));
    return true;
  }

  bool drop(const std::string& why) {
    stats_.fail(why);
    close();
    return false;
  }

  std::string ssl_reason(int ret = 0) {
    int err = ssl_ ? SSL_get_error(ssl_.get(), ret) : 0;
    if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0))
      return "connection closed";
    if (err == SSL_ERROR_SYSCALL) return std::strerror(errno);
    return tls::take_ssl_error("TLS error");
  }

  void close() {
    ssl_.reset();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  const Options& opt_;
  SSL_CTX* ctx_;
  Stats& stats_;
  int fd_ = -1;
  bssl::UniquePtr<SSL> ssl_;
  llhttp_t parser_{};
  llhttp_settings_t settings_{};
  bool complete_ = false;
  bool keep_alive_ = false;
  int requests_on_connection_ = 0;
};

double percentile(std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto idx = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(idx, sorted.size() - 1)];
}

int run(const Options& opt) {
  auto ctx = tls::make_upstream_ctx(opt.ca_bundle);
  if (!ctx) {
    std::fprintf(stderr, "bottle-loadgen: %s\n", ctx.error().c_str());
    return 1;
  }
  std::vector<Stats> stats(static_cast<std::size_t>(opt.connections));
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(opt.seconds));
  {
    std::vector<std::jthread> threads;
    for (auto& s : stats) {
      threads.emplace_back([&, deadline] {
        Connection conn(opt, ctx->get(), s);
        while (Clock::now() < deadline) {
          // A failing proxy must not spin: back off a little after an error.
          if (!conn.request(deadline) && s.errors > 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      });
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  Stats total;
  for (auto& s : stats) {
    total.latencies_ms.insert(total.latencies_ms.end(), s.latencies_ms.begin(),
                              s.latencies_ms.end());
    total.body_bytes += s.body_bytes;
    total.errors += s.errors;
    total.connects += s.connects;
    if (total.first_error.empty()) total.first_error = s.first_error;
  }
  std::sort(total.latencies_ms.begin(), total.latencies_ms.end());
  nlohmann::json out = {
      {"requests", total.latencies_ms.size()},
      {"errors", total.errors},
      {"connects", total.connects},
      {"seconds", elapsed},
      {"rps", static_cast<double>(total.latencies_ms.size()) / elapsed},
      {"p50_ms", percentile(total.latencies_ms, 0.50)},
      {"p99_ms", percentile(total.latencies_ms, 0.99)},
      {"body_mb_per_s", static_cast<double>(total.body_bytes) / elapsed / 1e6},
      {"first_error", total.first_error},
  };
  out["conn_per_s"] = static_cast<double>(total.connects) / elapsed;
  std::cout << out.dump() << "\n";
  return total.latencies_ms.empty() && total.body_bytes == 0 ? 1 : 0;
}

}  // namespace
}  // namespace bottle::loadgen

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  bottle::loadgen::Options opt;
  CLI::App app{
      "bottle-loadgen: keep-alive HTTPS GETs, direct or through a CONNECT proxy; prints JSON"};
  app.set_version_flag("--version", bottle::version_line("bottle-loadgen"));
  app.add_option("--host", opt.host, "Name used for CONNECT, SNI, Host and certificate checks");
  app.add_option("--port", opt.port, "Port in the CONNECT authority")->check(CLI::Range(1, 65535));
  auto* dial = app.add_option("--dial", opt.dial, "Connect here directly (ip:port), no proxy");
  auto* proxy = app.add_option("--proxy", opt.proxy, "CONNECT proxy (ip:port)");
  dial->excludes(proxy);
  app.add_option("--path", opt.path, "Request path");
  app.add_option("--ca", opt.ca_bundle, "PEM bundle to trust (upstream or proxy CA)")->required();
  app.add_option("--connections", opt.connections, "Concurrent keep-alive connections")
      ->check(CLI::Range(1, 512));
  app.add_option(
         "--requests-per-connection", opt.requests_per_connection,
         "Close after this many requests (1 = a new CONNECT + TLS handshake per request; 0 = keep)")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--seconds", opt.seconds, "Duration")->check(CLI::Range(0.1, 600.0));
  if (auto code = bottle::parse_command_line(app, argc, argv, "bottle-loadgen")) return *code;
  if (opt.dial.empty() && opt.proxy.empty()) {
    std::fprintf(stderr, "bottle-loadgen: usage: one of --dial or --proxy is required\n");
    return 2;
  }
  return bottle::loadgen::run(opt);
}
