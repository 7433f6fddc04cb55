// One TCP connection on a libuv loop, optionally with TLS on top: plaintext in and out,
// backpressure numbers, and a single close path. Callbacks into the Handler are the only
// way out; the object stays valid until Handler::on_closed, which is always called from a
// later loop iteration, so a handler may close from inside any callback.
#pragma once

#include <openssl/ssl.h>
#include <uv.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/loop_timer.h"
#include "proxy/tls_channel.h"

namespace bottle::proxy {

class Transport {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void on_data(Transport& t, std::string_view plain) = 0;
    virtual void on_eof(Transport& t) = 0;
    virtual void on_error(Transport& t, std::string_view why) = 0;
    virtual void on_ready(Transport& /*t*/) {}    // connected (and TLS handshake done)
    virtual void on_drained(Transport& /*t*/) {}  // write queue fell below kLowWater
    virtual void on_closed(Transport& t) = 0;
  };

  // Write-queue bounds for backpressure: above kHighWater the other side stops reading.
  static constexpr size_t kHighWater = 1 << 20;
  static constexpr size_t kLowWater = 256 << 10;

  Transport(uv_loop_t* loop, Handler* handler);
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  ~Transport();

  int accept(uv_stream_t* server);
  // TCP connect; on_ready when done (after start_tls_client's handshake, if any).
  void connect(const sockaddr* addr, bssl::UniquePtr<SSL> client_tls = nullptr);
  // Switches an accepted connection to TLS (we are the server). `early` is ciphertext
  // already read.
  void start_tls_server(bssl::UniquePtr<SSL> ssl, std::string_view early);

  void start_reading();
  void stop_reading();
  bool reading() const { return reading_; }

  // Copies what it keeps: callers may pass views of their own buffers.
  void write(std::string_view data);
  size_t queued() const;
  // While corked, writes collect into one buffer and go out (as one TLS record run and
  // one syscall) at the matching uncork(): a response head, body and last chunk produced
  // in one callback cost one write. Large pieces on TLS are encrypted at once (their
  // records are full anyway) and only their ciphertext waits.
  void cork() { ++cork_; }
  void uncork();
  void close();
  // Sends what is queued, then half-closes and reads away what the peer still sends for a
  // short while before closing: closing with unread input would reset the connection
  // and could destroy our answer (a block, an error) before the peer reads it.
  void close_after_flush();
  bool closing() const { return closing_ || flush_then_close_; }
  // What the failure reported to Handler::on_error was, so handlers branch on a kind and
  // never on the text.
  enum class Failure { socket, tls_handshake, tls };
  Failure failure() const { return failure_; }
  bool is_tls() const { return tls_ != nullptr; }
  SSL* ssl() const { return tls_ ? tls_->ssl() : nullptr; }
  void set_handler(Handler* h) { handler_ = h; }

 private:
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);
  static void on_connect(uv_connect_t* req, int status);
  static void on_close(uv_handle_t* h);
  static void on_shutdown(uv_shutdown_t* req, int status);
  void linger();

  void on_cipher(std::string_view data);
  void pump_tls();
  void flush_cipher();
  void raw_write(std::string_view data);
  void write_now(std::string_view data);
  bool seal(std::string_view data);  // TLS-encrypts into the pending ciphertext
  void fail(Failure kind, std::string_view why);

  uv_tcp_t tcp_;
  Handler* handler_;
  std::unique_ptr<TlsChannel> tls_;
  bool reading_ = false;
  bool closing_ = false;
  Failure failure_ = Failure::socket;
  bool connecting_ = false;
  bool in_pump_ = false;
  bool eof_seen_ = false;
  bool flush_then_close_ = false;
  size_t writes_in_flight_ = 0;
  int cork_ = 0;
  std::string corked_;
  std::unique_ptr<LoopTimer> linger_timer_;
  static constexpr uint64_t kLingerMs = 2000;
  // Corked writes at least this large are encrypted at once instead of copied (TLS only).
  static constexpr size_t kSealAtOnce = 16 * 1024;
};

// Corks a transport for the scope of one callback.
class CorkScope {
 public:
  explicit CorkScope(Transport& t) : t_(t) { t_.cork(); }
  ~CorkScope() { t_.uncork(); }
  CorkScope(const CorkScope&) = delete;
  CorkScope& operator=(const CorkScope&) = delete;

 private:
  Transport& t_;
};

}  // namespace bottle::proxy
