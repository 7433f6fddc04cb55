// The HTTP/1.1 side of bottle-supervise on libuv: accepts connections on the listening
// socket, reads one request at a time (RequestReader), hands it to McpServer and writes
// what comes back: a whole response, or a chunked text/event-stream for a tool call that
// reports progress. Keep-alive and pipelining work; a client that goes away while its
// tool call waits cancels the call.
//
// Bounds: 128 connections (more are closed at once), 30 s to send a whole request,
// 120 s idle between requests; no limit while a tool call waits (the tool bounds that).
#pragma once

#include <uv.h>

#include <chrono>
#include <set>

#include "common/result.h"
#include "supervise/mcp.h"

namespace bottle::supervise {

struct HttpLimits {
  size_t max_connections = 128;
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds idle_timeout{120'000};
};

class HttpServer {
 public:
  HttpServer(uv_loop_t* loop, McpServer& mcp, HttpLimits limits = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Adopts a listening socket (see common/listen.h).
  Status start(int listen_fd);
  // Stops accepting and closes every connection (their tool calls are cancelled).
  void close();

  class Connection;

 private:
  static void on_connection(uv_stream_t* server, int status);

  uv_loop_t* loop_;
  McpServer& mcp_;
  HttpLimits limits_;
  uv_tcp_t listener_{};
  bool listening_ = false;
  std::set<Connection*> connections_;
  friend class Connection;
};

}  // namespace bottle::supervise
