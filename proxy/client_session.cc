#include "proxy/client_session.h"

#include <algorithm>
#include <optional>

#include "common/log.h"
#include "common/tls/contexts.h"
#include "proxy/http1_wire.h"
#include "proxy/worker.h"

namespace bottle::proxy {
namespace {

constexpr std::string_view kConnectEstablished = "HTTP/1.1 200 Connection Established\r\n\r\n";
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr size_t kMaxBufferedInput = 128 * 1024;

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

ClientSession::ClientSession(Worker& worker)
    : worker_(worker),
      client_(worker.loop(), this),
      deadline_(worker.loop(), [this] { on_deadline(); }),
      req_parser_(std::make_unique<Http1Parser>(Http1Parser::Kind::request)),
      later_(worker.loop(), [this] {
        spent_legs_.clear();
        if (h2_ && state_ != State::closing) h2_->later();
      }) {
  req_parser_->set_body_sink([this](std::string_view c) { on_request_body(c); });
  worker_.mutable_metrics().active_connections.fetch_add(1, std::memory_order_relaxed);
  worker_.add_session(this);
  draining_ = worker_.draining();
}

ClientSession::~ClientSession() = default;

config::LogLevel ClientSession::log_level() const {
  return ex_ ? ex_->log_level() : worker_.snapshot()->routes->log_level;
}

ExchangeContext ClientSession::exchange_context() {
  ExchangeContext ctx;
  ctx.current = &worker_.snapshot();
  ctx.metrics = &worker_.mutable_metrics();
  ctx.budget = worker_.shared().budget.get();
  ctx.request_id = worker_.next_request_id();
  ctx.arrival = arrival_;
  return ctx;
}

Exchange& ClientSession::new_exchange() {
  ex_.reset();
  ex_.emplace(exchange_context(), static_cast<ExchangeIo&>(*this));
  return *ex_;
}

std::unique_ptr<UpstreamLeg> ClientSession::open_leg(const Verdict& v, const MessageHead& request,
                                                     UpstreamLeg::Owner& owner, Dial dial) {
  return open_upstream_leg(worker_, v, request, /*offer_h2=*/true, owner, dial);
}

uint64_t ClientSession::now_ms() {
  return uv_now(worker_.loop());
}

void ClientSession::close_client() {
  if (state_ == State::closing) return;
  if (draining_) worker_.mutable_metrics().add(worker_.mutable_metrics().drained);
  state_ = State::closing;
  client_.close_after_flush();
}

// ---- HTTP/2 ---------------------------------------------------------------------------

void ClientSession::on_ready(Transport&) {
  // The bump's handshake is done: ALPN h2 hands the connection to the HTTP/2 session.
  const uint8_t* proto = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(client_.ssl(), &proto, &len);
  if (len != 2 || proto[0] != 'h' || proto[1] != '2') return;
  state_ = State::h2;
  h2_ = std::make_unique<H2Session>(static_cast<H2Session::Host&>(*this), worker_.mutable_metrics(),
                                    worker_.shared().timeouts);
  h2_->start();
  arm_deadline();
  if (draining_) h2_->drain();
}

void ClientSession::drain() {
  if (draining_) return;
  draining_ = true;
  if (state_ == State::closing) return;
  if (state_ == State::h2) {
    h2_->drain();
    return;
  }
  const bool idle = (state_ == State::head && !req_parser_->in_message() && inbuf_.empty()) ||
                    state_ == State::tunnel_choice;
  if (idle) {
    close_client();
    return;
  }
  close_after_ = true;  // the exchange in flight finishes, then the connection closes
}

// ---- deadlines ----------------------------------------------------------------------

void ClientSession::arm_deadline() {
  phase_started_ = last_activity_ = uv_now(worker_.loop());
  if (state_ != State::closing) deadline_.arm(phase_check_ms());
}

// Which limit applies may change inside a phase (reads paused and resumed), so the timer
// checks at least as often as the smallest one.
uint64_t ClientSession::phase_check_ms() const {
  const Timeouts& t = worker_.shared().timeouts;
  if (state_ == State::h2) return h2_->check_interval_ms();
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
      return leg_ && leg_->paused() ? t.client_ms : t.upstream_ms;
    case State::raw:
      return t.websocket_ms;
    case State::h2:  // the session keeps a deadline per stream
      return h2_->check_interval_ms();
    case State::closing:
      break;
  }
  return t.idle_ms;
}

void ClientSession::on_deadline() {
  if (state_ == State::closing) return;
  if (state_ == State::h2) {
    h2_->tick();
    if (state_ == State::h2) deadline_.arm(h2_->check_interval_ms());
    return;
  }
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
  static constexpr const char* kPhase[] = {"idle",         "tunnel",   "connect",
                                           "request_body", "response", "discard",
                                           "websocket",    "h2",       "closing"};
  const char* phase = kPhase[static_cast<int>(state_)];
  if (state_ == State::awaiting_response && leg_ && leg_->paused()) phase = "client_not_reading";
  Metrics& m = worker_.mutable_metrics();
  m.add(m.timeouts);
  if (log_level() != config::LogLevel::off && state_ != State::head) {
    log::warn("egress_timeout", {{"request_id", ex_ ? ex_->request_id() : std::string()},
                                 {"phase", phase},
                                 {"host", ex_ ? ex_->verdict().target.host : std::string()},
                                 {"seconds", static_cast<double>(limit) / 1000.0}});
  }
  if (!ex_ || ex_->over() || ex_->response_started() || state_ == State::head ||
      state_ == State::tunnel_choice || state_ == State::discard || state_ == State::raw ||
      (leg_ && leg_->paused() && state_ == State::awaiting_response)) {
    abort_all();  // idle, a slow head, a stalled reader: nothing useful left to say
  } else if (state_ == State::body) {
    // The upstream must not take a truncated body for a whole one.
    close_upstream();
    ex_->request_timeout();
  } else {
    ex_->upstream_error(504, state_ == State::dialing ? "upstream connect timed out"
                                                      : "upstream sent no response in time");
  }
}

// ---- client input -------------------------------------------------------------------

void ClientSession::on_data(Transport&, std::string_view data) {
  if (state_ == State::closing) return;
  if (state_ == State::h2) {
    h2_->on_client_data(data);
    return;
  }
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
  LegCork cork_up(leg_.get());
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
    if (state_ == State::body && leg_ && leg_->queued() > Transport::kHighWater) break;
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
      case Http1Parser::Status::error: {
        Exchange& ex = ex_ && !ex_->over() && state_ != State::head ? *ex_ : new_exchange();
        ex.block(BlockReason::bad_request, req_parser_->error_status(), req_parser_->error_reason(),
                 true);
        return;
      }
    }
  }
  update_client_reading();
}

