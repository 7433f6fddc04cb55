// A connection to an upstream server: resolve (or --resolve pin), SSRF guard on the
// address actually dialed, TCP connect, TLS with SNI + chain + hostname verification.
// Owned by itself: it deletes itself once its socket is closed. A client session
// attaches to it for one exchange; between exchanges it idles in the worker's pool.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/loop_timer.h"
#include "proxy/target.h"
#include "proxy/transport.h"

namespace bottle::proxy {

class Worker;

class UpstreamConn final : private Transport::Handler {
 public:
  enum class Failure { resolve, ssrf, connect, tls, protocol };

  class Owner {
   public:
    virtual ~Owner() = default;
    virtual void on_upstream_ready(UpstreamConn& up) = 0;
    virtual void on_upstream_data(UpstreamConn& up, std::string_view data) = 0;
    virtual void on_upstream_eof(UpstreamConn& up) = 0;
    virtual void on_upstream_failed(UpstreamConn& up, Failure kind, std::string_view why) = 0;
    virtual void on_upstream_drained(UpstreamConn& up) = 0;
  };

  static std::string pool_key(const Authority& target, bool tls, bool allow_private);

  // A new connection owned by `owner`; nothing happens until start(). `offer_h2`: ALPN
  // offers h2 before http/1.1 (mirroring an h2 client); see speaks_h2() once ready.
  static UpstreamConn* create(Worker& worker, const Authority& target, bool tls, bool allow_private,
                              Owner* owner, bool offer_h2 = false);
  // Resolves and connects; the owner hears on_upstream_ready or on_upstream_failed (possibly
  // before start() returns).
  void start();

  void attach(Owner* owner);  // taking it from the pool
  void detach();              // the owner no longer listens
  void write(std::string_view data) { transport_.write(data); }
  Transport& transport() { return transport_; }
  size_t queued() const { return transport_.queued(); }
  void pause() { transport_.stop_reading(); }
  void resume() { transport_.start_reading(); }
  bool paused() const { return !transport_.reading(); }
  void close();
  bool closing() const { return transport_.closing(); }
  // Back to the pool (caller detached first); closes instead if it cannot idle.
  void release_to_pool();

  const std::string& key() const { return key_; }
  // The TLS handshake chose h2 (only after an h2 offer).
  bool speaks_h2() const;
  const std::string& dialed_address() const { return dialed_; }

 private:
  UpstreamConn(Worker& worker, std::string key, Authority target, bool tls, bool allow_private,
               Owner* owner, bool offer_h2);
  ~UpstreamConn() override = default;

  static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res);
  void connect_to(const sockaddr* addr);
  void failed(Failure kind, std::string why);

  void on_data(Transport& t, std::string_view data) override;
  void on_eof(Transport& t) override;
  void on_error(Transport& t, std::string_view why) override;
  void on_ready(Transport& t) override;
  void on_drained(Transport& t) override;
  void on_closed(Transport& t) override;

  Worker& worker_;
  std::string key_;
  Authority target_;
  bool tls_;
  bool allow_private_;
  bool offer_h2_;
  Owner* owner_;
  Transport transport_;
  LoopTimer idle_timer_;  // a pooled connection is dropped after kIdleMs unused
  static constexpr uint64_t kIdleMs = 30'000;
  uv_getaddrinfo_t resolve_req_{};
  bool resolving_ = false;
  bool closed_ = false;  // transport closed; delete once resolving_ is false too
  bool ready_ = false;
  bool pooled_ = false;
  std::string dialed_;
};

}  // namespace bottle::proxy
