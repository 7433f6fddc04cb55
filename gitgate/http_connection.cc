#include "gitgate/http_connection.h"

#include "common/ascii.h"
#include "common/http/http1_response.h"
#include "common/log.h"

namespace bottle::gitgate {
namespace {

// The largest a gzip request body may inflate to (upload-pack negotiation is small; this
// bounds a zip bomb, not a real request).
constexpr size_t kMaxInflated = 256u << 20;

}  // namespace

HttpConnection::HttpConnection(GateContext& ctx) : ClientConnection(ctx) {
  parser_.set_body_sink([this](std::string_view bytes) { on_body(bytes); });
  arm_deadline(ctx_.config->timeouts.request_ms);
}

HttpConnection::~HttpConnection() {
  *alive_ = false;
  if (child_) child_->detach(kOrphanGraceMs);
}

void HttpConnection::refuse(int status, const std::string& message, bool log_it) {
  if (log_it) {
    ctx_.metrics.bad_requests.fetch_add(1, std::memory_order_relaxed);
    log::warn("gitgate_bad_request",
              {{"protocol", "http"}, {"status", status}, {"reason", message}, {"peer", peer()}});
  }
  state_ = State::done;
  send(simple_response(status, reason_phrase(status), "text/plain; charset=utf-8", message + "\n",
                       true));
  finish();
}

void HttpConnection::on_bytes(std::string_view data) {
  if (state_ == State::head) head_started_ = true;
  in_.append(data);
  // A pipelined request waits, unread, until this response is done (next_request()).
  if (state_ != State::head && state_ != State::body) pause_reading();
  if (state_ == State::body) arm_deadline(ctx_.config->timeouts.request_ms);  // the body is moving
  process();
}

void HttpConnection::process() {
  while (!ending()) {
    if (state_ != State::head && state_ != State::body) return;
    if (state_ == State::body && child_ && child_->in_queued() > ServiceProcess::kHighWater) {
      pause_reading();  // in_drained resumes
      disarm_deadline();
      return;
    }
    const auto outcome = parser_.feed(in_);
    in_.erase(0, outcome.consumed);
    switch (outcome.status) {
      case Http1Parser::Status::need_more:
        return;
      case Http1Parser::Status::error:
        return refuse(parser_.error_status(), "gitgate: " + parser_.error_reason(), true);
      case Http1Parser::Status::upgrade:
        return refuse(400, "gitgate: protocol upgrades are not served", true);
      case Http1Parser::Status::head:
        handle_head(parser_.take_head());
        break;
      case Http1Parser::Status::message_end:
        body_done_ = true;
        if (route_.kind == HttpRoute::Kind::rpc) {
          if (gunzip_) {
            std::string tail;
            if (auto st = gunzip_->finish(tail); !st)
              return refuse(400, "gitgate: bad gzip body: " + st.error(), true);
            if (child_) child_->write_in(tail);
          }
          if (child_) child_->close_in();
          state_ = State::responding;
          arm_deadline(ctx_.config->timeouts.idle_ms);
          maybe_end_response();
          return;
        }
        // An advertisement: reads of upload-pack wait for a fresh fetch first.
        disarm_deadline();
        if (route_.service == Service::upload_pack) {
          state_ = State::fetching;
          ctx_.queue(*route_.repo).want_fresh([this, alive = alive_](const FetchOutcome& fetched) {
            if (!*alive) return;
            if (!fetched.ok) {
              refuse(502,
                     "gitgate: fetch from the upstream failed, so nothing is served (no stale "
                     "data):\n" +
                         fetched.error,
                     false);
              return;
            }
            start_child();
          });
        } else {
          start_child();
        }
        return;
    }
  }
}

void HttpConnection::handle_head(const MessageHead& head) {
  auto routed = route_http(head, *ctx_.config);
  if (auto* no = std::get_if<HttpRefusal>(&routed))
    return refuse(no->status, "gitgate: " + no->message, true);
  route_ = std::get<HttpRoute>(routed);
  keep_alive_ = head.keep_alive;
  chunked_ = head.http_minor >= 1;
  if (!chunked_) keep_alive_ = false;
  ctx_.metrics.http_requests.fetch_add(1, std::memory_order_relaxed);
  log::info("gitgate_request",
            {{"protocol", "http"},
             {"service", std::string(service_name(route_.service))},
             {"repo", route_.repo->name},
             {"kind", route_.kind == HttpRoute::Kind::rpc ? "rpc" : "advertisement"},
             {"peer", peer()}});
  state_ = State::body;
  arm_deadline(ctx_.config->timeouts.request_ms);
  if (route_.kind != HttpRoute::Kind::rpc) return;
  if (route_.gzip) {
    auto decoder = dlp::BodyDecoder::create("gzip", kMaxInflated);
    if (!decoder) return refuse(500, "gitgate: " + decoder.error(), false);
    gunzip_ = std::move(*decoder);
  }
  if (auto expect = head.header("expect"); expect && ascii_lower(*expect) == "100-continue") {
    send("HTTP/1.1 100 Continue\r\n\r\n");
  }
  start_child();  // the body streams into it as it arrives
}

void HttpConnection::on_body(std::string_view bytes) {
  if (!child_ || state_ != State::body) return;
  if (!gunzip_) {
    child_->write_in(bytes);
    return;
  }
  std::string plain;
  if (auto st = gunzip_->feed(bytes, plain); !st) {
    refuse(400, "gitgate: bad gzip body: " + st.error(), true);
    return;
  }
  child_->write_in(plain);
}

void HttpConnection::start_child() {
  const bool advertise = route_.kind == HttpRoute::Kind::advertisement;
  ServiceProcess::Handlers h;
  h.out = [this](std::string_view bytes) { child_out(bytes); };
  h.out_end = [this] {
    child_out_ended_ = true;
    maybe_end_response();
  };
  h.exited = [this](int status) {
    child_exited_ = true;
    child_status_ = status;
    maybe_end_response();
  };
  h.in_drained = [this] {
    if (state_ == State::body) {
      resume_reading();
      process();
    }
  };
  auto child = ServiceProcess::start(
      ctx_.loop, ctx_.service_spec(*route_.repo, route_.service, true, advertise, route_.protocol),
      std::move(h));
  if (!child) {
    log::error("gitgate_spawn_failed", {{"repo", route_.repo->name}, {"error", child.error()}});
    return refuse(500, "gitgate: internal error starting git", false);
  }
  child_ = *child;
  if (advertise) {
    child_->close_in();
    state_ = State::responding;
    arm_deadline(ctx_.config->timeouts.idle_ms);
  }
}

void HttpConnection::child_out(std::string_view bytes) {
  arm_deadline(ctx_.config->timeouts.idle_ms);
  if (!response_started_) {
    response_started_ = true;
    const bool advertise = route_.kind == HttpRoute::Kind::advertisement;
    const std::string service(service_name(route_.service));
    std::string head = "HTTP/1.1 200 OK\r\n";
    append_header(head, "Content-Type",
                  "application/x-" + service + (advertise ? "-advertisement" : "-result"));
    append_header(head, "Cache-Control", "no-cache");
    if (chunked_) append_header(head, "Transfer-Encoding", "chunked");
    if (!keep_alive_) append_header(head, "Connection", "close");
    head += "\r\n";
    send(head);
    // Protocol v0/v1 advertisements start with the service line; v2 (upload-pack only)
    // starts with its capabilities.
    if (advertise && !(route_.service == Service::upload_pack &&
                       route_.protocol.find("version=2") != std::string::npos)) {
      std::string prefix = pkt_line("# service=" + service + "\n") + std::string(kFlushPkt);
      send(chunked_ ? chunk_frame(prefix) : prefix);
    }
  }
  if (bytes.empty()) return;
  send(chunked_ ? chunk_frame(bytes) : std::string(bytes));
  if (child_ && send_queued() > ServiceProcess::kHighWater) child_->pause_out();
}

void HttpConnection::maybe_end_response() {
  if (!child_exited_ || !child_out_ended_ || !body_done_ || state_ == State::done) return;
  ServiceProcess* child = std::exchange(child_, nullptr);
  child->detach(0);
  if (child_status_ != 0) {
    if (!response_started_) {
      // git's own words name host paths: they stay in the gate's log (gitgate_child_stderr).
      return refuse(500,
                    "gitgate: " + std::string(service_name(route_.service)) +
                        " failed on the gate (status " + std::to_string(child_status_) +
                        "); see its log",
                    false);
    }
    state_ = State::done;
    close_now();  // no last chunk: the client sees a cut response, never a clean one
    return;
  }
  if (!response_started_) child_out("");
  if (chunked_) send(kLastChunk);
  if (!keep_alive_) {
    state_ = State::done;
    finish();
    return;
  }
  next_request();
}

void HttpConnection::next_request() {
  state_ = State::head;
  route_ = HttpRoute{};
  body_done_ = response_started_ = child_exited_ = child_out_ended_ = head_started_ = false;
  child_status_ = 0;
  gunzip_.reset();
  parser_.resume_next();
  arm_deadline(ctx_.config->timeouts.request_ms);
  resume_reading();
  process();
}

void HttpConnection::on_client_eof() {
  close_now();
}

void HttpConnection::on_deadline() {
  ctx_.metrics.timeouts.fetch_add(1, std::memory_order_relaxed);
  const char* phase = state_ == State::head ? "request" : state_ == State::body ? "body" : "idle";
  log::warn("gitgate_timeout", {{"protocol", "http"}, {"phase", phase}, {"peer", peer()}});
  if (state_ == State::head && head_started_) {
    refuse(408, "gitgate: request head not received in time", false);
    return;
  }
  close_now();
}

void HttpConnection::on_drained() {
  if (child_) child_->resume_out();
}

}  // namespace bottle::gitgate
