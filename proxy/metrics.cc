#include "proxy/metrics.h"

#include <algorithm>
#include <cstdio>

namespace bottle::proxy {

std::string_view abuse_name(H2Abuse a) {
  switch (a) {
    case H2Abuse::rapid_reset:
      return "rapid_reset";
    case H2Abuse::continuation_flood:
      return "continuation_flood";
    case H2Abuse::settings_flood:
      return "settings_flood";
    case H2Abuse::ping_flood:
      return "ping_flood";
    case H2Abuse::empty_frames:
      return "empty_frames";
    case H2Abuse::hpack_bomb:
      return "hpack_bomb";
    case H2Abuse::too_many_streams:
      return "too_many_streams";
    case H2Abuse::window_overflow:
      return "window_overflow";
  }
  return "unknown";
}

void Metrics::observe_latency(double seconds) {
  size_t i = 0;
  while (i < kLatencyBounds.size() && seconds > kLatencyBounds[i]) ++i;
  add(latency[i]);
  add(latency_sum_us, static_cast<uint64_t>(seconds * 1e6));
}

void Metrics::observe_loop_lag(uint64_t ns) {
  const double seconds = static_cast<double>(ns) / 1e9;
  size_t i = 0;
  while (i < kLoopLagBounds.size() && seconds > kLoopLagBounds[i]) ++i;
  add(loop_lag[i]);
  add(loop_lag_sum_ns, ns);
  // One writer per Metrics, so a plain compare-then-store is enough.
  if (ns > loop_lag_max_ns.load(std::memory_order_relaxed)) {
    loop_lag_max_ns.store(ns, std::memory_order_relaxed);
  }
}

namespace {

uint64_t load(const std::atomic<uint64_t>& a) {
  return a.load(std::memory_order_relaxed);
}

void counter(std::string& out, const char* name, const char* help, uint64_t v) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
  out += std::string(name) + " " + std::to_string(v) + "\n";
}

// A Prometheus histogram from per-bucket (not cumulative) counts; the last count is +Inf.
template <size_t N>
void histogram(std::string& out, const char* name, const char* help,
               const std::array<double, N>& bounds, const std::array<uint64_t, N + 1>& counts,
               double sum) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    char le[32];
    if (i < bounds.size()) {
      std::snprintf(le, sizeof le, "%g", bounds[i]);
    } else {
      std::snprintf(le, sizeof le, "+Inf");
    }
    out += std::string(name) + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  char text[48];
  std::snprintf(text, sizeof text, "%.9f", sum);
  out += std::string(name) + "_sum " + text + "\n";
  out += std::string(name) + "_count " + std::to_string(cumulative) + "\n";
}

}  // namespace

