#include "proxy/h2_session.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "common/ascii.h"
#include "common/dlp/known_secrets.h"
#include "common/log.h"
#include "proxy/h2_wire.h"

namespace bottle::proxy {
namespace {

constexpr int32_t kStreamWindow = 256 << 10;
constexpr int32_t kConnectionWindow = 32 << 20;
// A stream's response bytes waiting for the client: past kStreamHigh its upstream pauses.
constexpr size_t kStreamHigh = 256 << 10;
constexpr size_t kStreamLow = 64 << 10;
constexpr uint32_t kMaxContinuations = 16;
constexpr uint32_t kMaxSettingsPerSecond = 50;
constexpr uint32_t kMaxPingsPerSecond = 50;
constexpr uint32_t kMaxEmptyPerSecond = 100;
// Rapid reset: a client may reset kResetBurst streams at once, then kResetsPerSecond.
constexpr double kResetBurst = 100;
constexpr double kResetsPerSecond = 20;

std::string_view as_view(const uint8_t* p, size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

std::string websocket_key() {
  char raw[16];
  RAND_bytes(reinterpret_cast<uint8_t*>(raw), sizeof raw);
  return dlp::base64_encode(std::string_view(raw, sizeof raw));
}

}  // namespace

// One request stream: the HTTP/2 adapter of its Exchange, and the owner of its leg.
class H2Stream final : public ExchangeIo, public UpstreamLeg::Owner {
 public:
  H2Stream(H2Session& session, int32_t id) : s_(session), id_(id) {
    last_client_ = last_upstream_ = s_.host().now_ms();
  }
  ~H2Stream() override {
    if (ex_) ex_->abandon();
    leg_.reset();
  }

  // ---- request (from the session callbacks) ----
  int header(std::string_view name, std::string_view value) {
    if (head_done_) {
      trailers_.push_back({std::string(name), std::string(value)});
      return 0;
    }
    if (name == ":method") {
      method_ = value;
    } else if (name == ":path") {
      path_ = value;
    } else if (name == ":authority") {
      authority_ = value;
    } else if (name == ":protocol") {
      protocol_ = value;
    } else if (!name.empty() && name.front() != ':') {
      head_.headers.push_back({std::string(name), std::string(value)});
    }
    return 0;
  }

  void head_complete(bool end_stream) {
    head_done_ = true;
    s_.metrics().add(s_.metrics().h2_streams);
    head_.method = method_;
    head_.target = path_;
    head_.keep_alive = true;
    if (method_ == "CONNECT" && protocol_ == "websocket") {
      // RFC 8441: a WebSocket on this stream. Upstream it is an HTTP/1.1 upgrade.
      websocket_ = true;
      head_.method = "GET";
      head_.upgrade = true;
      head_.headers.push_back({"upgrade", "websocket"});
      head_.headers.push_back({"sec-websocket-key", websocket_key()});
    }
    bool has_host = false;
    for (const auto& h : head_.headers) {
      if (header_name_equals(h.name, "host")) {
        has_host = true;
        // :authority and Host must name the same place (the pipeline checks the tunnel).
        if (!authority_.empty() && ascii_lower(h.value) != ascii_lower(authority_)) {
          head_.headers.push_back({"host", authority_});
          break;
        }
      }
      if (header_name_equals(h.name, "content-length")) {
        uint64_t len = 0;
        for (char c : h.value) len = len * 10 + static_cast<uint64_t>(c - '0');  // validated
        head_.content_length = len;
      }
    }
    if (!has_host && !authority_.empty()) head_.headers.push_back({"host", authority_});
    head_.chunked = !head_.content_length && !end_stream && !websocket_;
    ex_.emplace(s_.host().exchange_context(), static_cast<ExchangeIo&>(*this));
    if (!ex_->request_head(std::move(head_))) return;
    if (end_stream) {
      request_ended_ = true;
      if (!websocket_ && !ex_->request_end()) return;
    }
    leg_ = s_.host().open_leg(ex_->verdict(), ex_->request(), *this, Dial::pooled_or_new);
    leg_->start();
  }

