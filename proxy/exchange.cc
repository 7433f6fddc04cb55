#include "proxy/exchange.h"

#include <algorithm>

#include "common/log.h"
#include "config/dlp_actions.h"

namespace bottle::proxy {
namespace {

// Decoded bytes scanned per compressed body; past this a zip bomb stops being read.
constexpr size_t kMaxDecodedBody = 64u << 20;

LocalResponse plain_answer(int status, std::string body, bool close = true) {
  LocalResponse r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = std::move(body);
  r.close = close;
  return r;
}

}  // namespace

Exchange::Exchange(ExchangeContext ctx, ExchangeIo& io)
    : ctx_(std::move(ctx)),
      io_(io),
      snap_(*ctx_.current),
      started_(std::chrono::steady_clock::now()),
      body_lease_(ctx_.budget),
      ws_lease_(ctx_.budget) {}

config::LogLevel Exchange::log_level() const {
  return (snap_ ? *snap_ : current()).routes->log_level;
}

ExchangeFacts Exchange::facts() const {
  ExchangeFacts f;
  f.scanner = (snap_ ? *snap_ : current()).scanner.get();
  f.url_scanned = verdict_.url_scanned;
  f.request_id = ctx_.request_id;
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

void Exchange::note(const std::vector<dlp::Finding>& found) {
  if (found.empty()) return;
  metrics().add(metrics().dlp_findings, found.size());
  findings_.insert(findings_.end(), found.begin(), found.end());
}

// ---- request ------------------------------------------------------------------------

bool Exchange::connect(const MessageHead& head) {
  req_ = head;
  metrics().add(metrics().connects);
  verdict_ = evaluate_connect(*snap_, req_.target);
  if (verdict_.block) {
    block(*verdict_.block, verdict_.status, verdict_.detail, true, verdict_.findings);
    return false;
  }
  return true;
}

bool Exchange::request_head(MessageHead head) {
  req_ = std::move(head);
  metrics().add(metrics().requests);
  if (req_.method == "CONNECT") {
    block(BlockReason::bad_request, 400, "CONNECT inside a tunnel", true);
    return false;
  }
  verdict_ = evaluate_request(*snap_, req_, ctx_.arrival);
  if (verdict_.block) {
    if (!verdict_.findings.empty()) metrics().add(metrics().dlp_findings, verdict_.findings.size());
    // A refused request's body can be read and dropped so the connection stays usable.
    block(*verdict_.block, verdict_.status, verdict_.detail,
          verdict_.status != 403 || !req_.keep_alive || (req_.has_body() && req_.header("expect")),
          verdict_.findings);
    return false;
  }
  note(verdict_.findings);
  log_warn(log_level(), facts(), "outbound", verdict_.findings);

  if (verdict_.body_dlp != config::DlpAction::off && req_.has_body()) {
    bool too_large = req_.content_length && *req_.content_length > verdict_.max_body_bytes;
    if (too_large && !verdict_.stream_large_bodies &&
        verdict_.body_dlp == config::DlpAction::block) {
      block(BlockReason::body_too_large, 403,
            "body of " + std::to_string(*req_.content_length) + " bytes exceeds dlp.max_body_bytes",
            true);
      return false;
    }
    out_scan_ = std::make_unique<BodyInspector>(*snap_->scanner, dlp::Direction::outbound, "body",
                                                req_.header("content-encoding"), kMaxDecodedBody);
    // "block" means nothing leaves before the scan said yes: hold the body (bounded, and
    // drawn from the process budget: a declared length is taken at once).
    hold_body_ = verdict_.body_dlp == config::DlpAction::block && !too_large;
    if (hold_body_ && !body_lease_.resize(req_.content_length.value_or(0))) {
      busy();
      return false;
    }
  }
  log_request(log_level(), facts());
  return true;
}

void Exchange::send_head(bool ends_request) {
  UpstreamRequestHead uh;
  uh.ends_request = ends_request;
  uh.origin_target = verdict_.origin_target;
  std::string host = verdict_.target.host_header(verdict_.upstream_tls ? 443 : 80);
  uh.host_header = host;
  uh.inject_name = verdict_.inject_name;
  uh.inject_value = injected_value(verdict_);
  uh.websocket = verdict_.websocket;
  if (verdict_.accept_encoding) uh.accept_encoding = *verdict_.accept_encoding;
  head_sent_ = true;
  io_.upstream_head(req_, uh);
}

void Exchange::upstream_ready() {
  if (over_) return;
  upstream_ready_ = true;
  if (hold_body_) {
    if (request_ended_) {  // the whole body was read (and scanned) while dialing
      release_held(true);
      io_.upstream_end(trailers_);
      request_sent_ = true;
    }
    return;
  }
  send_head(request_ended_ && early_.empty() && trailers_.empty());
  if (!early_.empty()) io_.upstream_body(std::exchange(early_, std::string()));
  if (request_ended_) {
    // A bodyless request sent again on a fresh connection, or one that ended while the
    // upstream was connecting.
    io_.upstream_end(trailers_);
    request_sent_ = true;
  }
}

bool Exchange::may_resend() const {
  static constexpr std::string_view kIdempotent[] = {"GET",   "HEAD",   "OPTIONS",
                                                     "TRACE", "PUT",    "DELETE"};
  const bool idempotent = std::find(std::begin(kIdempotent), std::end(kIdempotent),
                                    req_.method) != std::end(kIdempotent);
  return idempotent && !over_ && !response_head_sent_ && !req_.has_body() && !req_.upgrade &&
         !verdict_.websocket;
}

bool Exchange::request_body(std::string_view chunk) {
  if (over_) return false;
  body_bytes_ += chunk.size();
  bytes_up_ += chunk.size();
  if (out_scan_) {
    std::vector<dlp::Finding> found;
    bool readable = out_scan_->feed(chunk, found);
    if (!judge_outbound_body(readable, found)) return false;
  }
  if (hold_body_) {
    if (body_bytes_ > body_lease_.held() && body_bytes_ <= verdict_.max_body_bytes &&
        !body_lease_.resize(body_bytes_)) {
      busy();  // a body without a declared length grew past what the budget has left
      return false;
    }
    if (body_bytes_ > verdict_.max_body_bytes) {
      if (!verdict_.stream_large_bodies) {
        block(BlockReason::body_too_large, 403, "request body exceeds dlp.max_body_bytes", true);
        return false;
      }
      // The route opted into streaming: release what was held and stream the rest.
      hold_body_ = false;
      if (upstream_ready_) {
        release_held(false);
        io_.upstream_body(chunk);
      } else {
        for (auto& piece : held_) early_ += piece;
        held_.clear();
        body_lease_.reset();
        early_.append(chunk);
      }
      return true;
    }
    held_.emplace_back(chunk);
    return true;
  }
  if (!upstream_ready_) {
    early_.append(chunk);  // bounded by the adapter's flow control (HTTP/2 stream window)
    return true;
  }
  io_.upstream_body(chunk);
  return true;
}

void Exchange::release_held(bool ended) {
  send_head(ended && held_.empty() && trailers_.empty());
  for (const auto& piece : held_) io_.upstream_body(piece);
  held_.clear();
  hold_body_ = false;
  body_lease_.reset();
}

bool Exchange::judge_outbound_body(bool readable, std::vector<dlp::Finding>& found) {
  bool blocking_mode = verdict_.body_dlp == config::DlpAction::block;
  if (!readable && blocking_mode) {
    block(BlockReason::dlp_outbound, 403, "unreadable request body: " + out_scan_->error(), true);
    return false;
  }
  const bool blocks = judge_findings(verdict_.route->dlp, dlp::Direction::outbound, found);
  if (found.empty()) return true;
  if (blocking_mode && blocks) {
    metrics().add(metrics().dlp_findings, found.size());
    block(BlockReason::dlp_outbound, 403, "secret in request body", true, found);
    return false;
  }
  note(found);
  log_warn(log_level(), facts(), "outbound", found);
  return true;
}

bool Exchange::request_end(const std::vector<Header>& trailers) {
  if (over_) return false;
  if (out_scan_) {
    std::vector<dlp::Finding> found;
    bool readable = out_scan_->finish(found);
    if (!judge_outbound_body(readable, found)) return false;
  }
  // Trailers are headers that come late: the same scan as the head's.
  if (!trailers.empty() && verdict_.body_dlp != config::DlpAction::off) {
    std::vector<dlp::Finding> found;
    for (const auto& t : trailers) {
      auto f = snap_->scanner->scan(t.value, dlp::Direction::outbound, "trailer");
      found.insert(found.end(), f.begin(), f.end());
    }
    const bool blocks = judge_findings(verdict_.route->dlp, dlp::Direction::outbound, found);
    if (verdict_.body_dlp == config::DlpAction::block && blocks) {
      metrics().add(metrics().dlp_findings, found.size());
      block(BlockReason::dlp_outbound, 403, "secret in a request trailer", true, found);
      return false;
    }
    note(found);
    log_warn(log_level(), facts(), "outbound", found);
  }
  request_ended_ = true;
  trailers_ = trailers;
  if (!upstream_ready_) return true;
  if (hold_body_) release_held(true);
  io_.upstream_end(trailers);
  request_sent_ = true;
  return true;
}

// ---- response -----------------------------------------------------------------------

bool Exchange::response_head(MessageHead head) {
  if (over_) return false;
  resp_ = std::move(head);
  if (resp_.status == 101 && verdict_.websocket) {
    // The request offered no extension (Sec-WebSocket-Extensions is never forwarded): an
    // upstream that negotiates one anyway would send frames the gates cannot read.
    if (resp_.header("sec-websocket-extensions")) {
      upstream_error(502, "upstream negotiated a WebSocket extension");
      return false;
    }
    io_.client_head(resp_);
    response_head_sent_ = true;
    start_ws_inspection();
    return true;
  }
  if (resp_.status < 200) {  // 100/103: passed on, the final response follows
    io_.client_head(resp_);
    return true;
  }
  response_head_sent_ = true;
  if (verdict_.route && verdict_.route->dlp.inbound != config::DlpAction::off) {
    in_scan_ = std::make_unique<BodyInspector>(*snap_->scanner, dlp::Direction::inbound,
                                               "response_body", resp_.header("content-encoding"),
                                               kMaxDecodedBody);
  }
  io_.client_head(resp_);
  return !over_;
}

bool Exchange::response_body(std::string_view chunk) {
  if (over_) return false;
  bytes_down_ += chunk.size();
  const bool blocking_mode = in_scan_ && verdict_.route->dlp.inbound == config::DlpAction::block;
  if (in_scan_) {
    std::vector<dlp::Finding> found;
    const bool readable = in_scan_->feed(chunk, found);
    if (!judge_inbound(readable, found, "response stream cut")) return false;
  }
  if (!blocking_mode) {
    if (!chunk.empty()) io_.client_body(chunk);
    return !over_;
  }
  // The scanner confirms a signal only once the text after it has arrived, so bytes wait
  // until kResponseHold bytes of text after them are scanned (or for
  // release_response_tail at the end): a cut comes before the agent gets the text that
  // caused it.
  if (!chunk.empty()) {
    resp_held_.push_back({std::string(chunk), in_scan_->scanned()});
    resp_held_bytes_ += chunk.size();
  }
  const uint64_t scanned = in_scan_->scanned();
  const uint64_t readable_to = scanned > kResponseHold ? scanned - kResponseHold : 0;
  while (!resp_held_.empty()) {
    HeldResponse& p = resp_held_.front();
    if (p.scanned_to > readable_to) {
      // Bytes that are their own text may leave in part; compressed ones only whole.
      const uint64_t begin = p.scanned_to - p.bytes.size();
      if (!in_scan_->decodes() && readable_to > begin) {
        const size_t n = static_cast<size_t>(readable_to - begin);
        io_.client_body(std::string_view(p.bytes).substr(0, n));
        p.bytes.erase(0, n);
        resp_held_bytes_ -= n;
      }
      break;
    }
    io_.client_body(p.bytes);
    resp_held_bytes_ -= p.bytes.size();
    resp_held_.pop_front();
  }
  if (resp_held_bytes_ > kMaxResponseHeld) {
    // Compressed bytes that never turn into text (a bounded hold, not a buffer).
    blocked_ = BlockReason::dlp_inbound;
    metrics().block(BlockReason::dlp_inbound);
    log_block(log_level(), facts(), BlockReason::dlp_inbound,
              "response stream cut: 1 MiB of compressed body held without decoding to text", findings_);
    cut();
    return false;
  }
  return !over_;
}

bool Exchange::judge_inbound(bool readable, std::vector<dlp::Finding>& found,
                             std::string_view why) {
  const bool blocks = judge_findings(verdict_.route->dlp, dlp::Direction::inbound, found);
  if (verdict_.route->dlp.inbound == config::DlpAction::block && (!readable || blocks)) {
    if (!found.empty()) metrics().add(metrics().dlp_findings, found.size());
    findings_.insert(findings_.end(), found.begin(), found.end());
    // The head is already out: cutting the stream is the only signal left.
    blocked_ = BlockReason::dlp_inbound;
    metrics().block(BlockReason::dlp_inbound);
    log_block(log_level(), facts(), BlockReason::dlp_inbound,
              readable ? std::string(why) : "unreadable response body: " + in_scan_->error(), found);
    cut();
    return false;
  }
  note(found);
  if (!found.empty() && !warned_inbound_) {
    log_warn(log_level(), facts(), "inbound", found);
    warned_inbound_ = true;
  }
  return true;
}

bool Exchange::release_response_tail() {
  if (in_scan_) {
    std::vector<dlp::Finding> found;
    const bool readable = in_scan_->finish(found);
    if (!judge_inbound(readable, found, "response stream cut before its last bytes")) return false;
    in_scan_.reset();
  }
  for (const HeldResponse& p : resp_held_) io_.client_body(p.bytes);
  resp_held_.clear();
  resp_held_bytes_ = 0;
  return true;
}

bool Exchange::response_end(const std::vector<Header>& trailers) {
  if (over_) return false;
  if (!release_response_tail()) return false;
  io_.client_end(trailers);
  return !over_;
}

void Exchange::finish() {
  if (over_ && !response_head_sent_) return;
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  metrics().observe_latency(seconds);
  metrics().add(metrics().bytes_up, bytes_up_);
  metrics().add(metrics().bytes_down, bytes_down_);
  log_response(log_level(), facts(), resp_.status, bytes_up_, bytes_down_, seconds);
  over_ = true;
  abandon();
  in_scan_.reset();
  out_scan_.reset();
  snap_.reset();  // last: the scans above point into it
}

void Exchange::abandon() {
  held_.clear();
  early_.clear();
  body_lease_.reset();
  ws_lease_.reset();
}

// ---- endings ------------------------------------------------------------------------

void Exchange::refuse(const LocalResponse& answer) {
  over_ = true;
  abandon();
  io_.client_refusal(answer);
}

void Exchange::cut() {
  over_ = true;
  abandon();
  io_.client_cut();
}

void Exchange::block(BlockReason reason, int status, std::string_view detail, bool close,
                     const std::vector<dlp::Finding>& findings) {
  if (over_) return;
  blocked_ = reason;
  findings_.insert(findings_.end(), findings.begin(), findings.end());
  metrics().block(reason);
  log_block(log_level(), facts(), reason, detail, findings);
  if (response_head_sent_) {
    cut();
    return;
  }
  BlockInfo info;
  info.reason = reason;
  info.status = status;
  info.host = verdict_.target.host;
  if (verdict_.route) info.rule = verdict_.route->id;
  info.request_id = ctx_.request_id;
  refuse(block_response(info, close));
}

void Exchange::upstream_error(int status, std::string_view detail) {
  if (over_) return;
  if (log_level() != config::LogLevel::off) {
    log::warn("egress_upstream_error", {{"request_id", ctx_.request_id},
                                        {"host", verdict_.target.host},
                                        {"port", verdict_.target.port},
                                        {"status", status},
                                        {"detail", std::string(detail)}});
  }
  if (response_head_sent_) {
    cut();
    return;
  }
  refuse(plain_answer(status, "egress: upstream error: " + std::string(detail) + "\n"));
}

void Exchange::request_timeout() {
  if (over_) return;
  if (response_head_sent_) {
    cut();
    return;
  }
  refuse(plain_answer(408, "egress: the request body stalled\n"));
}

void Exchange::busy() {
  if (over_) return;
  metrics().add(metrics().buffer_refusals);
  if (log_level() != config::LogLevel::off) {
    log::warn("egress_buffer_full", {{"request_id", ctx_.request_id},
                                     {"host", verdict_.target.host},
                                     {"buffered_bytes", ctx_.budget ? ctx_.budget->in_use() : 0},
                                     {"cap", ctx_.budget ? ctx_.budget->cap() : 0}});
  }
  LocalResponse r =
      plain_answer(503, "egress: too many request bodies held for scanning; retry\n");
  r.headers.push_back({"Retry-After", "1"});
  refuse(r);
}

// ---- WebSocket ----------------------------------------------------------------------

void Exchange::start_ws_inspection() {
  // What the gates need of the route, copied: the snapshot is released so a long-lived
  // WebSocket does not pin an old config.
  ws_open_ = true;
  if (verdict_.route) {
    ws_dlp_ = verdict_.route->dlp;
    ws_rule_ = verdict_.route->id;
    if (ws_dlp_.outbound != config::DlpAction::off)
      ws_out_ = std::make_unique<WsMessageGate>(ws_dlp_.max_body_bytes);
    if (ws_dlp_.inbound != config::DlpAction::off)
      ws_in_ = std::make_unique<WsMessageGate>(ws_dlp_.max_body_bytes);
  }
  out_scan_.reset();
  in_scan_.reset();
  verdict_.route = nullptr;
  snap_.reset();
}

bool Exchange::ws_to_upstream(std::string_view bytes, std::string& out) {
  if (over_) return false;
  if (!ws_out_) {
    out.append(bytes);
    bytes_up_ += bytes.size();
    return true;
  }
  size_t before = out.size();
  if (!gate_ws(*ws_out_, bytes, dlp::Direction::outbound, out)) return false;
  bytes_up_ += out.size() - before;
  return true;
}

bool Exchange::ws_to_client(std::string_view bytes, std::string& out) {
  if (over_) return false;
  if (!ws_in_) {
    out.append(bytes);
    bytes_down_ += bytes.size();
    return true;
  }
  size_t before = out.size();
  if (!gate_ws(*ws_in_, bytes, dlp::Direction::inbound, out)) return false;
  bytes_down_ += out.size() - before;
  return true;
}

bool Exchange::gate_ws(WsMessageGate& gate, std::string_view bytes, dlp::Direction dir,
                       std::string& out) {
  const bool outbound = dir == dlp::Direction::outbound;
  const dlp::Scanner& scanner = *current().scanner;
  std::vector<dlp::Finding> found;
  auto judge = [&](const WsMessage& m) {
    auto f = scanner.scan(m.payload, dir, "ws_frame");
    const bool refuse = judge_findings(ws_dlp_, dir, f);
    found.insert(found.end(), f.begin(), f.end());
    return !refuse;
  };
  WsMessageGate::Outcome outcome = gate.feed(bytes, judge, out);
  note(found);
  std::string why;
  if (outcome != WsMessageGate::Outcome::ok) {
    why = outcome == WsMessageGate::Outcome::refused ? "WebSocket message cut" : gate.error();
  } else if (!ws_lease_.resize((ws_out_ ? ws_out_->held() : 0) + (ws_in_ ? ws_in_->held() : 0))) {
    why = "WebSocket message cut: held bodies reached --max-buffered";
    metrics().add(metrics().buffer_refusals);
  }
  if (!why.empty()) {
    BlockReason reason = outbound ? BlockReason::dlp_outbound : BlockReason::dlp_inbound;
    blocked_ = reason;
    metrics().block(reason);
    log_block(log_level(), facts(), reason, why, found);
    cut();
    return false;
  }
  log_warn(log_level(), facts(), outbound ? "outbound" : "inbound", found);
  return true;
}

}  // namespace bottle::proxy