std::string render_metrics(const std::vector<const Metrics*>& workers,
                           const ProcessCounters& process) {
  uint64_t requests = 0, connects = 0, findings = 0, up = 0, down = 0, upstream_errors = 0,
           sum_us = 0, refusals = 0, timeouts = 0, h2_conns = 0, h2_streams = 0, h2_up = 0,
           drained = 0;
  std::array<uint64_t, kH2AbuseCount> abuse{};
  int64_t active = 0;
  std::array<uint64_t, kBlockReasonCount> blocks{};
  std::array<uint64_t, Metrics::kLatencyBounds.size() + 1> hist{};
  std::array<uint64_t, Metrics::kLoopLagBounds.size() + 1> lag{};
  uint64_t lag_sum_ns = 0, lag_max_ns = 0;
  for (const Metrics* m : workers) {
    requests += load(m->requests);
    connects += load(m->connects);
    findings += load(m->dlp_findings);
    up += load(m->bytes_up);
    down += load(m->bytes_down);
    upstream_errors += load(m->upstream_errors);
    refusals += load(m->buffer_refusals);
    timeouts += load(m->timeouts);
    h2_conns += load(m->h2_connections);
    h2_streams += load(m->h2_streams);
    h2_up += load(m->h2_upstream_connections);
    drained += load(m->drained);
    for (size_t i = 0; i < abuse.size(); ++i) abuse[i] += load(m->h2_abuse[i]);
    sum_us += load(m->latency_sum_us);
    active += m->active_connections.load(std::memory_order_relaxed);
    for (size_t i = 0; i < blocks.size(); ++i) blocks[i] += load(m->blocks[i]);
    for (size_t i = 0; i < hist.size(); ++i) hist[i] += load(m->latency[i]);
    for (size_t i = 0; i < lag.size(); ++i) lag[i] += load(m->loop_lag[i]);
    lag_sum_ns += load(m->loop_lag_sum_ns);
    lag_max_ns = std::max(lag_max_ns, load(m->loop_lag_max_ns));
  }
  std::string out;
  counter(out, "egress_requests_total", "HTTP requests seen (inside tunnels and absolute-form).",
          requests);
  counter(out, "egress_connects_total", "CONNECT tunnels requested.", connects);
  out +=
      "# HELP egress_blocks_total Requests blocked, by reason.\n# TYPE egress_blocks_total "
      "counter\n";
  for (int i = 0; i < kBlockReasonCount; ++i) {
    out += "egress_blocks_total{reason=\"" + std::string(reason_name(static_cast<BlockReason>(i))) +
           "\"} " + std::to_string(blocks[i]) + "\n";
  }
  counter(out, "egress_dlp_findings_total", "DLP findings (block and warn).", findings);
  out +=
      "# HELP egress_bytes_total Body and head bytes forwarded.\n# TYPE egress_bytes_total "
      "counter\n";
  out += "egress_bytes_total{direction=\"up\"} " + std::to_string(up) + "\n";
  out += "egress_bytes_total{direction=\"down\"} " + std::to_string(down) + "\n";
  counter(out, "egress_upstream_errors_total", "Upstream connect, TLS or protocol failures.",
          upstream_errors);
  out +=
      "# HELP egress_active_connections Client connections open now.\n"
      "# TYPE egress_active_connections gauge\negress_active_connections " +
      std::to_string(active) + "\n";
  counter(out, "egress_buffer_refusals_total",
          "Requests answered 503 because held bodies reached --max-buffered.", refusals);
  counter(out, "egress_timeouts_total", "Exchanges closed by a phase deadline.", timeouts);
  counter(out, "egress_h2_connections_total", "Client connections that negotiated HTTP/2.",
          h2_conns);
  counter(out, "egress_h2_streams_total", "Requests that arrived on HTTP/2 streams.", h2_streams);
  counter(out, "egress_h2_upstream_connections_total",
          "Upstream dials that offered HTTP/2 (ALPN mirrors an h2 client).", h2_up);
  out +=
      "# HELP egress_h2_abuse_total HTTP/2 sessions ended for abuse, by kind.\n"
      "# TYPE egress_h2_abuse_total counter\n";
  for (int i = 0; i < kH2AbuseCount; ++i) {
    out += "egress_h2_abuse_total{kind=\"" + std::string(abuse_name(static_cast<H2Abuse>(i))) +
           "\"} " + std::to_string(abuse[i]) + "\n";
  }
  counter(out, "egress_drained_connections_total",
          "Client connections closed by a drain (SIGTERM) after their exchanges finished.",
          drained);
  if (process.budget) {
    out +=
        "# HELP egress_buffered_body_bytes Body bytes held in memory now (all connections).\n"
        "# TYPE egress_buffered_body_bytes gauge\negress_buffered_body_bytes " +
        std::to_string(process.budget->in_use()) + "\n";
  }
  out +=
      "# HELP egress_snapshots_retained Replaced configs still held by an exchange.\n"
      "# TYPE egress_snapshots_retained gauge\negress_snapshots_retained " +
      std::to_string(load(process.snapshots_retained)) + "\n";
  counter(out, "egress_reloads_total", "Successful config reloads.", load(process.reloads));
  counter(out, "egress_reload_failures_total", "Config reloads that kept the old config.",
          load(process.reload_failures));
  histogram(out, "egress_request_duration_seconds", "Time from request head to response end.",
            Metrics::kLatencyBounds, hist, static_cast<double>(sum_us) / 1e6);
  histogram(out, "egress_loop_lag_seconds",
            "Event-loop iterations by how long each kept its loop from new events.",
            Metrics::kLoopLagBounds, lag, static_cast<double>(lag_sum_ns) / 1e9);
  char max[48];
  std::snprintf(max, sizeof max, "%.9f", static_cast<double>(lag_max_ns) / 1e9);
  out +=
      "# HELP egress_loop_lag_max_seconds Longest event-loop iteration since start (any "
      "worker).\n# TYPE egress_loop_lag_max_seconds gauge\negress_loop_lag_max_seconds " +
      std::string(max) + "\n";
  return out;
}

}  // namespace bottle::proxy
