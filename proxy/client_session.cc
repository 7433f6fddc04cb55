#include "proxy/client_session.h"

#include <algorithm>
#include <optional>

#include "common/log.h"
#include "common/tls/contexts.h"
#include "proxy/evidence.h"
#include "proxy/http1_wire.h"
#include "proxy/worker.h"

namespace bottle::proxy {
namespace {

constexpr std::string_view kConnectEstablished = "HTTP/1.1 200 Connection Established\r\n\r\n";
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr size_t kMaxBufferedInput = 128 * 1024;
// Decoded bytes scanned per compressed body; past this a zip bomb stops being read.
constexpr size_t kMaxDecodedBody = 64u << 20;

bool has_blocking(const std::vector<dlp::Finding>& findings) {
  for (const auto& f : findings) {
    if (f.blocking) return true;
  }
  return false;
}

}  // namespace

void ClientSession::accept(Worker& worker, uv_stream_t* server) {
  auto* s = new ClientSession(worker);  // deletes itself in on_closed
  if (s->client_.accept(server) != 0) {
    s->state_ = State::closing;
    s->client_.close();
    return;
  }
  s->arm_deadline();
  s->client_.start_reading();
}

void ClientSession::arm_deadline() {
  phase_started_ = last_activity_ = uv_now(worker_.loop());
  if (state_ != State::closing) deadline_.arm(phase_check_ms());
}

// Which limit applies may change inside a phase (reads paused and resumed), so the timer
// checks at least as often as the smallest one.
uint64_t ClientSession::phase_check_ms() const {
  const Timeouts& t = worker_.shared().timeouts;
  if (state_ == State::body) return std::min(t.body_ms, t.upstream_ms);
  if (state_ == State::awaiting_response) return std::min(t.client_ms, t.upstream_ms);
  return phase_limit_ms();
}

void ClientSession::touch() {
  last_activity_ = uv_now(worker_.loop());
}

uint64_t ClientSession::phase_limit_ms() const {
  const Timeouts& t = worker_.shared().timeouts;
  switch (state_) {
    case State::head:
    case State::tunnel_choice:
    case State::discard:
      return t.idle_ms;
    case State::dialing:
      return t.connect_ms;
    case State::body:  // reads from the client stop while the upstream is slow to take them
      return client_.reading() ? t.body_ms : t.upstream_ms;
    case State::awaiting_response:  // the upstream is paused while the client is slow to read
      return up_ && up_->paused() ? t.client_ms : t.upstream_ms;
    case State::raw:
      return t.websocket_ms;
    case State::closing:
      break;
  }
  return t.idle_ms;
}

void ClientSession::on_deadline() {
  if (state_ == State::closing) return;
  // Head, idle, dial and a refused body's drain run against the clock; the other phases
  // against silence.
  const bool absolute = state_ == State::head || state_ == State::tunnel_choice ||
                        state_ == State::discard || state_ == State::dialing;
  const uint64_t now = uv_now(worker_.loop());
  const uint64_t since = now - (absolute ? phase_started_ : last_activity_);
  const uint64_t limit = phase_limit_ms();
  if (since < limit) {
    deadline_.arm(std::min(limit - since, phase_check_ms()));
    return;
  }
  static constexpr const char* kPhase[] = {"idle", "tunnel", "connect", "request_body",
                                           "response", "discard", "websocket", "closing"};
  const char* phase = kPhase[static_cast<int>(state_)];
  if (state_ == State::awaiting_response && up_ && up_->paused()) phase = "client_not_reading";
  Metrics& m = worker_.mutable_metrics();
  m.add(m.timeouts);
  if (log_level() != config::LogLevel::off && state_ != State::head) {
    log::warn("egress_timeout", {{"request_id", request_id_},
                                 {"phase", phase},
                                 {"host", verdict_.target.host},
                                 {"seconds", static_cast<double>(limit) / 1000.0}});
  }
  if (response_head_sent_ || state_ == State::head || state_ == State::tunnel_choice ||
      state_ == State::discard || state_ == State::raw ||
      (up_ && up_->paused() && state_ == State::awaiting_response)) {
    abort_all();  // idle, a slow head, a stalled reader: nothing useful left to say
  } else if (state_ == State::body) {
    if (up_) {
      up_->close();  // the upstream must not take a truncated body for a whole one
      up_ = nullptr;
    }
    held_.clear();
    body_lease_.reset();
    client_.write(simple_response(408, "Request Timeout", "text/plain",
                                  "egress: the request body stalled\n", true));
    state_ = State::closing;
    client_.close_after_flush();
  } else {
    respond_error(504, "Gateway Timeout",
                  state_ == State::dialing ? "upstream connect timed out"
                                           : "upstream sent no response in time");
  }
}

ClientSession::ClientSession(Worker& worker)
    : worker_(worker),
      client_(worker.loop(), this),
      deadline_(worker.loop(), [this] { on_deadline(); }),
      req_parser_(std::make_unique<Http1Parser>(Http1Parser::Kind::request)),
      ws_lease_(worker.shared().budget.get()),
      body_lease_(worker.shared().budget.get()) {
  req_parser_->set_body_sink([this](std::string_view c) { on_request_body(c); });
  worker_.mutable_metrics().active_connections.fetch_add(1, std::memory_order_relaxed);
}

config::LogLevel ClientSession::log_level() const {
  const auto& snap = snap_ ? snap_ : worker_.snapshot();
  return snap->routes->log_level;
}

ExchangeFacts ClientSession::facts() const {
  ExchangeFacts f;
  const auto& snap = snap_ ? snap_ : worker_.snapshot();
  f.scanner = snap->scanner.get();
  f.url_scanned = verdict_.url_scanned;
  f.request_id = request_id_;
  f.method = req_.method;
  f.host = verdict_.target.host;
  f.port = verdict_.target.port;
  f.path = verdict_.path;
  f.query = verdict_.query;
  if (verdict_.route) {
    f.rule = verdict_.route->id;
  } else if (!ws_rule_.empty()) {
    f.rule = ws_rule_;
  }
  return f;
}

// ---- client input -------------------------------------------------------------------

void ClientSession::on_data(Transport&, std::string_view data) {
  if (state_ == State::closing) return;
  touch();
  if (state_ == State::raw) {
    relay_ws_to_upstream(data);
    update_client_reading();
    return;
  }
  inbuf_.append(data);
  process_input();
}

void ClientSession::process_input() {
  // A request head and its body (or a burst of pipelined input) leave as one write.
  std::optional<CorkScope> cork_up;
  if (up_) cork_up.emplace(up_->transport());
  while (state_ != State::closing) {
    if (state_ == State::tunnel_choice) {
      if (inbuf_.empty()) break;
      std::string first;
      first.swap(inbuf_);
      choose_tunnel_protocol(first);
      return;
    }
    if (state_ == State::raw) {
      std::string early;
      early.swap(inbuf_);
      if (!early.empty()) relay_ws_to_upstream(early);
      break;
    }
    bool parsing = state_ == State::head || state_ == State::body || state_ == State::discard;
    if (!parsing || (state_ == State::head && inbuf_.empty())) break;
    if (state_ == State::body && !hold_body_ && up_ && up_->queued() > Transport::kHighWater) break;
    // An empty feed still matters: it completes a message that has no body.
    Http1Parser::Outcome out = req_parser_->feed(inbuf_);
    inbuf_.erase(0, out.consumed);
    if (state_ == State::closing) return;  // a body stage blocked
    switch (out.status) {
      case Http1Parser::Status::need_more:
        update_client_reading();
        return;
      case Http1Parser::Status::head:
        on_request_head();
        break;
      case Http1Parser::Status::message_end:
        on_request_end();
        break;
      case Http1Parser::Status::upgrade:  // WebSocket: the rest waits in inbuf_ for the 101
        if (state_ != State::body && state_ != State::discard) {
          abort_all();  // llhttp stays in upgrade mode: nothing more here is HTTP
          return;
        }
        on_request_end();
        break;
      case Http1Parser::Status::error:
        verdict_ = Verdict{};
        block(BlockReason::bad_request, req_parser_->error_status(), req_parser_->error_reason(),
              true);
        return;
    }
  }
  update_client_reading();
}

void ClientSession::update_client_reading() {
  if (state_ == State::closing || client_.closing()) return;
  bool forwarding = (state_ == State::body && !hold_body_) || state_ == State::raw;
  // Reads stay on while a request is in flight (a pipelined one just waits in inbuf_):
  // toggling them per request costs two epoll_ctl calls.
  bool want = state_ != State::closing && inbuf_.size() < kMaxBufferedInput &&
              !(forwarding && up_ && up_->queued() > Transport::kHighWater);
  if (want) {
    client_.start_reading();
  } else {
    client_.stop_reading();
  }
}

// ---- request ------------------------------------------------------------------------

void ClientSession::on_request_head() {
  req_ = req_parser_->take_head();
  snap_ = worker_.snapshot();
  request_id_ = worker_.next_request_id();
  started_ = std::chrono::steady_clock::now();
  Metrics& m = worker_.mutable_metrics();
  if (!arrival_.tunnel && req_.method == "CONNECT") {
    on_connect_request();
    return;
  }
  m.add(m.requests);
  if (req_.method == "CONNECT") {
    block(BlockReason::bad_request, 400, "CONNECT inside a tunnel", true);
    return;
  }
  verdict_ = evaluate_request(*snap_, req_, arrival_);
  if (!verdict_.findings.empty()) m.add(m.dlp_findings, verdict_.findings.size());
  if (verdict_.block) {
    // A refused request's body is read and dropped so the connection stays usable.
    block(*verdict_.block, verdict_.status, verdict_.detail,
          verdict_.status != 403 || !req_.keep_alive || (req_.has_body() && req_.header("expect")),
          verdict_.findings);
    return;
  }
  log_warn(log_level(), facts(), "outbound", verdict_.findings);

  if (verdict_.body_dlp != config::DlpAction::off && req_.has_body()) {
    bool too_large = req_.content_length && *req_.content_length > verdict_.max_body_bytes;
    if (too_large && !verdict_.stream_large_bodies &&
        verdict_.body_dlp == config::DlpAction::block) {
      block(BlockReason::body_too_large, 403,
            "body of " + std::to_string(*req_.content_length) + " bytes exceeds dlp.max_body_bytes",
            true);
      return;
    }
    out_scan_ = std::make_unique<BodyInspector>(*snap_->scanner, dlp::Direction::outbound, "body",
                                                req_.header("content-encoding"), kMaxDecodedBody);
    // "block" means nothing leaves before the scan said yes: hold the body (bounded, and
    // drawn from the process budget: a declared length is taken at once).
    hold_body_ = verdict_.body_dlp == config::DlpAction::block && !too_large;
    if (hold_body_ && !body_lease_.resize(req_.content_length.value_or(0))) {
      respond_busy();
      return;
    }
  }
  if (req_.has_body()) {
    auto expect = req_.header("expect");
    if (expect && expect->find("100-continue") != std::string::npos)
      client_.write(kContinue);
  }
  log_request(log_level(), facts());

  state_ = State::dialing;
  arm_deadline();
  std::string key = UpstreamConn::pool_key(verdict_.target, verdict_.upstream_tls,
                                           verdict_.route && verdict_.route->allow_private);
  if (UpstreamConn* idle = worker_.take_idle(key)) {
    up_ = idle;
    up_->attach(this);
    reused_upstream_ = true;
    on_upstream_ready(*up_);
    return;
  }
  dial();
  update_client_reading();
}

void ClientSession::dial() {
  bool allow_private = verdict_.route && verdict_.route->allow_private;
  reused_upstream_ = false;
  up_ = UpstreamConn::create(worker_, verdict_.target, verdict_.upstream_tls, allow_private, this);
  up_->start();
}

bool ClientSession::retry_on_fresh_connection() {
  // A pooled connection the server closed while idle fails before any response byte.
  // A request without a body can be sent again as it was, on a new connection.
  if (!reused_upstream_ || response_head_sent_ || req_.has_body() || verdict_.websocket ||
      (state_ != State::awaiting_response && state_ != State::body)) {
    return false;
  }
  if (up_) {
    up_->close();
    up_ = nullptr;
  }
  retrying_ = true;
  state_ = State::dialing;
  arm_deadline();
  dial();
  return true;
}

void ClientSession::on_connect_request() {
  Metrics& m = worker_.mutable_metrics();
  m.add(m.connects);
  verdict_ = evaluate_connect(*snap_, req_.target);
  if (verdict_.block) {
    block(*verdict_.block, verdict_.status, verdict_.detail, true, verdict_.findings);
    return;
  }
  arrival_.tunnel = verdict_.target;
  client_.write(kConnectEstablished);
  // The CONNECT parser is spent (llhttp treats the rest as another protocol).
  req_parser_ = std::make_unique<Http1Parser>(Http1Parser::Kind::request);
  req_parser_->set_body_sink([this](std::string_view c) { on_request_body(c); });
  reset_exchange();
  state_ = State::tunnel_choice;
  arm_deadline();
}

void ClientSession::choose_tunnel_protocol(std::string_view first_bytes) {
  state_ = State::head;
  if (static_cast<unsigned char>(first_bytes.front()) != 0x16) {  // not a TLS handshake record
    inbuf_.assign(first_bytes);
    process_input();
    return;
  }
  arrival_.tls = true;
  bssl::UniquePtr<SSL> ssl(SSL_new(worker_.shared().client_ctx.get()));
  if (!ssl || !tls::attach_leaf_source(ssl.get(), &worker_.leaves(), arrival_.tunnel->host)) {
    abort_all();
    return;
  }
  client_.start_tls_server(std::move(ssl), first_bytes);
  update_client_reading();
}

void ClientSession::on_request_body(std::string_view chunk) {
  if (state_ != State::body) return;  // discard: a refused request's body
  body_bytes_ += chunk.size();
  bytes_up_ += chunk.size();
  if (out_scan_) {
    std::vector<dlp::Finding> found;
    bool readable = out_scan_->feed(chunk, found);
    if (!judge_outbound_body(readable, found)) return;
  }
  if (hold_body_) {
    std::string framed = req_.chunked ? chunk_frame(chunk) : std::string(chunk);
    if (body_bytes_ > body_lease_.held() && body_bytes_ <= verdict_.max_body_bytes &&
        !body_lease_.resize(body_bytes_)) {
      respond_busy();  // a chunked body grew past what the budget has left
      return;
    }
    if (body_bytes_ > verdict_.max_body_bytes) {
      if (!verdict_.stream_large_bodies) {
        block(BlockReason::body_too_large, 403, "request body exceeds dlp.max_body_bytes", true);
        return;
      }
      // The route opted into streaming: release what was held and stream the rest.
      hold_body_ = false;
      send_request_head();
      for (const auto& piece : held_) up_->write(piece);
      held_.clear();
      body_lease_.reset();
      up_->write(framed);
      return;
    }
    held_.push_back(std::move(framed));
    return;
  }
  if (req_.chunked) {
    up_->write(chunk_frame(chunk));
  } else {
    up_->write(chunk);
  }
}

bool ClientSession::judge_outbound_body(bool readable, const std::vector<dlp::Finding>& found) {
  bool blocking_mode = verdict_.body_dlp == config::DlpAction::block;
  if (!readable && blocking_mode) {
    block(BlockReason::dlp_outbound, 403, "unreadable request body: " + out_scan_->error(), true);
    return false;
  }
  if (found.empty()) return true;
  Metrics& m = worker_.mutable_metrics();
  m.add(m.dlp_findings, found.size());
  if (blocking_mode && has_blocking(found)) {
    block(BlockReason::dlp_outbound, 403, "secret in request body", true, found);
    return false;
  }
  log_warn(log_level(), facts(), "outbound", found);
  return true;
}

void ClientSession::on_request_end() {
  if (state_ == State::discard) {
    reset_exchange();
    state_ = State::head;
    arm_deadline();
    return;
  }
  if (state_ != State::body) return;
  if (out_scan_) {
    std::vector<dlp::Finding> found;
    bool readable = out_scan_->finish(found);
    if (!judge_outbound_body(readable, found)) return;
  }
  if (hold_body_) {
    send_request_head();
    for (const auto& piece : held_) up_->write(piece);
    held_.clear();
    hold_body_ = false;
    body_lease_.reset();
  }
  if (req_.chunked) up_->write(kLastChunk);
  request_sent_ = true;
  state_ = State::awaiting_response;
  arm_deadline();
}

void ClientSession::send_request_head() {
  UpstreamRequestHead uh;
  uh.origin_target = verdict_.origin_target;
  std::string host = verdict_.target.host_header(verdict_.upstream_tls ? 443 : 80);
  uh.host_header = host;
  uh.inject_name = verdict_.inject_name;
  uh.inject_value = injected_value(verdict_);
  uh.websocket = verdict_.websocket;
  if (verdict_.accept_encoding) uh.accept_encoding = *verdict_.accept_encoding;
  std::string head = serialize_request_head(req_, uh);
  bytes_up_ += head.size();
  up_->write(head);
}

// ---- upstream -----------------------------------------------------------------------

void ClientSession::on_upstream_ready(UpstreamConn& up) {
  if (&up != up_ || state_ != State::dialing) return;
  state_ = State::body;
  arm_deadline();
  resp_parser_ = std::make_unique<Http1Parser>(Http1Parser::Kind::response);
  resp_parser_->set_body_sink([this](std::string_view c) { on_response_body(c); });
  if (req_.method == "HEAD") resp_parser_->expect_no_body();
  CorkScope cork(up.transport());
  if (retrying_) {  // the bodyless request was already read completely
    retrying_ = false;
    send_request_head();
    request_sent_ = true;
    state_ = State::awaiting_response;
    arm_deadline();
    return;
  }
  if (!hold_body_) send_request_head();
  process_input();
}

void ClientSession::on_upstream_data(UpstreamConn& up, std::string_view data) {
  if (&up != up_) return;
  touch();
  if (state_ == State::raw) {
    relay_ws_to_client(data);
    return;
  }
  if (!resp_parser_ || (state_ != State::body && state_ != State::awaiting_response)) {
    abort_all();  // bytes from upstream before we asked anything
    return;
  }
  CorkScope cork(client_);  // head, body and last chunk of a small response: one write
  bool first = true;
  while (first || !data.empty()) {
    first = false;
    Http1Parser::Outcome out = resp_parser_->feed(data);
    data.remove_prefix(out.consumed);
    if (state_ == State::closing) return;
    switch (out.status) {
      case Http1Parser::Status::need_more:
        return;
      case Http1Parser::Status::head: {
        resp_ = resp_parser_->take_head();
        if (resp_.status == 101 && verdict_.websocket) {
          // The request offered no extension (Sec-WebSocket-Extensions is never forwarded):
          // an upstream that negotiates one anyway would send frames the gates cannot read.
          if (resp_.header("sec-websocket-extensions")) {
            respond_error(502, "Bad Gateway", "upstream negotiated a WebSocket extension");
            return;
          }
          client_.write(serialize_response_head(resp_, false));
          response_head_sent_ = true;
          state_ = State::raw;
          arm_deadline();
          start_ws_inspection();
          if (!data.empty()) relay_ws_to_client(data);
          if (state_ == State::raw) process_input();  // WebSocket bytes the client sent early
          return;
        }
        if (resp_.status < 200) {  // 100/103: pass on, the final response follows
          client_.write(serialize_response_head(resp_, false));
          break;
        }
        bool eof_delimited = !resp_.chunked && !resp_.content_length && resp_parser_->needs_eof();
        close_after_ = close_after_ || !req_.keep_alive || eof_delimited;
        std::string head = serialize_response_head(resp_, close_after_);
        bytes_down_ += head.size();
        client_.write(head);
        response_head_sent_ = true;
        if (verdict_.route && verdict_.route->dlp.inbound != config::DlpAction::off) {
          in_scan_ = std::make_unique<BodyInspector>(
              *snap_->scanner, dlp::Direction::inbound, "response_body",
              resp_.header("content-encoding"), kMaxDecodedBody);
        }
        break;
      }
      case Http1Parser::Status::message_end:
        if (resp_.status < 200) {
          resp_parser_->resume_next();
          if (req_.method == "HEAD") resp_parser_->expect_no_body();
          break;
        }
        if (!release_response_tail()) return;
        if (resp_.chunked) client_.write(kLastChunk);
        if (!data.empty()) close_after_ = true;  // junk after the response: no reuse
        finish_exchange();
        return;
      case Http1Parser::Status::upgrade:
      case Http1Parser::Status::error:
        worker_.mutable_metrics().add(worker_.mutable_metrics().upstream_errors);
        if (!response_head_sent_) {
          respond_error(502, "Bad Gateway",
                        "upstream sent a malformed response: " + resp_parser_->error_reason());
        } else {
          abort_all();
        }
        return;
    }
  }
}

void ClientSession::on_response_body(std::string_view chunk) {
  if (state_ == State::closing) return;
  bytes_down_ += chunk.size();
  resp_body_bytes_ += chunk.size();
  const bool blocking_mode = in_scan_ && verdict_.route->dlp.inbound == config::DlpAction::block;
  if (in_scan_) {
    std::vector<dlp::Finding> found;
    const bool readable = in_scan_->feed(chunk, found);
    if (!judge_inbound(readable, found, "response stream cut")) return;
  }
  // The final bytes of a sized body wait for release_response_tail. (A chunked body's
  // end is its last-chunk marker, which waits the same way; a body that ends with the
  // connection has no known end to hold back. The client side is corked while one
  // upstream read is handled, so today the final read's bytes would wait anyway; the
  // hold keeps that true whatever the transport batches.)
  if (blocking_mode && !resp_.chunked && resp_.content_length &&
      resp_body_bytes_ == *resp_.content_length) {
    const size_t keep = std::min(kResponseHold, chunk.size());
    resp_tail_.assign(chunk.substr(chunk.size() - keep));
    chunk.remove_suffix(keep);
  }
  if (chunk.empty()) {
  } else if (resp_.chunked) {
    client_.write(chunk_frame(chunk));
  } else {
    client_.write(chunk);
  }
  if (client_.queued() > Transport::kHighWater && up_) up_->pause();
}

bool ClientSession::judge_inbound(bool readable, const std::vector<dlp::Finding>& found,
                                  std::string_view cut) {
  Metrics& m = worker_.mutable_metrics();
  if (!found.empty()) m.add(m.dlp_findings, found.size());
  if (verdict_.route->dlp.inbound == config::DlpAction::block && (!readable || has_blocking(found))) {
    // The head is already out: cutting the stream is the only signal left.
    m.block(BlockReason::dlp_inbound);
    log_block(log_level(), facts(), BlockReason::dlp_inbound,
              readable ? std::string(cut) : "unreadable response body: " + in_scan_->error(), found);
    abort_all();
    return false;
  }
  if (!found.empty() && !warned_inbound_) {
    log_warn(log_level(), facts(), "inbound", found);
    warned_inbound_ = true;
  }
  return true;
}

bool ClientSession::release_response_tail() {
  if (in_scan_) {
    std::vector<dlp::Finding> found;
    const bool readable = in_scan_->finish(found);
    if (!judge_inbound(readable, found, "response stream cut before its last bytes")) return false;
    in_scan_.reset();
  }
  if (!resp_tail_.empty()) {
    client_.write(resp_tail_);
    resp_tail_.clear();
  }
  return true;
}

void ClientSession::on_upstream_eof(UpstreamConn& up) {
  if (&up != up_) return;
  if (state_ == State::raw) {
    up_->close();
    up_ = nullptr;
    state_ = State::closing;
    client_.close_after_flush();
    return;
  }
  if (resp_parser_ && response_head_sent_ && resp_parser_->finish()) {
    close_after_ = true;  // the body ended with the connection
    if (!release_response_tail()) return;
    finish_exchange();
    return;
  }
  if (retry_on_fresh_connection()) return;
  worker_.mutable_metrics().add(worker_.mutable_metrics().upstream_errors);
  if (!response_head_sent_ && state_ != State::closing) {
    respond_error(502, "Bad Gateway", "upstream closed the connection before responding");
  } else {
    abort_all();  // mid-response: the client must not mistake a truncated body for a whole one
  }
}

void ClientSession::on_upstream_failed(UpstreamConn& up, UpstreamConn::Failure kind,
                                       std::string_view why) {
  if (&up != up_) return;
  up_ = nullptr;  // it closes itself
  if (state_ == State::closing) return;
  if (kind != UpstreamConn::Failure::ssrf && retry_on_fresh_connection()) return;
  if (kind == UpstreamConn::Failure::ssrf) {
    block(BlockReason::ssrf_blocked, 403, why, !req_.keep_alive || state_ != State::dialing);
    if (state_ == State::discard) process_input();
    return;
  }
  worker_.mutable_metrics().add(worker_.mutable_metrics().upstream_errors);
  if (response_head_sent_) {
    abort_all();
    return;
  }
  respond_error(502, "Bad Gateway", why);
}

void ClientSession::on_upstream_drained(UpstreamConn& up) {
  if (&up != up_) return;
  touch();
  if (!client_.reading() && (state_ == State::body || state_ == State::raw)) {
    process_input();
  }
}

void ClientSession::on_drained(Transport&) {
  touch();
  if (up_ && up_->paused() && !up_->closing() &&
      (state_ == State::awaiting_response || state_ == State::body || state_ == State::raw)) {
    up_->resume();
  }
}

// ---- WebSocket ----------------------------------------------------------------------

void ClientSession::start_ws_inspection() {
  // What the gates need of the route, copied: the exchange's snapshot is released so a
  // long-lived WebSocket does not pin an old config.
  if (verdict_.route) {
    const config::DlpPolicy& dlp = verdict_.route->dlp;
    ws_out_action_ = dlp.outbound;
    ws_in_action_ = dlp.inbound;
    ws_rule_ = verdict_.route->id;
    if (ws_out_action_ != config::DlpAction::off)
      ws_out_ = std::make_unique<WsMessageGate>(dlp.max_body_bytes);
    if (ws_in_action_ != config::DlpAction::off)
      ws_in_ = std::make_unique<WsMessageGate>(dlp.max_body_bytes);
  }
  out_scan_.reset();
  in_scan_.reset();
  verdict_.route = nullptr;
  snap_.reset();
}

bool ClientSession::gate_ws(WsMessageGate& gate, std::string_view bytes, dlp::Direction dir,
                            std::string& out) {
  const bool outbound = dir == dlp::Direction::outbound;
  const config::DlpAction action = outbound ? ws_out_action_ : ws_in_action_;
  const dlp::Scanner& scanner = *worker_.snapshot()->scanner;
  std::vector<dlp::Finding> found;
  auto judge = [&](const WsMessage& m) {
    auto f = scanner.scan(m.payload, dir, "ws_frame");
    const bool refuse = action == config::DlpAction::block && has_blocking(f);
    found.insert(found.end(), f.begin(), f.end());
    return !refuse;
  };
  WsMessageGate::Outcome outcome = gate.feed(bytes, judge, out);
  Metrics& m = worker_.mutable_metrics();
  if (!found.empty()) m.add(m.dlp_findings, found.size());
  std::string why;
  if (outcome != WsMessageGate::Outcome::ok) {
    why = outcome == WsMessageGate::Outcome::refused ? "WebSocket message cut" : gate.error();
  } else if (!ws_lease_.resize((ws_out_ ? ws_out_->held() : 0) + (ws_in_ ? ws_in_->held() : 0))) {
    why = "WebSocket message cut: held bodies reached --max-buffered";
    m.add(m.buffer_refusals);
  }
  if (!why.empty()) {
    BlockReason reason = outbound ? BlockReason::dlp_outbound : BlockReason::dlp_inbound;
    m.block(reason);
    log_block(log_level(), facts(), reason, why, found);
    abort_all();
    return false;
  }
  log_warn(log_level(), facts(), outbound ? "outbound" : "inbound", found);
  return true;
}

void ClientSession::relay_ws_to_upstream(std::string_view data) {
  if (!up_) return;
  if (ws_out_) {
    std::string out;
    if (!gate_ws(*ws_out_, data, dlp::Direction::outbound, out)) return;
    bytes_up_ += out.size();
    if (!out.empty()) up_->write(out);
    return;
  }
  bytes_up_ += data.size();
  up_->write(data);
}

void ClientSession::relay_ws_to_client(std::string_view data) {
  if (ws_in_) {
    std::string out;
    if (!gate_ws(*ws_in_, data, dlp::Direction::inbound, out)) return;
    bytes_down_ += out.size();
    if (!out.empty()) client_.write(out);
  } else {
    bytes_down_ += data.size();
    client_.write(data);
  }
  if (client_.queued() > Transport::kHighWater && up_) up_->pause();
}

// ---- endings ------------------------------------------------------------------------

void ClientSession::finish_exchange() {
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  Metrics& m = worker_.mutable_metrics();
  m.observe_latency(seconds);
  m.add(m.bytes_up, bytes_up_);
  m.add(m.bytes_down, bytes_down_);
  log_response(log_level(), facts(), resp_.status, bytes_up_, bytes_down_, seconds);
  if (!request_sent_) close_after_ = true;  // the upstream answered before the body ended
  // An upgrade the upstream declined leaves the request parser in upgrade mode.
  if (req_.upgrade) close_after_ = true;
  UpstreamConn* up = up_;
  up_ = nullptr;
  if (up) {
    up->detach();
    bool reusable =
        request_sent_ && resp_.keep_alive && !resp_parser_->needs_eof() && !close_after_;
    if (reusable) {
      up->release_to_pool();
    } else {
      up->close();
    }
  }
  if (close_after_ || !req_.keep_alive) {
    state_ = State::closing;
    client_.close_after_flush();
    return;
  }
  reset_exchange();
  state_ = State::head;
  arm_deadline();
  process_input();  // a pipelined request may already be waiting
}

void ClientSession::reset_exchange() {
  verdict_ = Verdict{};
  resp_parser_.reset();
  resp_ = MessageHead{};
  out_scan_.reset();
  in_scan_.reset();
  hold_body_ = false;
  held_.clear();
  body_bytes_ = 0;
  request_sent_ = false;
  reused_upstream_ = false;
  retrying_ = false;
  response_head_sent_ = false;
  close_after_ = false;
  warned_inbound_ = false;
  resp_body_bytes_ = 0;
  resp_tail_.clear();
  bytes_up_ = 0;
  bytes_down_ = 0;
  body_lease_.reset();
  req_parser_->resume_next();
  snap_.reset();  // last: the scans above point into it. An idle connection holds no config.
}

void ClientSession::block(BlockReason reason, int status, std::string_view detail, bool close,
                          const std::vector<dlp::Finding>& findings) {
  Metrics& m = worker_.mutable_metrics();
  m.block(reason);
  log_block(log_level(), facts(), reason, detail, findings);
  if (up_) {
    up_->close();
    up_ = nullptr;
  }
  if (response_head_sent_) {
    abort_all();
    return;
  }
  BlockInfo info;
  info.reason = reason;
  info.status = status;
  info.host = verdict_.target.host;
  if (verdict_.route) info.rule = verdict_.route->id;
  info.request_id = request_id_;
  client_.write(render_block(info, close));
  held_.clear();
  body_lease_.reset();
  if (close) {
    state_ = State::closing;
    client_.close_after_flush();
    return;
  }
  state_ = State::discard;
  arm_deadline();
}

void ClientSession::respond_error(int status, std::string_view reason_text,
                                  std::string_view detail) {
  if (log_level() != config::LogLevel::off) {
    log::warn("egress_upstream_error", {{"request_id", request_id_},
                                        {"host", verdict_.target.host},
                                        {"port", verdict_.target.port},
                                        {"status", status},
                                        {"detail", std::string(detail)}});
  }
  if (up_) {
    up_->close();
    up_ = nullptr;
  }
  held_.clear();
  body_lease_.reset();
  std::string body = "egress: upstream error: " + std::string(detail) + "\n";
  client_.write(simple_response(status, reason_text, "text/plain", body, true));
  state_ = State::closing;
  client_.close_after_flush();
}

void ClientSession::respond_busy() {
  Metrics& m = worker_.mutable_metrics();
  m.add(m.buffer_refusals);
  if (log_level() != config::LogLevel::off) {
    log::warn("egress_buffer_full", {{"request_id", request_id_},
                                     {"host", verdict_.target.host},
                                     {"buffered_bytes", worker_.shared().budget->in_use()},
                                     {"cap", worker_.shared().budget->cap()}});
  }
  if (up_) {
    up_->close();
    up_ = nullptr;
  }
  held_.clear();
  body_lease_.reset();
  client_.write(simple_response(503, "Service Unavailable", "text/plain",
                                "egress: too many request bodies held for scanning; retry\n", true,
                                "Retry-After: 1\r\n"));
  state_ = State::closing;
  client_.close_after_flush();
}

void ClientSession::abort_all() {
  state_ = State::closing;
  held_.clear();
  body_lease_.reset();
  ws_lease_.reset();
  if (up_) {
    up_->close();
    up_ = nullptr;
  }
  client_.close();
}

void ClientSession::on_eof(Transport&) {
  if (state_ == State::closing) return;
  bool idle = state_ == State::head && !req_parser_->in_message() && inbuf_.empty();
  if (idle || state_ == State::tunnel_choice) {
    state_ = State::closing;
    client_.close();
    return;
  }
  abort_all();  // mid-request or mid-response: the upstream must not see a partial request
}

void ClientSession::on_error(Transport& t, std::string_view why) {
  // A failed bump is worth a line: usually an agent that does not trust the bottle CA.
  if (t.failure() == Transport::Failure::tls_handshake && log_level() != config::LogLevel::off && arrival_.tunnel) {
    log::warn("egress_client_tls_failed", {{"host", arrival_.tunnel->host},
                                           {"port", arrival_.tunnel->port},
                                           {"error", std::string(why)}});
  }
  abort_all();
}

void ClientSession::on_closed(Transport&) {
  if (up_) {
    up_->close();
    up_ = nullptr;
  }
  worker_.mutable_metrics().active_connections.fetch_sub(1, std::memory_order_relaxed);
  delete this;
}

}  // namespace bottle::proxy
