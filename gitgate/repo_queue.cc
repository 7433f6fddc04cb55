#include "gitgate/repo_queue.h"

#include <memory>

#include "common/log.h"

namespace bottle::gitgate {

void run_blocking(uv_loop_t* loop, std::function<void()> work, std::function<void()> after) {
  struct Job {
    uv_work_t req{};
    std::function<void()> work, after;
  };
  auto* job = new Job{};  // freed in the after-callback
  job->req.data = job;
  job->work = std::move(work);
  job->after = std::move(after);
  uv_queue_work(
      loop, &job->req, [](uv_work_t* r) { static_cast<Job*>(r->data)->work(); },
      [](uv_work_t* r, int) {
        std::unique_ptr<Job> j(static_cast<Job*>(r->data));
        j->after();
      });
}

RepoQueue::RepoQueue(uv_loop_t* loop, const GateTools& tools, const StateDir& state,
                     const config::GateRepo& repo, GateMetrics& metrics)
    : loop_(loop), tools_(tools), state_(state), repo_(repo), metrics_(metrics) {}

void RepoQueue::want_fresh(std::function<void(const FetchOutcome&)> done) {
  waiting_.push_back(std::move(done));
  if (fetch_queued_) {
    metrics_.reads_coalesced.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  fetch_queued_ = true;
  exclusive([this](Release release) { start_fetch(std::move(release)); });
}

void RepoQueue::start_fetch(Release release) {
  // Reads arriving from now on wait for the next fetch: this one may already be too old.
  fetch_queued_ = false;
  auto waiters =
      std::make_shared<std::vector<std::function<void(const FetchOutcome&)>>>(std::move(waiting_));
  waiting_.clear();
  auto outcome = std::make_shared<FetchOutcome>();
  const bool sync_head = !head_synced_;
  run_blocking(
      loop_,
      [this, outcome, sync_head] { *outcome = fetch_mirror(tools_, state_, repo_, sync_head); },
      [this, outcome, waiters, release = std::move(release)] {
        if (outcome->ok) {
          head_synced_ = true;
          metrics_.fetches_ok.fetch_add(1, std::memory_order_relaxed);
          nlohmann::json fields = {
              {"repo", repo_.name}, {"ms", outcome->ms}, {"readers", waiters->size()}};
          if (!outcome->head.empty()) fields["head"] = outcome->head;
          log::info("gitgate_fetch", std::move(fields));
        } else {
          metrics_.fetches_failed.fetch_add(1, std::memory_order_relaxed);
          log::warn("gitgate_fetch_failed", {{"repo", repo_.name},
                                             {"ms", outcome->ms},
                                             {"readers", waiters->size()},
                                             {"error", outcome->error}});
        }
        release();
        for (auto& w : *waiters) w(*outcome);
      });
}

void RepoQueue::exclusive(std::function<void(Release)> start) {
  queue_.push_back(std::move(start));
  pump();
}

void RepoQueue::pump() {
  if (busy_ || queue_.empty()) return;
  busy_ = true;
  auto start = std::move(queue_.front());
  queue_.pop_front();
  auto released = std::make_shared<bool>(false);
  start([this, released] {
    if (*released) return;
    *released = true;
    busy_ = false;
    pump();
  });
}

}  // namespace bottle::gitgate
