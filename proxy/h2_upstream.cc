#include "proxy/h2_upstream.h"

#include <algorithm>
#include <cstring>

#include "proxy/worker.h"

namespace bottle::proxy {
namespace {

constexpr int32_t kStreamWindow = 256 << 10;
constexpr int32_t kConnectionWindow = 16 << 20;

std::string_view as_view(const uint8_t* p, size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

}  // namespace

// ---- H2Leg --------------------------------------------------------------------------

H2Leg::H2Leg(Worker& worker, const Verdict& v, const MessageHead& request,
             UpstreamLeg::Owner& owner)
    : worker_(worker), verdict_(v), owner_(owner) {
  request_shape_.method = request.method;
  request_shape_.chunked = request.chunked;
  request_shape_.content_length = request.content_length;
  // Announced trailers make an HTTP/1.1 body chunked (H1Leg).
  if (auto trailer = request.header("trailer")) request_shape_.headers.push_back({"trailer", *trailer});
}

H2Leg::~H2Leg() {
  close();
}

void H2Leg::start() {
  conn_ = H2Upstream::for_leg(worker_, verdict_);
  conn_->attach(this);
}

void H2Leg::on_connection_ready() {
  owner_.on_leg_ready();
}

void H2Leg::fall_back_to_h1(UpstreamConn* conn) {
  conn_ = nullptr;
  h1_ = std::make_unique<H1Leg>(worker_, verdict_, request_shape_, owner_, conn);
  h1_->start();
}

void H2Leg::on_connection_failed(UpstreamConn::Failure kind, std::string_view why) {
  conn_ = nullptr;
  stream_id_ = -1;
  if (failed_ || ended_) return;
  failed_ = true;
  owner_.on_leg_failed(kind, why, false);
}

void H2Leg::send_head(const MessageHead& head, const UpstreamRequestHead& wire) {
  if (h1_) return h1_->send_head(head, wire);
  if (!conn_) return;
  pending_head_ = h2_request_headers(head, wire);
  head_pending_ = true;
  out_ended_ = wire.ends_request;
  conn_->attach(this);  // submits now that the head is known
  conn_->flush_soon();
}

void H2Leg::send_body(std::string_view bytes) {
  if (h1_) return h1_->send_body(bytes);
  if (!conn_ || bytes.empty()) return;
  out_.append(bytes);
  if (stream_id_ > 0) nghttp2_session_resume_data(conn_->session(), stream_id_);
  conn_->flush_soon();
}

void H2Leg::send_end(const std::vector<Header>& trailers) {
  if (h1_) return h1_->send_end(trailers);
  if (!conn_ || out_ended_) return;
  out_ended_ = true;
  out_trailers_ = trailers;
  if (stream_id_ > 0) nghttp2_session_resume_data(conn_->session(), stream_id_);
  conn_->flush_soon();
}

void H2Leg::send_raw(std::string_view bytes) {
  if (h1_) return h1_->send_raw(bytes);
  send_body(bytes);
}

size_t H2Leg::queued() const {
  if (h1_) return h1_->queued();
  if (out_.size() > Transport::kHighWater) blocked_ = true;
  return out_.size();
}

void H2Leg::pause() {
  if (h1_) return h1_->pause();
  paused_ = true;
}

void H2Leg::resume() {
  if (h1_) return h1_->resume();
  paused_ = false;
  if (unacked_ > 0 && conn_ && stream_id_ > 0) {
    nghttp2_session_consume(conn_->session(), stream_id_, unacked_);
    unacked_ = 0;
    conn_->flush_soon();
  }
}

bool H2Leg::paused() const {
  if (h1_) return h1_->paused();
  return paused_;
}

void H2Leg::done() {
  if (h1_) return h1_->done();
  if (conn_) conn_->detach(this);
  conn_ = nullptr;
}

void H2Leg::close() {
  if (h1_) return h1_->close();
  if (!conn_) return;
  H2Upstream* conn = conn_;
  if (stream_id_ > 0 && !ended_) {
    nghttp2_submit_rst_stream(conn->session(), NGHTTP2_FLAG_NONE, stream_id_, NGHTTP2_CANCEL);
  }
  conn->detach(this);
  conn_ = nullptr;
  conn->flush_soon();
}

ssize_t H2Leg::read_body(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                         uint32_t* flags, nghttp2_data_source* source, void*) {
  auto* leg = static_cast<H2Leg*>(source->ptr);
  size_t n = std::min(length, leg->out_.size());
  std::memcpy(buf, leg->out_.data(), n);
  leg->out_.erase(0, n);
  if (leg->out_.empty() && leg->out_ended_) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!leg->out_trailers_.empty()) {
      H2Headers t = h2_trailers(leg->out_trailers_);
      if (t.size() > 0 && nghttp2_submit_trailer(session, stream_id, t.data(), t.size()) == 0) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
    }
    return static_cast<ssize_t>(n);
  }
  if (n == 0) return NGHTTP2_ERR_DEFERRED;
  return static_cast<ssize_t>(n);
}

