#include "supervise/http_server.h"

#include <memory>

#include "common/http/http1_response.h"
#include "common/log.h"

namespace bottle::supervise {
namespace {

constexpr size_t kMaxBuffered = 2 * kMaxBodyBytes;  // pipelined bytes held while busy

}  // namespace

// One client connection. Owns its uv handles; deletes itself after both are closed.
class HttpServer::Connection {
 public:
  Connection(HttpServer& server) : server_(server) {
    uv_tcp_init(server.loop_, &tcp_);
    uv_timer_init(server.loop_, &timer_);
    tcp_.data = this;
    timer_.data = this;
    server_.connections_.insert(this);
  }

  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }

  void start() {
    uv_read_start(stream(), &Connection::on_alloc, &Connection::on_read);
    arm_timer();
  }

  // Closes the socket; a tool call still waiting on this connection is cancelled.
  void close() {
    if (closing_) return;
    closing_ = true;
    server_.connections_.erase(this);
    uv_timer_stop(&timer_);
    auto ex = std::move(exchange_);
    if (ex) ex->client_gone();
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &Connection::on_handle_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Connection::on_handle_closed);
  }

  // The Exchange McpServer answers through; lives as long as someone holds it.
  class ConnExchange : public Exchange {
   public:
    ConnExchange(Connection* conn, bool keep_alive) : conn_(conn), keep_alive_(keep_alive) {}

    void reply(int status, std::string_view content_type, std::string_view body,
               std::vector<std::pair<std::string, std::string>> headers) override {
      if (!conn_ || started_) return;
      started_ = true;
      const bool close = !keep_alive_;
      conn_->write(http_response(status, content_type, body, headers, close));
      finish(close);
    }
    void start_events(std::vector<std::pair<std::string, std::string>> headers) override {
      if (!conn_ || started_) return;
      started_ = streaming_ = true;
      std::string head =
          "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n";
      for (const auto& [name, value] : headers) head += name + ": " + value + "\r\n";
      if (!keep_alive_) head += "Connection: close\r\n";
      conn_->write(head + "\r\n");
    }
    void event(const nlohmann::json& message) override {
      if (!conn_ || !streaming_) return;
      conn_->write(chunk_frame("event: message\ndata: " +
                         message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                         "\n\n"));
    }
    void end_events() override {
      if (!conn_ || !streaming_) return;
      conn_->write(std::string(kLastChunk));
      finish(!keep_alive_);
    }
    void abort() override {
      if (!conn_) return;
      Connection* c = conn_;
      conn_ = nullptr;
      c->close();
    }
    bool open() const override { return conn_ != nullptr; }
    void on_close(std::function<void()> fn) override { on_close_ = std::move(fn); }

    // The connection closed under this exchange (client gone, server shutting down).
    void client_gone() {
      if (!conn_) return;
      conn_ = nullptr;
      if (auto fn = std::move(on_close_)) fn();
    }

   private:
    void finish(bool close) {
      Connection* c = conn_;
      conn_ = nullptr;
      c->exchange_finished(close);
    }

    Connection* conn_;
    bool keep_alive_;
    bool started_ = false;
    bool streaming_ = false;
    std::function<void()> on_close_;
  };

 private:
  static void on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
    static thread_local char buffer[64 * 1024];
    buf->base = buffer;
    buf->len = sizeof buffer;
  }

  static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
    auto* self = static_cast<Connection*>(s->data);
    if (n < 0) {
      // EOF or error. A request cut off mid-way gets no answer: there is nobody to read it.
      self->close();
      return;
    }
    if (n == 0) return;
    self->in_.append(buf->base, static_cast<size_t>(n));
    if (self->in_.size() > kMaxBuffered) uv_read_stop(self->stream());
    self->process();
  }

  static void on_timer(uv_timer_t* t) {
    auto* self = static_cast<Connection*>(t->data);
    if (self->exchange_) return;  // a tool call waits: its own deadline applies
    if (self->reader_.in_request() || !self->in_.empty()) {
      self->write(http_response(408, "text/plain", "request not received in time\n", {}, true));
      self->close_after_write_ = true;
      self->maybe_close();
    } else {
      self->close();
    }
  }

  static void on_handle_closed(uv_handle_t* h) {
    auto* self = static_cast<Connection*>(h->data);
    if (++self->handles_closed_ == 2) delete self;
  }

  struct WriteReq {
    uv_write_t req;
    std::string data;
    Connection* conn;
  };

  static void on_write(uv_write_t* r, int status) {
    std::unique_ptr<WriteReq> req(reinterpret_cast<WriteReq*>(r));
    Connection* self = req->conn;
    --self->writes_pending_;
    if (status < 0) {
      self->close();
      return;
    }
    self->maybe_close();
  }

  void write(std::string data) {
    if (closing_) return;
    auto* req = new WriteReq{};
    req->data = std::move(data);
    req->conn = this;
    uv_buf_t b = uv_buf_init(req->data.data(), static_cast<unsigned>(req->data.size()));
    if (uv_write(&req->req, stream(), &b, 1, &Connection::on_write) != 0) {
      delete req;
      close();
      return;
    }
    ++writes_pending_;
  }

  void maybe_close() {
    if (close_after_write_ && writes_pending_ == 0) close();
  }

  void arm_timer() {
    if (closing_) return;
    auto limit = reader_.in_request() || !in_.empty() ? server_.limits_.request_timeout
                                                      : server_.limits_.idle_timeout;
    uv_timer_start(&timer_, &Connection::on_timer, static_cast<uint64_t>(limit.count()), 0);
  }

  void exchange_finished(bool close) {
    exchange_.reset();
    if (close) {
      close_after_write_ = true;
      maybe_close();
      return;
    }
    if (!in_processing_) process();
  }

  // Parses buffered bytes into requests, one at a time.
  void process() {
    in_processing_ = true;
    while (!closing_ && !exchange_ && !close_after_write_ && !in_.empty()) {
      auto out = reader_.feed(in_);
      in_.erase(0, out.consumed);
      if (reader_.take_continue_request()) write("HTTP/1.1 100 Continue\r\n\r\n");
      if (out.state == RequestReader::State::failed) {
        log::warn("http_refused",
                  {{"status", reader_.error_status()}, {"why", reader_.error_reason()}});
        write(http_response(reader_.error_status(), "text/plain", reader_.error_reason() + "\n", {},
                            true));
        close_after_write_ = true;
        maybe_close();
        break;
      }
      if (out.state != RequestReader::State::complete) break;
      HttpRequest req = reader_.take();
      auto ex = std::make_shared<ConnExchange>(this, req.keep_alive);
      exchange_ = ex;
      server_.mcp_.handle(req, ex);
      if (closing_) break;
    }
    in_processing_ = false;
    if (!closing_) {
      if (in_.size() <= kMaxBuffered && !close_after_write_) {
        uv_read_start(stream(), &Connection::on_alloc, &Connection::on_read);
      }
      arm_timer();
    }
  }

  HttpServer& server_;
  uv_tcp_t tcp_{};
  uv_timer_t timer_{};
  RequestReader reader_;
  std::string in_;
  std::shared_ptr<ConnExchange> exchange_;
  int handles_closed_ = 0;
  int writes_pending_ = 0;
  bool closing_ = false;
  bool close_after_write_ = false;
  bool in_processing_ = false;
};

