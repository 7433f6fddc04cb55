// The HTTP/2 adapter on the client side of a bumped connection (ALPN h2): an nghttp2
// server session driven with mem_recv/mem_send, one Exchange per stream, each with its
// own UpstreamLeg (h2 to an h2 upstream, h1 otherwise). No sockets here: the Host moves
// the bytes, dials, and schedules work for a later loop turn, so tests and the fuzzer
// run the whole session in memory.
//
// Per stream: a refused request gets its answer (403 JSON, 502, 503, ...) on that stream
// only; a response cut by inbound DLP or an upstream failure is RST_STREAM on that stream
// only. Flow control is backpressure: request bytes are acknowledged (WINDOW_UPDATE) only
// while the upstream takes them, and a stream whose client reads slowly pauses its own
// upstream, never the others. Deadlines (limits.h) apply per stream.
//
// Abuse ends the session with GOAWAY (ENHANCE_YOUR_CALM) and counts in /metrics:
// rapid reset, CONTINUATION floods, SETTINGS/PING/empty-frame floods, an HPACK bomb
// (a header block decoding past 64 KiB), too many concurrent streams, and a
// WINDOW_UPDATE that overflows a window.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/exchange.h"
#include "proxy/limits.h"
#include "proxy/metrics.h"
#include "proxy/upstream_leg.h"

namespace bottle::proxy {

class H2Stream;

class H2Session {
 public:
  class Host {
   public:
    virtual ~Host() = default;
    virtual void write_client(std::string_view bytes) = 0;
    virtual size_t client_queued() const = 0;
    virtual ExchangeContext exchange_context() = 0;
    virtual std::unique_ptr<UpstreamLeg> open_leg(const Verdict& v, const MessageHead& request,
                                                  UpstreamLeg::Owner& owner, Dial dial) = 0;
    virtual uint64_t now_ms() = 0;
    // later() must run on a later loop turn: it frees closed streams and sends what the
    // streams queued meanwhile (all output of one loop turn leaves in one write).
    virtual void schedule_later() = 0;
    // The session is over (GOAWAY sent, no stream left): close after what is queued.
    virtual void close_client() = 0;
  };

  static constexpr uint32_t kMaxConcurrentStreams = 100;
  static constexpr size_t kMaxHeaderBlock = 64 * 1024;

  H2Session(Host& host, Metrics& metrics, const Timeouts& timeouts);
  ~H2Session();
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // Sends the server preface (SETTINGS).
  void start();
  void on_client_data(std::string_view bytes);
  void on_client_drained() { flush(); }
  void on_client_eof();
  // Per-stream and idle deadlines; call at least every check_interval_ms().
  void tick();
  uint64_t check_interval_ms() const;
  // SIGTERM: GOAWAY now, in-flight streams finish, then the session ends.
  void drain();
  // The deferred work of Host::schedule_later.
  void later();
  bool over() const { return over_; }
  size_t open_streams() const { return streams_.size(); }

  // For H2Stream.
  nghttp2_session* session() { return session_; }
  Metrics& metrics() { return metrics_; }
  Host& host() { return host_; }
  const Timeouts& timeouts() const { return timeouts_; }
  void flush();
  void flush_soon();
  void want_resume(H2Stream* st) { resumes_.push_back(st); }
  void bury(std::unique_ptr<UpstreamLeg> leg);

 private:
  friend class H2Stream;
  static int on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* user_data);
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                       void* user_data);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
  static int on_invalid_frame(nghttp2_session*, const nghttp2_frame* frame, int lib_error,
                              void* user_data);
  static int on_data_chunk(nghttp2_session*, uint8_t flags, int32_t stream_id,
                           const uint8_t* data, size_t len, void* user_data);
  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                             void* user_data);

  H2Stream* stream(int32_t id);
  // Counts `kind` and ends the session with GOAWAY. Returns the nghttp2 callback failure.
  int abuse(H2Abuse kind);
  // A rate over one-second windows: true when `count` passed `limit` in this window.
  bool over_rate(uint32_t& count, uint64_t& window_start, uint32_t limit);
  void finish_if_done();

  Host& host_;
  Metrics& metrics_;
  const Timeouts& timeouts_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<int32_t, std::unique_ptr<H2Stream>> streams_;
  std::vector<std::unique_ptr<H2Stream>> graveyard_;
  std::vector<std::unique_ptr<UpstreamLeg>> dead_legs_;
  std::vector<H2Stream*> resumes_;  // streams whose client caught up (see flush)
  bool scheduled_ = false;
  int in_recv_ = 0;
  bool in_flush_ = false;
  bool over_ = false;
  bool abusive_ = false;
  bool draining_ = false;
  uint64_t last_activity_ = 0;
  // Abuse bookkeeping.
  uint32_t continuations_ = 0;  // CONTINUATION frames in the header block being read
  size_t header_bytes_ = 0;     // decoded bytes of the header block being read
  uint32_t settings_ = 0, pings_ = 0, empties_ = 0;
  uint64_t settings_window_ = 0, pings_window_ = 0, empties_window_ = 0;
  double reset_tokens_ = 0;  // rapid reset: a bucket refilled at kResetsPerSecond
  uint64_t reset_refill_ = 0;
};

}  // namespace bottle::proxy
