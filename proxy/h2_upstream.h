// HTTP/2 toward upstreams. One H2Upstream is an nghttp2 client session over one TLS
// UpstreamConn (ALPN offered h2 and http/1.1), shared by the exchanges of every h2 client
// stream on this worker headed to the same host:port; each exchange holds an H2Leg, one
// stream on it. nghttp2 runs on mem_recv/mem_send: the socket stays in UpstreamConn.
//
// An upstream that answers the offer with http/1.1 is remembered as h1-only, and the
// legs waiting for it fall back to H1Leg (the first takes the connection just dialed).
// Flow control: response bytes are acknowledged (WINDOW_UPDATE) only while the client
// side keeps up (pause/resume), so a slow reader holds at most one stream window.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/loop_timer.h"
#include "proxy/h2_wire.h"
#include "proxy/upstream_leg.h"

namespace bottle::proxy {

class H2Upstream;

class H2Leg final : public UpstreamLeg {
 public:
  H2Leg(Worker& worker, const Verdict& v, const MessageHead& request, UpstreamLeg::Owner& owner);
  ~H2Leg() override;

  void start() override;
  void send_head(const MessageHead& head, const UpstreamRequestHead& wire) override;
  void send_body(std::string_view bytes) override;
  void send_end(const std::vector<Header>& trailers) override;
  void send_raw(std::string_view bytes) override;
  size_t queued() const override;
  void pause() override;
  void resume() override;
  bool paused() const override;
  void done() override;
  void close() override;
  bool is_h2() const override { return !h1_; }
  bool response_until_close() const override { return h1_ && h1_->response_until_close(); }
  Transport* own_transport() override { return h1_ ? h1_->own_transport() : nullptr; }

 private:
  friend class H2Upstream;
  // Called by H2Upstream.
  void on_connection_ready();
  void fall_back_to_h1(UpstreamConn* conn);
  void on_connection_failed(UpstreamConn::Failure kind, std::string_view why);
  static ssize_t read_body(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                           uint32_t* flags, nghttp2_data_source* source, void* user_data);

  Worker& worker_;
  Verdict verdict_;
  MessageHead request_shape_;  // method, framing and `trailer` only, for an H1Leg fallback
  UpstreamLeg::Owner& owner_;
  std::unique_ptr<H1Leg> h1_;
  H2Upstream* conn_ = nullptr;
  int32_t stream_id_ = -1;
  // Request side: the body waits here until nghttp2 asks for it (flow control).
  H2Headers pending_head_;
  bool head_pending_ = false;
  std::string out_;
  bool out_ended_ = false;
  std::vector<Header> out_trailers_;
  // Response side.
  MessageHead resp_;
  bool in_trailers_ = false;
  std::vector<Header> resp_trailers_;
  bool paused_ = false;
  size_t unacked_ = 0;  // response bytes delivered but not yet acknowledged upstream
  bool ended_ = false;
  bool failed_ = false;
  mutable bool blocked_ = false;  // the owner saw queued() over the high-water mark
};

class H2Upstream final : private UpstreamConn::Owner {
 public:
  // The worker's usable connection for `key`, or a new one (dialing).
  static H2Upstream* for_leg(Worker& worker, const Verdict& v);
  ~H2Upstream() override;

  void attach(H2Leg* leg);  // opens its stream once ready
  void detach(H2Leg* leg);
  void flush();
  // Legs' writes of one loop turn leave together.
  void flush_soon() { flusher_.arm(0); }
  nghttp2_session* session() { return session_; }
  bool usable() const;

 private:
  H2Upstream(Worker& worker, const Verdict& v, std::string key);
  void open_stream(H2Leg* leg);
  void fail_all(UpstreamConn::Failure kind, std::string_view why);
  void retire();  // no new streams; closes when the last one ends
  void maybe_close();

  void on_upstream_ready(UpstreamConn& up) override;
  void on_upstream_data(UpstreamConn& up, std::string_view data) override;
  void on_upstream_eof(UpstreamConn& up) override;
  void on_upstream_failed(UpstreamConn& up, UpstreamConn::Failure kind,
                          std::string_view why) override;
  void on_upstream_drained(UpstreamConn& up) override;

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                       void* user_data);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
  static int on_data_chunk(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data,
                           size_t len, void* user_data);
  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                             void* user_data);
  H2Leg* leg_of(int32_t stream_id);

  Worker& worker_;
  std::string key_;
  UpstreamConn* up_ = nullptr;
  nghttp2_session* session_ = nullptr;
  bool ready_ = false;
  bool dialing_ = false;
  bool retired_ = false;
  bool closing_ = false;
  int in_flush_ = 0;
  std::vector<H2Leg*> waiting_;
  std::unordered_map<int32_t, H2Leg*> streams_;
  LoopTimer idle_;  // closes the connection after kIdleMs without streams
  LoopTimer reaper_;
  LoopTimer flusher_;
  static constexpr uint64_t kIdleMs = 30'000;
};

}  // namespace bottle::proxy