// ---- H2Upstream ---------------------------------------------------------------------

H2Upstream* H2Upstream::for_leg(Worker& worker, const Verdict& v) {
  std::string key = UpstreamConn::pool_key(v.target, true, v.route && v.route->allow_private);
  if (H2Upstream* h = worker.h2_upstream(key); h && h->usable()) return h;
  auto* h = new H2Upstream(worker, v, key);  // deletes itself (reaper_) once closed and unused
  worker.set_h2_upstream(key, h);
  return h;
}

H2Upstream::H2Upstream(Worker& worker, const Verdict& v, std::string key)
    : worker_(worker),
      key_(std::move(key)),
      idle_(worker.loop(), [this] { retire(); }),
      reaper_(worker.loop(), [this] { delete this; }),
      flusher_(worker.loop(), [this] { flush(); }) {
  up_ = UpstreamConn::create(worker, v.target, true, v.route && v.route->allow_private, this, true);
  worker_.mutable_metrics().add(worker_.mutable_metrics().h2_upstream_connections);
}

H2Upstream::~H2Upstream() {
  if (worker_.h2_upstream(key_) == this) worker_.set_h2_upstream(key_, nullptr);
  if (session_) nghttp2_session_del(session_);
  if (up_) up_->close();
}

bool H2Upstream::usable() const {
  return !closing_ && !retired_;
}

void H2Upstream::attach(H2Leg* leg) {
  idle_.disarm();
  if (closing_) {
    leg->on_connection_failed(UpstreamConn::Failure::connect, "upstream connection closed");
    return;
  }
  if (ready_ && leg->head_pending_) {
    waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), leg), waiting_.end());
    open_stream(leg);
    return;
  }
  if (std::find(waiting_.begin(), waiting_.end(), leg) == waiting_.end()) waiting_.push_back(leg);
  if (ready_) {
    leg->on_connection_ready();
  } else if (!dialing_) {
    dialing_ = true;
    up_->start();  // may fail at once (SSRF on a pinned address): fail_all answers
  }
}

void H2Upstream::detach(H2Leg* leg) {
  waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), leg), waiting_.end());
  if (leg->stream_id_ > 0) {
    streams_.erase(leg->stream_id_);
    leg->stream_id_ = -1;
  }
  maybe_close();
}

void H2Upstream::open_stream(H2Leg* leg) {
  leg->head_pending_ = false;
  nghttp2_data_provider prd{};
  prd.source.ptr = leg;
  prd.read_callback = &H2Leg::read_body;
  const bool body = !(leg->out_ended_ && leg->out_.empty() && leg->out_trailers_.empty());
  int32_t id = nghttp2_submit_request(session_, nullptr, leg->pending_head_.data(),
                                      leg->pending_head_.size(), body ? &prd : nullptr, leg);
  if (id < 0) {
    leg->on_connection_failed(UpstreamConn::Failure::protocol,
                              std::string("submitting the request: ") + nghttp2_strerror(id));
    return;
  }
  leg->stream_id_ = id;
  streams_[id] = leg;
}