HttpServer::HttpServer(uv_loop_t* loop, McpServer& mcp, HttpLimits limits)
    : loop_(loop), mcp_(mcp), limits_(limits) {}

HttpServer::~HttpServer() {
  close();
}

Status HttpServer::start(int listen_fd) {
  uv_tcp_init(loop_, &listener_);
  listener_.data = this;
  listening_ = true;
  int r = uv_tcp_open(&listener_, listen_fd);
  if (r == 0) {
    r = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 128, &HttpServer::on_connection);
  }
  if (r != 0) return Error{std::string("listen: ") + uv_strerror(r)};
  return OkStatus();
}

void HttpServer::close() {
  if (listening_) uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
  listening_ = false;
  auto all = connections_;
  for (Connection* c : all) c->close();
}

void HttpServer::on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  auto* self = static_cast<HttpServer*>(server->data);
  auto* conn = new Connection(*self);  // deletes itself once closed
  if (uv_accept(server, conn->stream()) != 0) {
    conn->close();
    return;
  }
  if (self->connections_.size() > self->limits_.max_connections) {
    log::warn("http_refused", {{"why", "too many connections"}});
    conn->close();
    return;
  }
  uv_tcp_nodelay(reinterpret_cast<uv_tcp_t*>(conn->stream()), 1);
  conn->start();
}

}  // namespace bottle::supervise
