// One accepted client socket on the event loop: reads, writes with backpressure, one
// deadline timer, and an orderly end (pending writes flushed, then close). The git://
// and smart-HTTP sessions derive from it and supply the protocol. The object deletes
// itself when libuv has closed the socket.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/loop_timer.h"
#include "gitgate/gate_context.h"

namespace bottle::gitgate {

class ClientConnection {
 public:
  explicit ClientConnection(GateContext& ctx);
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // Takes the next connection from `server` and starts reading; on failure the object
  // is already on its way to deletion.
  void accept(uv_stream_t* server);

 protected:
  virtual ~ClientConnection();
  virtual void on_bytes(std::string_view data) = 0;
  virtual void on_client_eof() = 0;
  virtual void on_deadline() = 0;
  virtual void on_drained() {}  // the client's write queue fell under the low mark

  void send(std::string_view data);
  size_t send_queued() const;
  void pause_reading();
  void resume_reading();
  void arm_deadline(uint64_t ms) { deadline_.arm(ms); }
  void disarm_deadline() { deadline_.disarm(); }
  // Flushes what is queued, then closes; no reads or events after this.
  void finish();
  void close_now();
  bool ending() const { return ending_; }
  const std::string& peer() const { return peer_; }

  GateContext& ctx_;

 private:
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);

  uv_tcp_t tcp_{};
  LoopTimer deadline_;
  std::string peer_;
  bool reading_ = false;
  bool ending_ = false;
};

}  // namespace bottle::gitgate
