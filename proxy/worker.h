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

  const Metrics& metrics() const { return metrics_; }

  // Loop thread only.
  uv_loop_t* loop() { return &loop_; }
  const std::shared_ptr<const Snapshot>& snapshot() const { return snapshot_; }
  const ProxyShared& shared() const { return shared_; }
  Metrics& mutable_metrics() { return metrics_; }
  tls::LeafCertCache& leaves() { return *leaves_; }
  std::string next_request_id();

  // Upstream keep-alive pool, keyed by UpstreamConn::pool_key.
  UpstreamConn* take_idle(const std::string& key);
  void give_idle(UpstreamConn* conn);
  void forget_idle(UpstreamConn* conn);

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
  Metrics metrics_;
  uint64_t request_counter_ = 0;
  uint32_t id_salt_ = 0;
  std::unordered_map<std::string, std::vector<UpstreamConn*>> idle_;
};

}  // namespace bottle::proxy