  // Returns how many bytes may be acknowledged now.
  size_t data(std::string_view bytes) {
    last_client_ = s_.host().now_ms();
    if (!ex_ || ex_->over() || !head_done_) return bytes.size();
    if (websocket_) {
      if (!ex_->websocket_open()) {
        // Frames sent before the upstream's 101: kept (unacknowledged, so the stream
        // window bounds them) and gated once the WebSocket is open.
        ws_early_.append(bytes);
        return 0;
      }
      std::string out;
      if (!ex_->ws_to_upstream(bytes, out)) return bytes.size();
      if (leg_ && !out.empty()) leg_->send_raw(out);
    } else if (!ex_->request_body(bytes)) {
      return bytes.size();
    }
    // Acknowledged only once the upstream takes bytes: while dialing, or while its queue is
    // full, the stream window is what the client may send.
    if (!leg_ready_ || (leg_ && leg_->queued() > Transport::kHighWater)) {
      unacked_ += bytes.size();
      return 0;
    }
    return bytes.size();
  }

  void end_of_request() {
    request_ended_ = true;
    // A WebSocket's END_STREAM is the client's half-close: the upstream side goes on.
    if (!ex_ || ex_->over() || !head_done_ || websocket_) return;
    ex_->request_end(trailers_);
  }

  void closed() {
    closed_ = true;
    if (ex_ && !finished_) ex_->abandon();
    if (leg_) leg_->close();
  }

  // ---- ExchangeIo ----
  void upstream_head(const MessageHead& head, const UpstreamRequestHead& wire) override {
    if (leg_) leg_->send_head(head, wire);
  }
  void upstream_body(std::string_view bytes) override {
    if (leg_) leg_->send_body(bytes);
  }
  void upstream_end(const std::vector<Header>& trailers) override {
    if (leg_) leg_->send_end(trailers);
  }
  void client_head(const MessageHead& head) override {
    if (closed_) return;
    const bool accept = websocket_ && head.status == 101;  // RFC 8441: 101 becomes 200
    if (head.status < 200 && !accept) {
      if (head.status == 101) return cut();  // an upgrade the client never asked for
      H2Headers h = h2_response_headers(head, false);
      nghttp2_submit_headers(s_.session(), NGHTTP2_FLAG_NONE, id_, nullptr, h.data(), h.size(),
                             nullptr);
      return;
    }
    H2Headers h = h2_response_headers(head, accept);
    const bool bodyless = !accept && (ex_->request().method == "HEAD" || head.status == 204 ||
                                      head.status == 304);
    submit(h, bodyless);
  }
  void client_body(std::string_view bytes) override {
    if (closed_ || !provider_) return;
    out_.append(bytes);
    nghttp2_session_resume_data(s_.session(), id_);
    if (out_.size() > kStreamHigh && leg_ && !leg_->paused()) leg_->pause();
  }
  void client_end(const std::vector<Header>& trailers) override {
    if (closed_ || !provider_) return;
    out_ended_ = true;
    out_trailers_ = trailers;
    nghttp2_session_resume_data(s_.session(), id_);
  }
  void client_refusal(const LocalResponse& answer) override {
    if (leg_) leg_->close();
    if (closed_) return;
    refused_ = true;
    H2Headers h = h2_local_response(answer);
    out_ = answer.body;
    out_ended_ = true;
    submit(h, false);
  }
  void client_cut() override {
    if (leg_) leg_->close();
    cut();
  }