void ClientSession::update_client_reading() {
  if (state_ == State::closing || client_.closing()) return;
  bool forwarding = state_ == State::body || state_ == State::raw;
  // Reads stay on while a request is in flight (a pipelined one just waits in inbuf_):
  // toggling them per request costs two epoll_ctl calls.
  bool want = inbuf_.size() < kMaxBufferedInput &&
              !(forwarding && leg_ && leg_->queued() > Transport::kHighWater);
  if (want) {
    client_.start_reading();
  } else {
    client_.stop_reading();
  }
}

// ---- request ------------------------------------------------------------------------

void ClientSession::on_request_head() {
  MessageHead head = req_parser_->take_head();
  Exchange& ex = new_exchange();
  if (!arrival_.tunnel && head.method == "CONNECT") {
    on_connect_request(head);
    return;
  }
  if (!ex.request_head(std::move(head))) return;  // refused: client_refusal set the state
  const MessageHead& req = ex.request();
  if (req.has_body()) {
    auto expect = req.header("expect");
    if (expect && expect->find("100-continue") != std::string::npos) client_.write(kContinue);
  }
  state_ = State::dialing;
  arm_deadline();
  dial(Dial::pooled_or_new);
  if (state_ == State::dialing) update_client_reading();
}

void ClientSession::dial(Dial how) {
  // An HTTP/1.1 client is never sent upstream as h2.
  leg_ = open_upstream_leg(worker_, ex_->verdict(), ex_->request(), /*offer_h2=*/false, *this, how);
  leg_->start();  // a pooled connection is ready at once
}

bool ClientSession::retry_on_fresh_connection(bool stale) {
  // A pooled connection the server closed while idle fails before any response byte.
  // A bodyless idempotent request can be sent again as it was, on a new connection.
  if (!stale || !ex_ || !ex_->may_resend() ||
      (state_ != State::awaiting_response && state_ != State::body)) {
    return false;
  }
  close_upstream();
  retrying_ = true;
  state_ = State::dialing;
  arm_deadline();
  dial(Dial::new_only);
  return true;
}

