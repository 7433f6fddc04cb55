// Resource bounds of SPEC §4.2.11: a deadline for every phase of an exchange, and one
// process-wide budget for the body bytes the proxy holds in memory (request bodies held
// for DLP, WebSocket messages held until scanned). Over the budget a new body gets 503
// before any of it is forwarded, so nothing is lost.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace bottle::proxy {

// Milliseconds. `--timeout PHASE=SECONDS` changes one (PHASE is the field name with '-').
struct Timeouts {
  uint64_t idle_ms = 60'000;      // keep-alive idle, and the time to send a whole request head
  uint64_t connect_ms = 15'000;   // resolving and dialing an upstream (TLS included)
  uint64_t body_ms = 30'000;      // silence from the client while its request body is read
  uint64_t upstream_ms = 600'000; // silence from the upstream: before its response or inside it
                                  // (LLM APIs may think for minutes before the first byte)
  uint64_t client_ms = 60'000;    // a client that does not read the response it is sent
  uint64_t websocket_ms = 600'000;  // a WebSocket silent both ways
  // SIGTERM: how long in-flight exchanges may take to finish before the process exits
  // (bottle-init sends KILL 8 s after TERM).
  uint64_t drain_ms = 5'000;

  // "body=30" → body_ms = 30000. Seconds may be fractional ("0.5").
  Status set(std::string_view phase_eq_seconds);
};

class BufferBudget {
 public:
  static constexpr uint64_t kDefaultCap = 256ull << 20;
  explicit BufferBudget(uint64_t cap) : cap_(cap) {}

  // Any thread. False (nothing taken) when `n` more bytes would pass the cap.
  bool try_take(uint64_t n);
  void give_back(uint64_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }
  uint64_t in_use() const { return used_.load(std::memory_order_relaxed); }
  uint64_t cap() const { return cap_; }

 private:
  const uint64_t cap_;
  std::atomic<uint64_t> used_{0};
};

// One holder's share of the budget, returned whole when reset or destroyed.
class BufferLease {
 public:
  explicit BufferLease(BufferBudget* budget = nullptr) : budget_(budget) {}
  ~BufferLease() { resize(0); }
  BufferLease(const BufferLease&) = delete;
  BufferLease& operator=(const BufferLease&) = delete;

  // Makes the share exactly `n` bytes. False (share unchanged) when the budget cannot grow.
  bool resize(uint64_t n);
  void reset() { resize(0); }
  uint64_t held() const { return held_; }

 private:
  BufferBudget* budget_;
  uint64_t held_ = 0;
};

}  // namespace bottle::proxy
