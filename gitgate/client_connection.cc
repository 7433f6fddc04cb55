#include "gitgate/client_connection.h"

#include <arpa/inet.h>

namespace bottle::gitgate {
namespace {

struct WriteReq {
  uv_write_t req;
  std::string data;
};

std::string peer_of(uv_tcp_t* tcp) {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace

ClientConnection::ClientConnection(GateContext& ctx)
    : ctx_(ctx), deadline_(ctx.loop, [this] { on_deadline(); }) {
  uv_tcp_init(ctx.loop, &tcp_);
  tcp_.data = this;
  ctx_.metrics.active_connections.fetch_add(1, std::memory_order_relaxed);
}

ClientConnection::~ClientConnection() {
  ctx_.metrics.active_connections.fetch_sub(1, std::memory_order_relaxed);
}

void ClientConnection::accept(uv_stream_t* server) {
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&tcp_)) != 0) {
    close_now();
    return;
  }
  uv_tcp_nodelay(&tcp_, 1);
  peer_ = peer_of(&tcp_);
  resume_reading();
}

void ClientConnection::on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  static thread_local char buffer[64 * 1024];
  buf->base = buffer;
  buf->len = sizeof buffer;
}

void ClientConnection::on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* self = static_cast<ClientConnection*>(s->data);
  if (self->ending_) return;
  if (n > 0) {
    self->on_bytes(std::string_view(buf->base, static_cast<size_t>(n)));
  } else if (n < 0) {
    self->pause_reading();
    self->on_client_eof();
  }
}

void ClientConnection::send(std::string_view data) {
  if (ending_ && uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp_))) return;
  if (data.empty()) return;
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  uv_buf_t b = uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
  if (uv_stream_get_write_queue_size(stream) == 0) {
    int n = uv_try_write(stream, &b, 1);
    if (n == static_cast<int>(data.size())) return;
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n != UV_EAGAIN) {
      return;  // the client is gone; its read side will tell us
    }
  }
  auto* req = new WriteReq{};
  req->data.assign(data);
  req->req.data = this;
  b = uv_buf_init(req->data.data(), static_cast<unsigned>(req->data.size()));
  if (uv_write(&req->req, stream, &b, 1, [](uv_write_t* r, int status) {
        std::unique_ptr<WriteReq> done(reinterpret_cast<WriteReq*>(r));
        if (status == UV_ECANCELED) return;  // closing: the connection may be gone
        auto* self = static_cast<ClientConnection*>(r->data);
        if (!self->ending_ && self->send_queued() < ServiceProcess::kLowWater) self->on_drained();
      }) != 0) {
    delete req;
  }
}

size_t ClientConnection::send_queued() const {
  return uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&tcp_));
}

void ClientConnection::pause_reading() {
  if (!reading_) return;
  reading_ = false;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
}

void ClientConnection::resume_reading() {
  if (reading_ || ending_) return;
  reading_ = true;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &ClientConnection::on_alloc,
                &ClientConnection::on_read);
}

void ClientConnection::finish() {
  if (ending_) return;
  ending_ = true;
  deadline_.disarm();
  pause_reading();
  auto* req = new uv_shutdown_t{};
  req->data = this;
  if (uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&tcp_), [](uv_shutdown_t* r, int) {
        auto* self = static_cast<ClientConnection*>(r->data);
        delete r;
        self->ending_ = false;  // let close_now() run
        self->close_now();
      }) != 0) {
    delete req;
    ending_ = false;
    close_now();
  }
}

void ClientConnection::close_now() {
  auto* h = reinterpret_cast<uv_handle_t*>(&tcp_);
  if (uv_is_closing(h)) return;
  ending_ = true;
  deadline_.disarm();
  uv_close(h, [](uv_handle_t* closed) { delete static_cast<ClientConnection*>(closed->data); });
}

}  // namespace bottle::gitgate
