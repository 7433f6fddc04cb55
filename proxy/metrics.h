// Counters for /metrics. Each worker owns one Metrics and is its only writer (relaxed
// atomics, no locks); the admin thread sums all workers when scraped.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/block.h"
#include "proxy/limits.h"

namespace bottle::proxy {

// HTTP/2 client behaviour that ends its session (GOAWAY), counted by kind.
enum class H2Abuse {
  rapid_reset,        // streams opened and reset faster than they could be served (CVE-2023-44487)
  continuation_flood, // a header block split into too many CONTINUATION frames
  settings_flood,
  ping_flood,
  empty_frames,       // zero-length DATA (or header) frames that carry nothing
  hpack_bomb,         // a header block that decodes past the header size cap
  too_many_streams,   // more concurrent streams than SETTINGS_MAX_CONCURRENT_STREAMS
  window_overflow,    // WINDOW_UPDATE past 2^31-1
};
inline constexpr int kH2AbuseCount = 8;
std::string_view abuse_name(H2Abuse a);

struct Metrics {
  // Upper bounds in seconds of the request latency histogram (last bucket is +Inf).
  static constexpr std::array<double, 12> kLatencyBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1,   0.25,   0.5,   1,    2.5,   10};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> connects{0};
  std::array<std::atomic<uint64_t>, kBlockReasonCount> blocks{};
  std::atomic<uint64_t> dlp_findings{0};
  std::atomic<uint64_t> bytes_up{0};    // request bytes toward upstreams
  std::atomic<uint64_t> bytes_down{0};  // response bytes toward clients
  std::atomic<int64_t> active_connections{0};
  std::atomic<uint64_t> upstream_errors{0};
  std::atomic<uint64_t> buffer_refusals{0};  // 503: the process-wide body budget was spent
  std::atomic<uint64_t> timeouts{0};         // exchanges closed by a phase deadline
  std::atomic<uint64_t> h2_connections{0};   // client connections that negotiated h2
  std::atomic<uint64_t> h2_streams{0};       // requests that arrived on h2 streams
  std::atomic<uint64_t> h2_upstream_connections{0};  // h2-offering dials to upstreams
  std::array<std::atomic<uint64_t>, kH2AbuseCount> h2_abuse{};
  std::atomic<uint64_t> drained{0};  // connections closed by a drain (SIGTERM)
  std::array<std::atomic<uint64_t>, kLatencyBounds.size() + 1> latency{};
  std::atomic<uint64_t> latency_sum_us{0};
  // Upper bounds in seconds of the loop-lag histogram: how long each event-loop iteration
  // kept the loop busy, i.e. how long an event arriving during it waited.
  static constexpr std::array<double, 12> kLoopLagBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
  std::array<std::atomic<uint64_t>, kLoopLagBounds.size() + 1> loop_lag{};
  std::atomic<uint64_t> loop_lag_sum_ns{0};
  std::atomic<uint64_t> loop_lag_max_ns{0};

  void add(std::atomic<uint64_t>& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
  void block(BlockReason r) { add(blocks[static_cast<int>(r)]); }
  void abuse(H2Abuse a) { add(h2_abuse[static_cast<int>(a)]); }
  void observe_latency(double seconds);
  void observe_loop_lag(uint64_t ns);  // the owning loop's thread only
};

struct ProcessCounters {
  const BufferBudget* budget = nullptr;
  std::atomic<uint64_t> snapshots_retained{0};  // replaced configs still used by an exchange
  std::atomic<uint64_t> reloads{0};
  std::atomic<uint64_t> reload_failures{0};
  std::atomic<uint64_t> config_generation{0};
};

// Prometheus text exposition of the sum over workers.
std::string render_metrics(const std::vector<const Metrics*>& workers,
                           const ProcessCounters& process);

}  // namespace bottle::proxy