void ClientSession::on_connect_request(const MessageHead& head) {
  if (!ex_->connect(head)) return;
  arrival_.tunnel = ex_->verdict().target;
  client_.write(kConnectEstablished);
  // The CONNECT parser is spent (llhttp treats the rest as another protocol).
  req_parser_ = std::make_unique<Http1Parser>(Http1Parser::Kind::request);
  req_parser_->set_body_sink([this](std::string_view c) { on_request_body(c); });
  ex_.reset();
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
  ex_->request_body(chunk);
}

void ClientSession::on_request_end() {
  if (state_ == State::discard) {
    ex_.reset();
    if (draining_) {
      close_client();
      return;
    }
    req_parser_->resume_next();
    state_ = State::head;
    arm_deadline();
    return;
  }
  if (state_ != State::body) return;
  if (!ex_->request_end(req_parser_->take_trailers())) return;
  state_ = State::awaiting_response;
  arm_deadline();
}

// ---- the exchange's output, framed for HTTP/1.1 ---------------------------------------

void ClientSession::upstream_head(const MessageHead& head, const UpstreamRequestHead& wire) {
  if (leg_) leg_->send_head(head, wire);
}

void ClientSession::upstream_body(std::string_view bytes) {
  if (leg_) leg_->send_body(bytes);
}

void ClientSession::upstream_end(const std::vector<Header>& trailers) {
  if (leg_) leg_->send_end(trailers);
}

void ClientSession::client_head(const MessageHead& head) {
  if (head.status < 200) {  // 1xx, and the 101 of a WebSocket
    client_.write(serialize_response_head(head, false));
    return;
  }
  bool eof_delimited =
      !head.chunked && !head.content_length && leg_ && leg_->response_until_close();
  close_after_ = close_after_ || !ex_->request().keep_alive || eof_delimited;
  client_.write(serialize_response_head(head, close_after_));
}

void ClientSession::client_body(std::string_view bytes) {
  if (ex_->response().chunked) {
    client_.write(chunk_frame(bytes));
  } else {
    client_.write(bytes);
  }
}

void ClientSession::client_end(const std::vector<Header>& trailers) {
  // Trailers ride on a chunked body (RFC 9112 §7.1.2); a Content-Length one cannot carry them.
  if (ex_->response().chunked) client_.write(last_chunk(trailers));
}

void ClientSession::client_refusal(const LocalResponse& answer) {
  close_upstream();
  client_.write(serialize_local(answer));
  // Only a refused head may keep the connection: its body is read away first.
  if (answer.close || (state_ != State::head && state_ != State::dialing)) {
    state_ = State::closing;
    client_.close_after_flush();
    return;
  }
  state_ = State::discard;
  arm_deadline();
}

void ClientSession::client_cut() {
  abort_all();
}

// ---- upstream -----------------------------------------------------------------------

void ClientSession::on_leg_ready() {
  if (state_ != State::dialing) return;
  state_ = State::body;
  arm_deadline();
  LegCork cork(leg_.get());
  if (retrying_) {  // the bodyless request was already read completely: sent again whole
    retrying_ = false;
    ex_->upstream_ready();
    state_ = State::awaiting_response;
    arm_deadline();
    return;
  }
  ex_->upstream_ready();
  process_input();
}

void ClientSession::on_leg_head(MessageHead head) {
  touch();
  if (state_ != State::body && state_ != State::awaiting_response) {
    abort_all();  // a response to nothing we asked
    return;
  }
  const bool websocket = head.status == 101 && ex_->verdict().websocket;
  if (!ex_->response_head(std::move(head)) || !websocket) return;
  state_ = State::raw;
  arm_deadline();
  process_input();  // WebSocket bytes the client sent early
}

void ClientSession::on_leg_body(std::string_view bytes) {
  touch();
  if (state_ == State::raw) {
    relay_ws_to_client(bytes);
    return;
  }
  if (state_ != State::body && state_ != State::awaiting_response) return;
  if (!ex_->response_body(bytes)) return;
  if (client_.queued() > Transport::kHighWater && leg_) leg_->pause();
}

