// One event-loop thread: its own listening socket (SO_REUSEPORT, or a dup of a passed
// fd), its own leaf-certificate cache, upstream pool and metrics. Nothing on the request
// path is shared with other workers, so nothing there takes a lock. The only cross-thread
// input is a new config snapshot, handed over through a uv_async mailbox.
#pragma once

#include <openssl/ssl.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/result.h"
#include "common/tls/ca.h"
#include "common/tls/leaf_cache.h"
#include "proxy/limits.h"
#include "proxy/metrics.h"
#include "proxy/resolve.h"
#include "proxy/snapshot.h"

namespace bottle::proxy {

class UpstreamConn;
class H2Upstream;
class ClientSession;

// Read-only after startup; shared by every worker.
struct ProxyShared {
  std::shared_ptr<const tls::CertificateAuthority> ca;
  bssl::UniquePtr<SSL_CTX> client_ctx;    // agent-facing (bumped) side
  bssl::UniquePtr<SSL_CTX> upstream_ctx;  // verifies upstream servers
  ResolveOverrides resolve;
  Timeouts timeouts;
  std::unique_ptr<BufferBudget> budget;  // every worker draws on the one budget
};

class Worker {
 public:
  Worker(int index, const ProxyShared& shared, std::shared_ptr<const Snapshot> initial);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Adopts `listen_fd` (the worker owns it) and starts the thread.
  Status start(int listen_fd);
  // Any thread: the loop switches to `snap` for requests that start after this.
  void publish(std::shared_ptr<const Snapshot> snap);
  // Any thread: stops the loop and joins.
  void stop();
  // Any thread: stop accepting; every connection finishes what it has in flight (h2:
  // GOAWAY) and closes. Progress shows in metrics().active_connections.
  void drain();

  const Metrics& metrics() const { return metrics_; }

  // Loop thread only.
  uv_loop_t* loop() { return &loop_; }
  const std::shared_ptr<const Snapshot>& snapshot() const { return snapshot_; }
  const ProxyShared& shared() const { return shared_; }
  Metrics& mutable_metrics() { return metrics_; }
  tls::LeafCertCache& leaves() { return *leaves_; }
  std::string next_request_id();
  // Open client connections, for drain().
  void add_session(ClientSession* s) { sessions_.insert(s); }
  void remove_session(ClientSession* s) { sessions_.erase(s); }
  bool draining() const { return draining_; }

  // Upstream keep-alive pool, keyed by UpstreamConn::pool_key.
  UpstreamConn* take_idle(const std::string& key);
  void give_idle(UpstreamConn* conn);
  void forget_idle(UpstreamConn* conn);

  // HTTP/2 upstreams: the shared connection per pool key, and the upstreams that
  // answered an h2 offer with http/1.1 (not offered h2 again for a while).
  H2Upstream* h2_upstream(const std::string& key) const;
  void set_h2_upstream(const std::string& key, H2Upstream* conn);
  bool upstream_is_h1(const std::string& key) const;
  void mark_upstream_h1(const std::string& key);

 private:
  static void on_connection(uv_stream_t* server, int status);
  static void on_mailbox(uv_async_t* a);
  static void on_prepare(uv_prepare_t* p);
  void run();

  int index_;
  const ProxyShared& shared_;
  uv_loop_t loop_{};
  uv_tcp_t listener_{};
  uv_async_t mailbox_{};
  // Loop lag: runs just before each poll; the time since the previous one, less the time
  // the loop slept in poll, is how long that iteration kept new events waiting.
  uv_prepare_t lag_probe_{};
  uint64_t last_prepare_ns_ = 0;
  uint64_t last_idle_ns_ = 0;
  std::thread thread_;
  std::unique_ptr<tls::LeafCertCache> leaves_;
  std::shared_ptr<const Snapshot> snapshot_;  // loop thread's current config
  std::mutex mailbox_mu_;                     // guards the two fields below only
  std::shared_ptr<const Snapshot> pending_;
  bool stop_requested_ = false;
  bool drain_requested_ = false;
  bool draining_ = false;  // loop thread
  std::unordered_set<ClientSession*> sessions_;
  Metrics metrics_;
  uint64_t request_counter_ = 0;
  uint32_t id_salt_ = 0;
  std::unordered_map<std::string, std::vector<UpstreamConn*>> idle_;
  std::unordered_map<std::string, H2Upstream*> h2_upstreams_;
  std::unordered_map<std::string, uint64_t> h1_only_;  // key → uv_now when learned
};

}  // namespace bottle::proxy