  // ---- UpstreamLeg::Owner ----
  void on_leg_ready() override {
    last_upstream_ = s_.host().now_ms();
    leg_ready_ = true;
    if (ex_) ex_->upstream_ready();
    on_leg_drained();
  }
  void on_leg_head(MessageHead head) override {
    last_upstream_ = s_.host().now_ms();
    if (ex_ && ex_->response_head(std::move(head)) && ex_->websocket_open() && !ws_early_.empty()) {
      std::string early = std::exchange(ws_early_, std::string());
      std::string out;
      if (ex_->ws_to_upstream(early, out) && leg_ && !out.empty()) leg_->send_raw(out);
      if (!closed_) nghttp2_session_consume(s_.session(), id_, early.size());
    }
    s_.flush_soon();
  }
  void on_leg_body(std::string_view bytes) override {
    last_upstream_ = s_.host().now_ms();
    if (!ex_) return;
    if (ex_->websocket_open()) {
      std::string out;
      if (ex_->ws_to_client(bytes, out) && !out.empty()) client_body(out);
    } else {
      ex_->response_body(bytes);
    }
    s_.flush_soon();
  }
  void on_leg_end(const std::vector<Header>& trailers) override {
    last_upstream_ = s_.host().now_ms();
    if (!ex_) return;
    if (ex_->websocket_open()) {
      client_end({});
    } else if (ex_->response_end(trailers)) {
      ex_->finish();
      finished_ = true;
      if (leg_) leg_->done();
    }
    s_.flush_soon();
  }
  void on_leg_failed(UpstreamConn::Failure kind, std::string_view why, bool stale) override {
    if (!ex_ || ex_->over()) return;
    if (stale && request_ended_ && ex_->may_resend() && !websocket_ && !retried_) {
      // A pooled connection the server had closed: the bodyless idempotent request goes
      // again, on a new connection (the other pooled ones may be just as dead).
      retried_ = true;
      s_.bury(std::move(leg_));
      leg_ = s_.host().open_leg(ex_->verdict(), ex_->request(), *this, Dial::new_only);
      leg_->start();
      s_.flush_soon();
      return;
    }
    if (kind == UpstreamConn::Failure::ssrf) {
      ex_->block(BlockReason::ssrf_blocked, 403, why, true);
    } else {
      s_.metrics().add(s_.metrics().upstream_errors);
      ex_->upstream_error(502, why);
    }
    s_.flush_soon();
  }
  void on_leg_drained() override {
    if (unacked_ > 0 && !closed_) {
      nghttp2_session_consume(s_.session(), id_, unacked_);
      unacked_ = 0;
    }
    s_.flush_soon();
  }

  // ---- deadlines ----
  // Returns the phase that ran out, or nullptr.
  const char* expired(uint64_t now) const {
    if (closed_ || !ex_ || ex_->over() || finished_) return nullptr;
    const Timeouts& t = s_.timeouts();
    if (ex_->websocket_open()) {
      return now - std::max(last_client_, last_upstream_) >= t.websocket_ms ? "websocket"
                                                                             : nullptr;
    }
    if (!leg_ready_) return now - last_upstream_ >= t.connect_ms ? "connect" : nullptr;
    if (!out_.empty() && now - last_sent_ >= t.client_ms && last_sent_ >= last_upstream_)
      return "client_not_reading";
    if (!request_ended_ && !ex_->response_started() && unacked_ == 0 &&
        now - last_client_ >= t.body_ms)
      return "request_body";
    if (now - last_upstream_ >= t.upstream_ms && (out_.empty() || now - last_sent_ >= t.client_ms))
      return "response";
    return nullptr;
  }
  void time_out(const char* phase) {
    s_.metrics().add(s_.metrics().timeouts);
    if (ex_->log_level() != config::LogLevel::off) {
      log::warn("egress_timeout", {{"request_id", ex_->request_id()},
                                   {"phase", phase},
                                   {"host", ex_->verdict().target.host}});
    }
    if (leg_) leg_->close();
    const std::string_view p = phase;
    if (p == "request_body") {
      ex_->request_timeout();
    } else if (p == "connect") {
      ex_->upstream_error(504, "upstream connect timed out");
    } else if (p == "response") {
      ex_->upstream_error(504, "upstream sent no response in time");
    } else {
      ex_->abandon();
      cut();
    }
  }

  // nghttp2 pulls response bytes from here.
  static ssize_t read_out(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                          uint32_t* flags, nghttp2_data_source* source, void*) {
    auto* st = static_cast<H2Stream*>(source->ptr);
    size_t n = std::min(length, st->out_.size() - st->out_pos_);
    std::memcpy(buf, st->out_.data() + st->out_pos_, n);
    st->out_pos_ += n;
    if (st->out_pos_ == st->out_.size()) {
      st->out_.clear();
      st->out_pos_ = 0;
    } else if (st->out_pos_ > (64 << 10)) {
      st->out_.erase(0, st->out_pos_);
      st->out_pos_ = 0;
    }
    if (n > 0) st->last_sent_ = st->s_.host().now_ms();
    if (st->leg_ && st->leg_->paused() && st->out_.size() < kStreamLow && !st->want_resume_) {
      st->want_resume_ = true;
      st->s_.want_resume(st);
    }
    if (st->out_.empty() && st->out_ended_) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!st->out_trailers_.empty()) {
        H2Headers t = h2_trailers(st->out_trailers_);
        if (t.size() > 0 && nghttp2_submit_trailer(session, stream_id, t.data(), t.size()) == 0)
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
      return static_cast<ssize_t>(n);
    }
    if (n == 0) return NGHTTP2_ERR_DEFERRED;
    return static_cast<ssize_t>(n);
  }