H2Leg* H2Upstream::leg_of(int32_t stream_id) {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : it->second;
}

void H2Upstream::flush() {
  if (!session_ || !up_ || in_flush_ > 0) return;
  ++in_flush_;
  {
    CorkScope cork(up_->transport());
    while (up_ && up_->queued() < Transport::kHighWater && nghttp2_session_want_write(session_)) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        --in_flush_;
        fail_all(UpstreamConn::Failure::protocol, nghttp2_strerror(static_cast<int>(n)));
        return;
      }
      if (n == 0) break;
      up_->write(as_view(data, static_cast<size_t>(n)));
    }
  }
  --in_flush_;
  if (up_ && !nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
    fail_all(UpstreamConn::Failure::protocol, "upstream ended the HTTP/2 session");
  }
}

void H2Upstream::on_upstream_ready(UpstreamConn& up) {
  if (&up != up_) return;
  if (!up.speaks_h2()) {
    // The upstream answered the h2 offer with http/1.1: remembered, and the waiting legs
    // go HTTP/1.1 (the first one on this very connection).
    worker_.mark_upstream_h1(key_);
    closing_ = true;
    UpstreamConn* conn = up_;
    up_ = nullptr;
    conn->detach();
    std::vector<H2Leg*> legs;
    legs.swap(waiting_);
    for (H2Leg* l : legs) {
      l->fall_back_to_h1(conn);
      conn = nullptr;
    }
    if (conn) conn->release_to_pool();
    reaper_.arm(0);
    return;
  }
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &H2Upstream::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &H2Upstream::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &H2Upstream::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &H2Upstream::on_stream_close);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_session_client_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                       {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow}};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2);
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  ready_ = true;
  // Each waiting leg hears "ready"; its exchange sends the head, which opens the stream.
  std::vector<H2Leg*> legs = waiting_;
  for (H2Leg* l : legs) {
    if (std::find(waiting_.begin(), waiting_.end(), l) != waiting_.end()) l->on_connection_ready();
  }
  flush();
}

void H2Upstream::on_upstream_data(UpstreamConn& up, std::string_view data) {
  if (&up != up_ || !session_) return;
  ssize_t n = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data.data()),
                                       data.size());
  if (n < 0) {
    fail_all(UpstreamConn::Failure::protocol,
             std::string("upstream HTTP/2 error: ") + nghttp2_strerror(static_cast<int>(n)));
    return;
  }
  flush();
  // Streams whose owner found them full hear when nghttp2 took their request body.
  std::vector<H2Leg*> legs;
  for (auto& [id, l] : streams_) {
    if (l->blocked_ && l->out_.size() < Transport::kLowWater) legs.push_back(l);
  }
  for (H2Leg* l : legs) {
    l->blocked_ = false;
    if (leg_of(l->stream_id_) == l) l->owner_.on_leg_drained();
  }
}

void H2Upstream::on_upstream_eof(UpstreamConn& up) {
  if (&up != up_) return;
  fail_all(UpstreamConn::Failure::protocol, "upstream closed the HTTP/2 connection");
}

void H2Upstream::on_upstream_failed(UpstreamConn& up, UpstreamConn::Failure kind,
                                    std::string_view why) {
  if (&up != up_) return;
  up_ = nullptr;  // it closes itself
  fail_all(kind, why);
}

void H2Upstream::on_upstream_drained(UpstreamConn& up) {
  if (&up != up_) return;
  flush();
}

void H2Upstream::fail_all(UpstreamConn::Failure kind, std::string_view why) {
  if (closing_) return;
  closing_ = true;
  if (worker_.h2_upstream(key_) == this) worker_.set_h2_upstream(key_, nullptr);
  if (up_) {
    up_->close();
    up_ = nullptr;
  }
  std::vector<H2Leg*> legs = waiting_;
  for (auto& [id, l] : streams_) legs.push_back(l);
  waiting_.clear();
  streams_.clear();
  std::string reason(why);
  for (H2Leg* l : legs) l->on_connection_failed(kind, reason);
  reaper_.arm(0);
}

