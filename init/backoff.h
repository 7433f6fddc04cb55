// Restart delay for a daemon that keeps dying (SPEC §8): 100 ms, doubling per consecutive
// failure, capped at 30 s; a run of 60 s or more counts as healthy and resets the count.
#pragma once

#include <algorithm>
#include <chrono>

namespace bottle::init {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

inline constexpr milliseconds kBackoffFirst{100};
inline constexpr milliseconds kBackoffCap{30'000};
inline constexpr milliseconds kHealthyRun{60'000};
// This many quick deaths in a row is a restart storm; it is logged at warn level.
inline constexpr int kStormThreshold = 5;

class Backoff {
 public:
  // Records a death after `uptime` and returns how long to wait before the next start.
  milliseconds on_death(Clock::duration uptime) {
    if (uptime >= kHealthyRun) failures_ = 0;
    ++failures_;
    milliseconds d = kBackoffFirst;
    for (int i = 1; i < failures_ && d < kBackoffCap; ++i) d *= 2;
    return std::min(d, kBackoffCap);
  }
  int consecutive_failures() const { return failures_; }
  void reset() { failures_ = 0; }

 private:
  int failures_ = 0;
};

}  // namespace bottle::init
