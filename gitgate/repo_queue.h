// One repo's upstream work, in order, on the event loop's side: fetches before reads and
// gated pushes never overlap, so a push's ref check, scan and forward see a mirror no
// fetch is changing, and two pushes to one ref cannot both reach the upstream.
//
// Fetch coalescing: every read waits for a fetch that *started after the read arrived*
// (so it sees every commit the upstream had then); all reads that arrive while one fetch
// is queued share it, so N clones at once cost at most two fetches.
#pragma once

#include <uv.h>

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "config/gate_config.h"
#include "gitgate/metrics.h"
#include "gitgate/mirror.h"

namespace bottle::gitgate {

// Runs `work` on libuv's thread pool, then `after` on the loop.
void run_blocking(uv_loop_t* loop, std::function<void()> work, std::function<void()> after);

class RepoQueue {
 public:
  RepoQueue(uv_loop_t* loop, const GateTools& tools, const StateDir& state,
            const config::GateRepo& repo, GateMetrics& metrics);
  RepoQueue(const RepoQueue&) = delete;
  RepoQueue& operator=(const RepoQueue&) = delete;

  const config::GateRepo& repo() const { return repo_; }

  // `done` runs on the loop after a fetch that started after this call.
  void want_fresh(std::function<void(const FetchOutcome&)> done);

  // `start` runs on the loop when no fetch or other exclusive job holds the repo; the
  // repo stays held until the `release` it is given is called (exactly once).
  using Release = std::function<void()>;
  void exclusive(std::function<void(Release)> start);

 private:
  void pump();
  void start_fetch(Release release);

  uv_loop_t* loop_;
  const GateTools& tools_;
  const StateDir& state_;
  const config::GateRepo& repo_;
  GateMetrics& metrics_;
  std::deque<std::function<void(Release)>> queue_;
  bool busy_ = false;
  bool fetch_queued_ = false;
  bool head_synced_ = false;  // HEAD follows the upstream's default branch after the first fetch
  std::vector<std::function<void(const FetchOutcome&)>> waiting_;
};

}  // namespace bottle::gitgate
