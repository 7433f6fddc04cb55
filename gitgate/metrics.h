// Counters for /metrics (Prometheus text). Written from the event loop and from the
// worker threads that fetch and gate pushes, so every field is atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace bottle::gitgate {

struct GateMetrics {
  std::atomic<uint64_t> git_requests{0};   // git:// connections that named a service
  std::atomic<uint64_t> http_requests{0};  // smart HTTP requests routed to a service
  std::atomic<uint64_t> bad_requests{0};   // refused at the protocol level
  std::atomic<uint64_t> timeouts{0};       // stalled clients closed
  std::atomic<uint64_t> fetches_ok{0};
  std::atomic<uint64_t> fetches_failed{0};
  std::atomic<uint64_t> reads_coalesced{0};  // reads served by a fetch another read started
  std::atomic<uint64_t> pushes_forwarded{0};
  std::atomic<uint64_t> pushes_rejected{0};  // secrets found
  std::atomic<uint64_t> pushes_failed{0};    // upstream refused, stale ref, or gate error
  std::atomic<uint64_t> scanned_bytes{0};
  std::atomic<uint64_t> scanned_blobs{0};
  std::atomic<uint64_t> binary_blobs_skipped{0};
  std::atomic<uint64_t> active_connections{0};
  std::atomic<uint64_t> active_children{0};

  std::string render() const;
};

}  // namespace bottle::gitgate
