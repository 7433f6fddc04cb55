#include "proxy/transport.h"

#include <cstdlib>
#include <utility>

namespace bottle::proxy {
namespace {

constexpr size_t kReadBuffer = 64 * 1024;

// Reads complete synchronously inside the loop thread, so one buffer per thread serves
// every connection of that loop; idle connections hold no read buffer.
thread_local char tls_read_buffer[kReadBuffer];

// Decrypted plaintext is handed out from a per-thread buffer too. A pump can nest (a
// handler resumes another transport), so only the outermost pump uses the shared one.
// It holds the records of one socket read (4 full TLS records), handed on as one chunk.
constexpr size_t kPlainChunk = kReadBuffer;
thread_local char plain_buffer[kPlainChunk];
thread_local int pump_depth = 0;

struct WriteReq {
  uv_write_t req;
  std::string data;
};

struct ConnectReq {
  uv_connect_t req;
  bssl::UniquePtr<SSL> tls;
};

}  // namespace

Transport::Transport(uv_loop_t* loop, Handler* handler) : handler_(handler) {
  uv_tcp_init(loop, &tcp_);
  tcp_.data = this;
}

Transport::~Transport() = default;  // owners destroy us only after on_closed

int Transport::accept(uv_stream_t* server) {
  int r = uv_accept(server, reinterpret_cast<uv_stream_t*>(&tcp_));
  if (r == 0) uv_tcp_nodelay(&tcp_, 1);
  return r;
}

void Transport::connect(const sockaddr* addr, bssl::UniquePtr<SSL> client_tls) {
  auto* req = new ConnectReq{};  // freed in on_connect, which libuv always calls
  req->req.data = this;
  req->tls = std::move(client_tls);
  connecting_ = true;
  int r = uv_tcp_connect(&req->req, &tcp_, addr, &Transport::on_connect);
  if (r != 0) {
    delete req;
    connecting_ = false;
    fail(Failure::socket, std::string("connect: ") + uv_strerror(r));
  }
}

void Transport::on_connect(uv_connect_t* raw, int status) {
  std::unique_ptr<ConnectReq> req(reinterpret_cast<ConnectReq*>(raw));
  auto* self = static_cast<Transport*>(raw->data);
  self->connecting_ = false;
  if (self->closing_) return;
  if (status != 0) {
    self->fail(Failure::socket, std::string("connect: ") + uv_strerror(status));
    return;
  }
  uv_tcp_nodelay(&self->tcp_, 1);
  if (req->tls) {
    self->tls_ = std::make_unique<TlsChannel>(std::move(req->tls));
    SSL_set_connect_state(self->tls_->ssl());
    self->start_reading();
    self->pump_tls();
    return;
  }
  self->start_reading();
  self->handler_->on_ready(*self);
}

void Transport::start_tls_server(bssl::UniquePtr<SSL> ssl, std::string_view early) {
  tls_ = std::make_unique<TlsChannel>(std::move(ssl));
  SSL_set_accept_state(tls_->ssl());
  on_cipher(early);
}

void Transport::start_reading() {
  if (closing_ || connecting_) return;
  bool was_reading = reading_;
  reading_ = true;
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&tcp_)) && !eof_seen_) {
    uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &Transport::on_alloc, &Transport::on_read);
  }
  // Plaintext may already sit decrypted inside the TLS object from before a pause. A
  // transport that was not paused drained its TLS object in its last pump, so there is
  // nothing to look for (owners call this after every request).
  if (tls_ && !in_pump_ && !was_reading) pump_tls();
}

void Transport::stop_reading() {
  reading_ = false;
  if (!closing_) uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
}

void Transport::on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  buf->base = tls_read_buffer;
  buf->len = kReadBuffer;
}

void Transport::on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* self = static_cast<Transport*>(s->data);
  if (self->closing_) return;
  if (self->flush_then_close_) {  // lingering: drop input, close at EOF
    if (n < 0) self->close();
    return;
  }
  if (n > 0) {
    std::string_view data(buf->base, static_cast<size_t>(n));
    if (self->tls_) {
      self->on_cipher(data);
    } else {
      self->handler_->on_data(*self, data);
    }
    return;
  }
  if (n == UV_EOF) {
    self->eof_seen_ = true;
    uv_read_stop(s);
    self->handler_->on_eof(*self);
  } else if (n < 0) {
    self->fail(Failure::socket, uv_strerror(static_cast<int>(n)));
  }
}