void ClientSession::on_leg_end(const std::vector<Header>& trailers) {
  if (state_ == State::raw) {  // the upstream closed the WebSocket
    close_upstream();
    state_ = State::closing;
    client_.close_after_flush();
    return;
  }
  if (state_ != State::body && state_ != State::awaiting_response) return;
  if (!ex_->response_end(trailers)) return;
  finish_exchange();
}

void ClientSession::on_leg_failed(UpstreamConn::Failure kind, std::string_view why, bool stale) {
  retire_leg();  // it has closed its connection
  if (state_ == State::closing) return;
  if (retry_on_fresh_connection(stale)) return;
  if (kind == UpstreamConn::Failure::ssrf) {
    ex_->block(BlockReason::ssrf_blocked, 403, why,
               !ex_->request().keep_alive || state_ != State::dialing);
    if (state_ == State::discard) process_input();
    return;
  }
  worker_.mutable_metrics().add(worker_.mutable_metrics().upstream_errors);
  // Mid-response the exchange cuts: the client must not mistake a truncated body for a
  // whole one.
  ex_->upstream_error(502, why);
}

void ClientSession::on_leg_drained() {
  touch();
  if (!client_.reading() && (state_ == State::body || state_ == State::raw)) {
    process_input();
  }
}

void ClientSession::on_drained(Transport&) {
  if (state_ == State::h2) {
    h2_->on_client_drained();
    return;
  }
  touch();
  if (leg_ && leg_->paused() &&
      (state_ == State::awaiting_response || state_ == State::body || state_ == State::raw)) {
    leg_->resume();
  }
}

// ---- WebSocket ----------------------------------------------------------------------

void ClientSession::relay_ws_to_upstream(std::string_view data) {
  if (!leg_) return;
  std::string out;
  if (!ex_->ws_to_upstream(data, out)) return;
  if (!out.empty()) leg_->send_raw(out);
}

void ClientSession::relay_ws_to_client(std::string_view data) {
  std::string out;
  if (!ex_->ws_to_client(data, out)) return;
  if (!out.empty()) client_.write(out);
  if (client_.queued() > Transport::kHighWater && leg_) leg_->pause();
}

// ---- endings ------------------------------------------------------------------------

void ClientSession::finish_exchange() {
  ex_->finish();
  if (!ex_->request_sent()) close_after_ = true;  // the upstream answered before the body ended
  // An upgrade the upstream declined leaves the request parser in upgrade mode.
  if (ex_->request().upgrade) close_after_ = true;
  if (leg_) {
    // The leg pools its connection if the upstream can take another request.
    if (close_after_) {
      leg_->close();
    } else {
      leg_->done();
    }
    retire_leg();
  }
  if (close_after_ || !ex_->request().keep_alive) {
    close_client();
    return;
  }
  ex_.reset();  // a new request gets a new exchange; an idle connection holds no config
  req_parser_->resume_next();
  state_ = State::head;
  arm_deadline();
  process_input();  // a pipelined request may already be waiting
}

void ClientSession::close_upstream() {
  if (!leg_) return;
  leg_->close();
  retire_leg();
}

void ClientSession::retire_leg() {
  if (!leg_) return;
  spent_legs_.push_back(std::move(leg_));
  later_.arm(0);
}

void ClientSession::abort_all() {
  state_ = State::closing;
  if (h2_) h2_->on_client_eof();
  if (ex_) ex_->abandon();
  close_upstream();
  client_.close();
}

void ClientSession::on_eof(Transport&) {
  if (state_ == State::closing) return;
  if (state_ == State::h2) {
    abort_all();  // streams still open are cut; their upstreams must not see a partial request
    return;
  }
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
  if (t.failure() == Transport::Failure::tls_handshake && log_level() != config::LogLevel::off &&
      arrival_.tunnel) {
    log::warn("egress_client_tls_failed", {{"host", arrival_.tunnel->host},
                                           {"port", arrival_.tunnel->port},
                                           {"error", std::string(why)}});
  }
  abort_all();
}

void ClientSession::on_closed(Transport&) {
  if (h2_) h2_->on_client_eof();
  worker_.remove_session(this);
  close_upstream();
  worker_.mutable_metrics().active_connections.fetch_sub(1, std::memory_order_relaxed);
  delete this;
}

}  // namespace bottle::proxy
