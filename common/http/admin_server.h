// The admin listener of a daemon (SPEC §4.5; never reachable by the agent): GET /healthz,
// /metrics and, when the daemon has them, /routes and /reload. Runs on the control loop,
// so a slow scrape never delays the traffic the daemon serves.
#pragma once

#include <uv.h>

#include <functional>
#include <string>

#include "common/result.h"

namespace bottle {

class AdminServer {
 public:
  struct Pages {
    std::function<std::string()> metrics;  // Prometheus text
    std::function<std::string()> routes;   // effective routes as YAML; empty: no /routes
    std::function<std::string()> reload;   // config reload state as JSON; empty: no /reload
  };

  AdminServer(uv_loop_t* loop, Pages pages);
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Adopts a listening socket.
  Status start(int listen_fd);
  void close();

  // The response to one request head (the bytes before the blank line); exposed for the
  // fuzz target.
  std::string answer(std::string_view head) const;
  // The response for one request line's method and path; exposed for tests.
  std::string respond(std::string_view method, std::string_view path) const;

 private:
  static void on_connection(uv_stream_t* server, int status);
  uv_loop_t* loop_;
  Pages pages_;
  uv_tcp_t listener_{};
  bool open_ = false;
};

}  // namespace bottle