void Transport::on_cipher(std::string_view data) {
  // `data` usually sits in the per-thread read buffer: TLS reads it in place during the
  // pump, and what is left (a partial record, or input of a paused reader) is copied
  // before the buffer serves another read.
  tls_->lend_cipher(data);
  pump_tls();
  tls_->keep_rest();
}

void Transport::pump_tls() {
  if (closing_ || !tls_) return;
  in_pump_ = true;
  if (!tls_->handshake_done()) {
    TlsChannel::Result r = tls_->handshake();
    flush_cipher();
    if (r == TlsChannel::Result::error) {
      in_pump_ = false;
      fail(Failure::tls_handshake, "TLS handshake: " + tls_->error());
      return;
    }
    if (r != TlsChannel::Result::ok) {
      in_pump_ = false;
      return;
    }
    handler_->on_ready(*this);
  }
  // Deliver plaintext while the owner wants it; a paused owner leaves the rest buffered
  // inside the SSL object until start_reading().
  std::unique_ptr<char[]> nested;
  char* plain = plain_buffer;
  if (pump_depth > 0) {
    nested = std::make_unique_for_overwrite<char[]>(kPlainChunk);
    plain = nested.get();
  }
  struct Depth {
    Depth() { ++pump_depth; }
    ~Depth() { --pump_depth; }
  } depth;
  while (reading_ && !closing_) {
    // Collect every record already received (up to kPlainChunk) into one chunk: a relayed
    // body then leaves in one TLS write and one syscall per socket read, not per record.
    // After a record, an empty TLS object needs no SSL_read to say "want more"; the
    // first read of a round is always made, so an EOF or error is never skipped.
    size_t got = 0;
    TlsChannel::Result r = TlsChannel::Result::ok;
    while (got < kPlainChunk) {
      if (got > 0 && !tls_->may_have_more()) {
        r = TlsChannel::Result::want_more;
        break;
      }
      size_t n = 0;
      r = tls_->read(plain + got, kPlainChunk - got, &n);
      if (r != TlsChannel::Result::ok) break;
      got += n;
    }
    if (got > 0) {
      handler_->on_data(*this, std::string_view(plain, got));
      // An EOF or error read after the data is met again by the next round's read, if
      // the handler still reads.
      if (r != TlsChannel::Result::want_more) continue;
    }
    flush_cipher();
    if (r == TlsChannel::Result::closed) {
      eof_seen_ = true;
      in_pump_ = false;
      handler_->on_eof(*this);
      return;
    }
    if (r == TlsChannel::Result::error) {
      in_pump_ = false;
      fail(Failure::tls, tls_->error());
      return;
    }
    break;
  }
  if (!closing_) flush_cipher();
  in_pump_ = false;
}

void Transport::write(std::string_view data) {
  if (closing_ || flush_then_close_ || data.empty()) return;
  if (cork_ == 0) {
    write_now(data);
    return;
  }
  if (tls_ && data.size() >= kSealAtOnce) {
    // A large piece fills whole TLS records by itself: encrypt it now rather than copy it
    // into the cork buffer. Its ciphertext still waits for uncork(), so the piece and
    // what surrounds it leave in one syscall.
    if (!corked_.empty()) {
      std::string before = std::exchange(corked_, std::string());
      if (!seal(before)) return;
    }
    if (!seal(data)) return;
    if (tls_->cipher().size() >= kLowWater) flush_cipher();
    return;
  }
  corked_.append(data);
  if (corked_.size() >= kLowWater) write_now(std::exchange(corked_, std::string()));
}

bool Transport::seal(std::string_view data) {
  if (tls_->write(data)) return true;
  fail(Failure::tls, tls_->error());
  return false;
}