  bool take_resume() {
    if (!want_resume_) return false;
    want_resume_ = false;
    if (leg_ && !closed_) leg_->resume();
    return true;
  }

  bool refused() const { return refused_; }
  bool request_ended() const { return request_ended_; }
  int32_t id() const { return id_; }
  size_t take_unacked() { return std::exchange(unacked_, 0); }

 private:
  void submit(H2Headers& h, bool bodyless) {
    nghttp2_data_provider prd{};
    prd.source.ptr = this;
    prd.read_callback = &H2Stream::read_out;
    provider_ = !bodyless;
    int r = nghttp2_submit_response(s_.session(), id_, h.data(), h.size(),
                                    bodyless ? nullptr : &prd);
    if (r != 0) cut();
  }
  void cut() {
    if (closed_ || cut_) return;
    cut_ = true;
    nghttp2_submit_rst_stream(s_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
  }

  H2Session& s_;
  int32_t id_;
  std::string method_, path_, authority_, protocol_;
  MessageHead head_;
  bool head_done_ = false;
  bool websocket_ = false;
  std::vector<Header> trailers_;
  std::string ws_early_;  // RFC 8441: frames that came before the upstream accepted
  std::optional<Exchange> ex_;
  std::unique_ptr<UpstreamLeg> leg_;
  bool leg_ready_ = false;
  bool request_ended_ = false;
  bool finished_ = false;
  bool refused_ = false;
  bool cut_ = false;
  bool closed_ = false;
  bool retried_ = false;
  bool provider_ = false;
  size_t unacked_ = 0;  // request bytes taken but not yet acknowledged (upstream busy)
  std::string out_;     // response bytes for the client, from out_pos_
  size_t out_pos_ = 0;
  bool out_ended_ = false;
  std::vector<Header> out_trailers_;
  bool want_resume_ = false;
  uint64_t last_client_ = 0, last_upstream_ = 0, last_sent_ = 0;
};

// ---- session ------------------------------------------------------------------------

H2Session::H2Session(Host& host, Metrics& metrics, const Timeouts& timeouts)
    : host_(host), metrics_(metrics), timeouts_(timeouts) {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, &H2Session::on_begin_frame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &H2Session::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &H2Session::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &H2Session::on_frame_recv);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, &H2Session::on_invalid_frame);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &H2Session::on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, &H2Session::on_frame_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &H2Session::on_stream_close);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_no_auto_window_update(opt, 1);
  // Our own limits are lower and count what they stop; these are the library's backstops.
  nghttp2_option_set_max_continuations(opt, 64);
  nghttp2_option_set_max_settings(opt, 32);
  nghttp2_session_server_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  last_activity_ = host_.now_ms();
  reset_tokens_ = kResetBurst;
  reset_refill_ = last_activity_;
}

H2Session::~H2Session() {
  streams_.clear();
  graveyard_.clear();
  dead_legs_.clear();
  nghttp2_session_del(session_);
}

void H2Session::start() {
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, kMaxHeaderBlock},
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 4);
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  metrics_.add(metrics_.h2_connections);
  flush();
}

H2Stream* H2Session::stream(int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void H2Session::on_client_data(std::string_view bytes) {
  if (over_) return;
  last_activity_ = host_.now_ms();
  ++in_recv_;
  ssize_t n = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                       bytes.size());
  --in_recv_;
  if (n < 0 && !abusive_) {
    // A protocol error nghttp2 already answered with GOAWAY (or a fatal one).
    if (n == NGHTTP2_ERR_FLOODED) abuse(H2Abuse::ping_flood);
    nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
  }
  flush();
}

void H2Session::on_client_eof() {
  over_ = true;
  for (auto& [id, st] : streams_) st->closed();
}

