#include "common/http/admin_server.h"

#include <unistd.h>

#include <memory>

#include "common/http/http1_response.h"

namespace bottle {
namespace {

// One admin request: read the head, answer, close. Deletes itself in the close callback.
struct AdminConn {
  uv_tcp_t tcp{};
  const AdminServer* server = nullptr;
  std::string in;
  bool answered = false;

  static void on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
    static thread_local char buffer[4096];
    buf->base = buffer;
    buf->len = sizeof buffer;
  }
  static void on_close(uv_handle_t* h) { delete static_cast<AdminConn*>(h->data); }
  void close() {
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp))) {
      uv_close(reinterpret_cast<uv_handle_t*>(&tcp), &AdminConn::on_close);
    }
  }
  static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
    auto* self = static_cast<AdminConn*>(s->data);
    if (n < 0) {
      self->close();
      return;
    }
    if (self->answered) return;
    self->in.append(buf->base, static_cast<size_t>(n));
    size_t end = self->in.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (self->in.size() > 16 * 1024) self->close();
      return;
    }
    self->answered = true;
    uv_read_stop(s);
    std::string reply = self->server->answer(std::string_view(self->in).substr(0, end));
    auto* req = new WriteReq{};
    req->data = std::move(reply);
    req->conn = self;
    uv_buf_t b = uv_buf_init(req->data.data(), static_cast<unsigned>(req->data.size()));
    if (uv_write(&req->req, s, &b, 1, &AdminConn::on_write) != 0) {
      delete req;
      self->close();
    }
  }
  struct WriteReq {
    uv_write_t req;
    std::string data;
    AdminConn* conn;
  };
  static void on_write(uv_write_t* r, int) {
    std::unique_ptr<WriteReq> req(reinterpret_cast<WriteReq*>(r));
    req->conn->close();
  }
};

}  // namespace

AdminServer::AdminServer(uv_loop_t* loop, Pages pages) : loop_(loop), pages_(std::move(pages)) {}

Status AdminServer::start(int listen_fd) {
  uv_tcp_init(loop_, &listener_);
  listener_.data = this;
  open_ = true;
  int r = uv_tcp_open(&listener_, listen_fd);
  if (r == 0)
    r = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 128, &AdminServer::on_connection);
  if (r != 0) return Error{std::string("admin listen: ") + uv_strerror(r)};
  return OkStatus();
}

void AdminServer::close() {
  if (open_) uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
  open_ = false;
}

void AdminServer::on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  auto* self = static_cast<AdminServer*>(server->data);
  auto* conn = new AdminConn{};  // deletes itself on close
  conn->server = self;
  uv_tcp_init(self->loop_, &conn->tcp);
  conn->tcp.data = conn;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&conn->tcp)) != 0) {
    conn->close();
    return;
  }
  uv_read_start(reinterpret_cast<uv_stream_t*>(&conn->tcp), &AdminConn::on_alloc,
                &AdminConn::on_read);
}

std::string AdminServer::answer(std::string_view head) const {
  const std::string_view line = head.substr(0, head.find("\r\n"));
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) {
    return simple_response(400, "Bad Request", "text/plain", "bad request\n", true);
  }
  return respond(line.substr(0, sp1), line.substr(sp1 + 1, sp2 - sp1 - 1));
}

std::string AdminServer::respond(std::string_view method, std::string_view path) const {
  if (method != "GET") {
    return simple_response(405, "Method Not Allowed", "text/plain", "only GET\n", true,
                           "Allow: GET\r\n");
  }
  if (path == "/healthz") return simple_response(200, "OK", "text/plain", "ok\n", true);
  if (path == "/metrics") {
    return simple_response(200, "OK", "text/plain; version=0.0.4", pages_.metrics(), true);
  }
  if (path == "/routes" && pages_.routes)
    return simple_response(200, "OK", "application/yaml", pages_.routes(), true);
  if (path == "/reload" && pages_.reload)
    return simple_response(200, "OK", "application/json", pages_.reload(), true);
  return simple_response(404, "Not Found", "text/plain", "not found\n", true);
}

}  // namespace bottle
