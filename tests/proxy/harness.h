// End-to-end helpers for bottle-egress tests: a scratch directory with minted certs, an
// nginx upstream on loopback, the proxy as a child process (listening sockets handed over
// as fd:3 / fd:4, so no port races), curl runs, raw sockets, and bounded polling.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/support.h"

namespace bottle::test {

std::string egress_binary();

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
};
// Runs argv (no shell) and captures stdout; stderr goes to `stderr_path` if given.
CommandResult run(const std::vector<std::string>& argv, const std::string& stderr_path = "",
                  const std::map<std::string, std::string>& env = {});

// An absolute-form WebSocket upgrade to `authority` through the proxy on `proxy_port`
// (`extra_headers`: whole lines). The socket after a 101, or -1; `response` gets the head
// and any bytes that came with it. Receives time out after 5 s.
int open_websocket_via(uint16_t proxy_port, const std::string& authority, const std::string& path,
                       const std::string& extra_headers = "", std::string* response = nullptr);

// A helper process whose first stdout line carries the port it listens on
// (bottle-connect-relay, ws_peer.py). Killed on destruction.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& log_path = "");
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  uint16_t port = 0;

 private:
  pid_t pid_ = -1;
};

// Bottle CA (ca.pem/ca-key.pem) and an upstream CA + server cert for api.test & co.
void mint_test_pki(const std::string& dir);

// nginx on loopback: TLS and plain ports, echoing what it received, and a TLS port that
// also speaks h2 (ALPN).
class Nginx {
 public:
  explicit Nginx(const std::string& dir);
  ~Nginx();
  uint16_t tls_port() const { return tls_port_; }
  uint16_t plain_port() const { return plain_port_; }
  uint16_t h2_port() const { return h2_port_; }
  bool ok() const { return pid_ > 0; }

 private:
  void start(const std::string& dir);
  pid_t pid_ = -1;
  uint16_t tls_port_ = 0;
  uint16_t plain_port_ = 0;
  uint16_t h2_port_ = 0;
};

class Egress {
 public:
  // The sockets arrive as fd 3 and 4: named on the command line (fd:3 / fd:4), or with
  // `listen_fds` through LISTEN_FDS=2 / LISTEN_FDNAMES=egress:admin.
  Egress(const std::string& dir, const std::string& routes_path,
         std::vector<std::string> extra_args, std::map<std::string, std::string> env,
         bool listen_fds = false);
  ~Egress();
  bool wait_healthy();
  uint16_t port() const { return port_; }
  uint16_t admin_port() const { return admin_port_; }
  pid_t pid() const { return pid_; }
  std::string log() const;
  std::string metrics() const { return http_get(admin_port_, "/metrics"); }
  // The sample's value, or nullopt when /metrics lacks it (so no comparison passes on a
  // metric that is not there).
  std::optional<uint64_t> metric(const std::string& sample) const;
  void signal(int sig) const;
  // Waits for the process to exit by itself: its exit status, or -1 after `limit`.
  int wait_exit(std::chrono::milliseconds limit);
  long rss_kib() const;

 private:
  std::string log_path_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
};

// curl through the proxy (CONNECT for https, absolute-form for http); returns exit code
// and stdout ("-w" output appended when given). HTTP/1.1 unless `args` has --http2.
CommandResult curl_via(uint16_t proxy_port, const std::string& ca,
                       const std::vector<std::string>& args);

}  // namespace bottle::test