int H2Session::abuse(H2Abuse kind) {
  if (!abusive_) {
    abusive_ = true;
    metrics_.abuse(kind);
    log::warn("egress_h2_abuse", {{"kind", std::string(abuse_name(kind))}});
    nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
  }
  return NGHTTP2_ERR_CALLBACK_FAILURE;
}

bool H2Session::over_rate(uint32_t& count, uint64_t& window_start, uint32_t limit) {
  uint64_t now = host_.now_ms();
  if (now - window_start >= 1000) {
    window_start = now;
    count = 0;
  }
  return ++count > limit;
}

int H2Session::on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* user_data) {
  auto* self = static_cast<H2Session*>(user_data);
  if (self->abusive_) return NGHTTP2_ERR_CALLBACK_FAILURE;
  switch (hd->type) {
    case NGHTTP2_HEADERS:
      self->continuations_ = 0;
      self->header_bytes_ = 0;
      if (hd->length == 0 && !(hd->flags & NGHTTP2_FLAG_END_HEADERS) &&
          self->over_rate(self->empties_, self->empties_window_, kMaxEmptyPerSecond))
        return self->abuse(H2Abuse::empty_frames);
      break;
    case NGHTTP2_CONTINUATION:
      if (++self->continuations_ > kMaxContinuations)
        return self->abuse(H2Abuse::continuation_flood);
      if (hd->length == 0 &&
          self->over_rate(self->empties_, self->empties_window_, kMaxEmptyPerSecond))
        return self->abuse(H2Abuse::empty_frames);
      break;
    case NGHTTP2_DATA:
      if (hd->length == 0 && !(hd->flags & NGHTTP2_FLAG_END_STREAM) &&
          self->over_rate(self->empties_, self->empties_window_, kMaxEmptyPerSecond))
        return self->abuse(H2Abuse::empty_frames);
      break;
    case NGHTTP2_SETTINGS:
      if (!(hd->flags & NGHTTP2_FLAG_ACK) &&
          self->over_rate(self->settings_, self->settings_window_, kMaxSettingsPerSecond))
        return self->abuse(H2Abuse::settings_flood);
      break;
    case NGHTTP2_PING:
      if (self->over_rate(self->pings_, self->pings_window_, kMaxPingsPerSecond))
        return self->abuse(H2Abuse::ping_flood);
      break;
    default:
      break;
  }
  return 0;
}

int H2Session::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  auto* self = static_cast<H2Session*>(user_data);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  if (self->draining_) {
    nghttp2_submit_rst_stream(self->session_, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                              NGHTTP2_REFUSED_STREAM);
    return 0;
  }
  self->streams_[frame->hd.stream_id] = std::make_unique<H2Stream>(*self, frame->hd.stream_id);
  return 0;
}

int H2Session::on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                         size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                         void* user_data) {
  auto* self = static_cast<H2Session*>(user_data);
  // The decoded size, as SETTINGS_MAX_HEADER_LIST_SIZE counts it: a few bytes on the wire
  // that index a large table entry again and again decode to megabytes.
  self->header_bytes_ += namelen + valuelen + 32;
  if (self->header_bytes_ > kMaxHeaderBlock) return self->abuse(H2Abuse::hpack_bomb);
  H2Stream* st = self->stream(frame->hd.stream_id);
  if (!st) return 0;
  return st->header(as_view(name, namelen), as_view(value, valuelen));
}

int H2Session::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  auto* self = static_cast<H2Session*>(user_data);
  const bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
  if (frame->hd.type == NGHTTP2_RST_STREAM) {
    uint64_t now = self->host_.now_ms();
    self->reset_tokens_ = std::min(
        kResetBurst, self->reset_tokens_ + (now - self->reset_refill_) * kResetsPerSecond / 1000);
    self->reset_refill_ = now;
    if ((self->reset_tokens_ -= 1) < 0) return self->abuse(H2Abuse::rapid_reset);
    return 0;
  }
  H2Stream* st = self->stream(frame->hd.stream_id);
  if (!st) return 0;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      st->head_complete(end);
      return 0;
    }
    if (end) st->end_of_request();  // trailers
    return 0;
  }
  if (frame->hd.type == NGHTTP2_DATA && end) st->end_of_request();
  return 0;
}

