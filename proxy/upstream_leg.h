// The upstream half of one exchange, the one way egress reaches an upstream: an HTTP/1.1
// connection of its own (H1Leg, pooled between exchanges), or a stream on a shared
// HTTP/2 connection (H2Leg, h2_upstream.h). Both client adapters (ClientSession for
// HTTP/1.1, H2Session's streams) hand their leg what the Exchange lets through and hear
// the response back as parsed heads and body bytes, so h2↔h1 translation is just this
// choice of leg, and pooling, stale-connection detection and response parsing live here
// once.
//
// Callbacks into the Owner come from start() or from loop callbacks, never from inside
// another call the owner made; after on_leg_failed (or close()) the leg says nothing
// more. The owner never destroys a leg from inside one of its callbacks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/http/http1_parser.h"
#include "proxy/http1_wire.h"
#include "proxy/pipeline.h"
#include "proxy/upstream.h"

namespace bottle::proxy {

class Worker;

class UpstreamLeg {
 public:
  class Owner {
   public:
    virtual ~Owner() = default;
    virtual void on_leg_ready() = 0;
    virtual void on_leg_head(MessageHead head) = 0;
    virtual void on_leg_body(std::string_view bytes) = 0;
    virtual void on_leg_end(const std::vector<Header>& trailers) = 0;
    // `stale`: a pooled connection died before any response byte (a bodyless request may
    // be sent again on a new leg).
    virtual void on_leg_failed(UpstreamConn::Failure kind, std::string_view why, bool stale) = 0;
    virtual void on_leg_drained() = 0;  // queued() fell below Transport::kLowWater
    // Bracket the callbacks that one upstream read produces (a small response's head,
    // body and end), so the owner can send what it writes for them as one write.
    virtual void on_leg_read_begin() {}
    virtual void on_leg_read_end() {}
  };

  virtual ~UpstreamLeg() = default;
  // Dials (or takes a pooled connection): on_leg_ready or on_leg_failed, maybe at once.
  virtual void start() = 0;
  virtual void send_head(const MessageHead& head, const UpstreamRequestHead& wire) = 0;
  virtual void send_body(std::string_view bytes) = 0;
  virtual void send_end(const std::vector<Header>& trailers) = 0;
  // WebSocket bytes after the upgrade, unframed by HTTP.
  virtual void send_raw(std::string_view bytes) = 0;
  virtual size_t queued() const = 0;
  // Stop / restart delivering response bytes (the client side is slow to take them).
  virtual void pause() = 0;
  virtual void resume() = 0;
  virtual bool paused() const = 0;
  // The exchange completed: an HTTP/1.1 connection goes back to the pool if it can.
  virtual void done() = 0;
  // Abort: the upstream must not take what it got for a whole request.
  virtual void close() = 0;
  virtual bool is_h2() const = 0;
  // The response body runs until the upstream closes (HTTP/1.1 without a length): a
  // client framed the same way learns its end from the close of its own connection.
  virtual bool response_until_close() const = 0;
  // The connection this leg alone writes to (HTTP/1.1), so that a burst of writes can be
  // corked into one; null for a stream on a shared connection.
  virtual Transport* own_transport() = 0;
};

// Corks the leg's own connection, if it has one, for a scope: a request head and its body
// leave as one write. The connection outlives the scope even if the leg closes it inside.
class LegCork {
 public:
  explicit LegCork(UpstreamLeg* leg) : t_(leg ? leg->own_transport() : nullptr) {
    if (t_) t_->cork();
  }
  ~LegCork() {
    if (t_) t_->uncork();
  }
  LegCork(const LegCork&) = delete;
  LegCork& operator=(const LegCork&) = delete;

 private:
  Transport* t_;
};

// How a leg may reach its upstream: any connection (an idle pooled one first), or only a
// new one (a retry after a pooled connection turned out closed: the others may be too).
enum class Dial { pooled_or_new, new_only };

// Opens the leg for `v` (the worker's HTTP/2 upstream when the upstream speaks h2 and
// `offer_h2`, else an HTTP/1.1 connection from the pool or a new one).
std::unique_ptr<UpstreamLeg> open_upstream_leg(Worker& worker, const Verdict& v,
                                               const MessageHead& request, bool offer_h2,
                                               UpstreamLeg::Owner& owner,
                                               Dial dial = Dial::pooled_or_new);

// HTTP/1.1 to the upstream: request framing (chunked when the length is unknown or the
// client announced trailers, which ride after the last chunk), the response parsed with
// llhttp (its trailers passed on), 1xx and 101 passed on, raw bytes after a 101.
class H1Leg final : public UpstreamLeg, private UpstreamConn::Owner {
 public:
  // Takes a pooled connection (unless `dial` is new_only) or dials one (ALPN http/1.1
  // only). `up` if given is a connection already dialed and ready (one that an h2 offer
  // found speaking h1).
  H1Leg(Worker& worker, const Verdict& v, const MessageHead& request, UpstreamLeg::Owner& owner,
        UpstreamConn* up = nullptr, Dial dial = Dial::pooled_or_new);
  ~H1Leg() override;

  void start() override;
  void send_head(const MessageHead& head, const UpstreamRequestHead& wire) override;
  void send_body(std::string_view bytes) override;
  void send_end(const std::vector<Header>& trailers) override;
  void send_raw(std::string_view bytes) override;
  size_t queued() const override { return up_ ? up_->queued() : 0; }
  void pause() override;
  void resume() override;
  bool paused() const override { return up_ && up_->paused(); }
  void done() override;
  void close() override;
  bool is_h2() const override { return false; }
  bool response_until_close() const override { return parser_.needs_eof(); }
  Transport* own_transport() override { return up_ ? &up_->transport() : nullptr; }

 private:
  void on_upstream_ready(UpstreamConn& up) override;
  void on_upstream_data(UpstreamConn& up, std::string_view data) override;
  void on_upstream_eof(UpstreamConn& up) override;
  void on_upstream_failed(UpstreamConn& up, UpstreamConn::Failure kind,
                          std::string_view why) override;
  void on_upstream_drained(UpstreamConn& up) override;
  void fail(UpstreamConn::Failure kind, std::string_view why);

  UpstreamLeg::Owner& owner_;
  UpstreamConn* up_ = nullptr;
  Http1Parser parser_{Http1Parser::Kind::response};
  bool head_request_ = false;
  bool chunked_ = false;  // request body framing (trailers go after the last chunk)
  bool reused_ = false;
  bool got_response_ = false;
  bool raw_ = false;  // after a 101
  bool ended_ = false;
  bool request_sent_ = false;
  bool keep_alive_ = false;
  int last_status_ = 0;
  Worker& worker_;
  Authority target_;
  bool tls_;
  bool allow_private_;
  Dial dial_;
};

}  // namespace bottle::proxy