void H2Upstream::retire() {
  retired_ = true;
  if (worker_.h2_upstream(key_) == this) worker_.set_h2_upstream(key_, nullptr);
  maybe_close();
}

void H2Upstream::maybe_close() {
  if (closing_ || !streams_.empty() || !waiting_.empty()) return;
  if (!retired_) {
    idle_.arm(kIdleMs);
    return;
  }
  closing_ = true;
  if (session_ && up_) {
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
    flush();
  }
  if (up_) {
    up_->close();
    up_ = nullptr;
  }
  reaper_.arm(0);
}

int H2Upstream::on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                          size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                          void* user_data) {
  auto* self = static_cast<H2Upstream*>(user_data);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  H2Leg* leg = self->leg_of(frame->hd.stream_id);
  if (!leg) return 0;
  std::string_view n = as_view(name, namelen), v = as_view(value, valuelen);
  if (leg->in_trailers_) {
    leg->resp_trailers_.push_back({std::string(n), std::string(v)});
    return 0;
  }
  if (n == ":status") {
    leg->resp_.status = 0;
    for (char c : v) leg->resp_.status = leg->resp_.status * 10 + (c - '0');
    return 0;
  }
  if (!n.empty() && n.front() == ':') return 0;
  if (n == "content-length") {
    uint64_t len = 0;
    for (char c : v) len = len * 10 + static_cast<uint64_t>(c - '0');  // nghttp2 validated it
    leg->resp_.content_length = len;
  }
  leg->resp_.headers.push_back({std::string(n), std::string(v)});
  return 0;
}

int H2Upstream::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  auto* self = static_cast<H2Upstream*>(user_data);
  H2Leg* leg = self->leg_of(frame->hd.stream_id);
  if (!leg) return 0;
  const bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    if (!leg->in_trailers_) {
      MessageHead head = std::move(leg->resp_);
      leg->resp_ = MessageHead{};
      const int status = head.status;
      if (status >= 200) leg->in_trailers_ = true;  // any later HEADERS are trailers
      leg->owner_.on_leg_head(std::move(head));
      if (self->leg_of(frame->hd.stream_id) != leg) return 0;
    }
  }
  if (end && (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      !leg->ended_) {
    leg->ended_ = true;
    leg->owner_.on_leg_end(leg->resp_trailers_);
  }
  return 0;
}

int H2Upstream::on_data_chunk(nghttp2_session* session, uint8_t, int32_t stream_id,
                              const uint8_t* data, size_t len, void* user_data) {
  auto* self = static_cast<H2Upstream*>(user_data);
  H2Leg* leg = self->leg_of(stream_id);
  if (!leg) {
    nghttp2_session_consume(session, stream_id, len);
    return 0;
  }
  leg->owner_.on_leg_body(as_view(data, len));
  if (self->leg_of(stream_id) != leg) return 0;
  if (leg->paused_) {
    leg->unacked_ += len;
  } else {
    nghttp2_session_consume(session, stream_id, len);
  }
  return 0;
}

int H2Upstream::on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                                void* user_data) {
  auto* self = static_cast<H2Upstream*>(user_data);
  H2Leg* leg = self->leg_of(stream_id);
  if (!leg) return 0;
  self->streams_.erase(stream_id);
  leg->stream_id_ = -1;
  if (!leg->ended_ && !leg->failed_) {
    leg->failed_ = true;
    leg->owner_.on_leg_failed(UpstreamConn::Failure::protocol,
                              std::string("upstream reset the stream: ") +
                                  nghttp2_http2_strerror(error_code),
                              false);
  }
  self->maybe_close();
  return 0;
}

}  // namespace bottle::proxy