int H2Session::on_invalid_frame(nghttp2_session*, const nghttp2_frame* frame, int lib_error,
                                void* user_data) {
  auto* self = static_cast<H2Session*>(user_data);
  if (frame->hd.type == NGHTTP2_HEADERS && self->streams_.size() >= kMaxConcurrentStreams) {
    self->abuse(H2Abuse::too_many_streams);
  } else if (frame->hd.type == NGHTTP2_WINDOW_UPDATE && lib_error == NGHTTP2_ERR_FLOW_CONTROL) {
    self->abuse(H2Abuse::window_overflow);
  }
  return 0;
}

int H2Session::on_data_chunk(nghttp2_session* session, uint8_t, int32_t stream_id,
                             const uint8_t* data, size_t len, void* user_data) {
  auto* self = static_cast<H2Session*>(user_data);
  H2Stream* st = self->stream(stream_id);
  size_t ack = st ? st->data(as_view(data, len)) : len;
  if (ack > 0) nghttp2_session_consume(session, stream_id, ack);
  return 0;
}

int H2Session::on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  auto* self = static_cast<H2Session*>(user_data);
  H2Stream* st = self->stream(frame->hd.stream_id);
  // A refused request whose upload is still coming: its answer is out, so the rest of
  // the upload is refused too (RFC 9113 §8.1).
  if (st && st->refused() && !st->request_ended() && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
      (frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS)) {
    nghttp2_submit_rst_stream(self->session_, NGHTTP2_FLAG_NONE, st->id(), NGHTTP2_NO_ERROR);
  }
  return 0;
}

int H2Session::on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t, void* user_data) {
  auto* self = static_cast<H2Session*>(user_data);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) return 0;
  it->second->closed();
  self->last_activity_ = self->host_.now_ms();  // idle counts from the last stream's end
  self->resumes_.erase(std::remove(self->resumes_.begin(), self->resumes_.end(), it->second.get()),
                       self->resumes_.end());
  self->graveyard_.push_back(std::move(it->second));
  self->streams_.erase(it);
  self->flush_soon();
  return 0;
}

void H2Session::bury(std::unique_ptr<UpstreamLeg> leg) {
  if (!leg) return;
  leg->close();
  dead_legs_.push_back(std::move(leg));
  flush_soon();
}

void H2Session::flush_soon() {
  if (scheduled_) return;
  scheduled_ = true;
  host_.schedule_later();
}

void H2Session::later() {
  scheduled_ = false;
  graveyard_.clear();
  dead_legs_.clear();
  flush();
}

void H2Session::flush() {
  if (in_recv_ > 0 || in_flush_ || !session_) return;
  in_flush_ = true;
  std::string out;
  for (int round = 0; round < 8; ++round) {
    while (host_.client_queued() + out.size() < Transport::kHighWater &&
           nghttp2_session_want_write(session_)) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n <= 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    // Streams whose client caught up let their upstream go on (outside mem_send).
    if (resumes_.empty()) break;
    std::vector<H2Stream*> resume;
    resume.swap(resumes_);
    for (H2Stream* st : resume) st->take_resume();
  }
  if (!out.empty()) host_.write_client(out);
  in_flush_ = false;
  finish_if_done();
}

void H2Session::finish_if_done() {
  if (over_) return;
  if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
    over_ = true;
    for (auto& [id, st] : streams_) st->closed();
    host_.close_client();
  }
}

void H2Session::drain() {
  if (draining_ || over_) return;
  draining_ = true;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  flush();
  if (streams_.empty()) {
    over_ = true;
    host_.close_client();
  }
}

uint64_t H2Session::check_interval_ms() const {
  const Timeouts& t = timeouts_;
  return std::min({uint64_t{1000}, t.idle_ms, t.connect_ms, t.body_ms, t.upstream_ms, t.client_ms,
                   t.websocket_ms});
}

void H2Session::tick() {
  if (over_) return;
  const uint64_t now = host_.now_ms();
  std::vector<std::pair<H2Stream*, const char*>> late;
  for (auto& [id, st] : streams_) {
    if (const char* phase = st->expired(now)) late.emplace_back(st.get(), phase);
  }
  for (auto& [st, phase] : late) st->time_out(phase);
  if (streams_.empty() && now - last_activity_ >= timeouts_.idle_ms) {
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
    flush();
    over_ = true;
    host_.close_client();
    return;
  }
  flush();
}

}  // namespace bottle::proxy