void Transport::uncork() {
  if (--cork_ > 0) return;
  if (closing_) {
    corked_.clear();
    return;
  }
  if (corked_.empty()) {
    flush_cipher();  // pieces sealed while corked
    return;
  }
  std::string out = std::exchange(corked_, std::string());
  write_now(out);
}

void Transport::write_now(std::string_view data) {
  if (tls_) {
    if (seal(data)) flush_cipher();
    return;
  }
  raw_write(data);
}

void Transport::flush_cipher() {
  if (!tls_ || !tls_->has_cipher()) return;
  raw_write(tls_->cipher());
  tls_->consume_cipher();
}

void Transport::raw_write(std::string_view data) {
  if (closing_) return;
  // Most writes fit the socket buffer at once: writing them here skips the write request,
  // the copy it keeps, its deferred callback and the epoll_ctl libuv issues when its
  // write queue drains (one per uv_write). uv_try_write refuses while anything is
  // queued, so order holds. Errors are left to uv_write, which reports them from
  // on_write as before.
  uv_buf_t now = uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
  int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &now, 1);
  if (n == static_cast<int>(data.size())) return;
  if (n > 0) data.remove_prefix(static_cast<size_t>(n));
  auto* req = new WriteReq{};  // freed in on_write, which libuv always calls
  req->data.assign(data);
  req->req.data = this;
  uv_buf_t buf = uv_buf_init(req->data.data(), static_cast<unsigned>(req->data.size()));
  int r = uv_write(&req->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, &Transport::on_write);
  if (r != 0) {
    delete req;
    fail(Failure::socket, std::string("write: ") + uv_strerror(r));
    return;
  }
  ++writes_in_flight_;
}

void Transport::on_write(uv_write_t* raw, int status) {
  std::unique_ptr<WriteReq> req(reinterpret_cast<WriteReq*>(raw));
  auto* self = static_cast<Transport*>(raw->data);
  --self->writes_in_flight_;
  if (self->closing_) return;
  if (status != 0) {
    self->fail(Failure::socket, std::string("write: ") + uv_strerror(status));
    return;
  }
  if (self->flush_then_close_) {
    if (self->writes_in_flight_ == 0) self->linger();
    return;
  }
  if (self->queued() < kLowWater) self->handler_->on_drained(*self);
}

size_t Transport::queued() const {
  return corked_.size() + (tls_ ? tls_->cipher().size() : 0) +
         uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&tcp_));
}

void Transport::fail(Failure kind, std::string_view why) {
  if (closing_) return;
  failure_ = kind;
  handler_->on_error(*this, why);
}

void Transport::close() {
  if (closing_) return;
  closing_ = true;
  reading_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Transport::on_close);
}

void Transport::close_after_flush() {
  if (closing_ || flush_then_close_) return;
  if (!corked_.empty()) {
    std::string out = std::exchange(corked_, std::string());
    write_now(out);
  }
  if (tls_) {
    tls_->shutdown();  // close_notify
    flush_cipher();
  }
  flush_then_close_ = true;
  if (writes_in_flight_ == 0) linger();
}

void Transport::linger() {
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  auto* req = new uv_shutdown_t{};  // freed in on_shutdown, which libuv always calls
  req->data = this;
  if (uv_shutdown(req, stream, &Transport::on_shutdown) != 0) {
    delete req;
    close();
    return;
  }
  if (!eof_seen_ && !uv_is_active(reinterpret_cast<uv_handle_t*>(&tcp_))) {
    uv_read_start(stream, &Transport::on_alloc, &Transport::on_read);
  }
  if (eof_seen_) return;  // on_shutdown closes
  linger_timer_ = std::make_unique<LoopTimer>(tcp_.loop, [this] { close(); });
  linger_timer_->arm(kLingerMs);
}

void Transport::on_shutdown(uv_shutdown_t* req, int status) {
  auto* self = static_cast<Transport*>(req->data);
  delete req;
  if (self->closing_) return;
  if (status != 0 || self->eof_seen_) self->close();
}

void Transport::on_close(uv_handle_t* h) {
  auto* self = static_cast<Transport*>(h->data);
  self->handler_->on_closed(*self);
}

}  // namespace bottle::proxy
