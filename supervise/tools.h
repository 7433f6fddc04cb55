// The four MCP tools of bottle-supervise (SPEC §7) and the proposal loop behind them:
//
//   list-egress-routes    the routes egress runs now (its admin /routes), tokens omitted
//   request-egress-route  proposal → wait for the operator → on approval apply_route()
//   capability-block      proposal → wait → the operator's free-text answer
//   report-stuck          proposal → returns at once; archived when the operator answers
//
// A waiting call reports progress (for clients that listen to a stream) and ends after
// `answer_timeout` with isError. A call that ends early (client gone, cancelled) is
// withdrawn: a synthetic answer is written through the queue's link(2) race, so an
// operator's answer that landed first still counts (an approved route is still applied).
// supervise is the consumer of what it proposes: it archives every one of them.
//
// Runs on one libuv loop. Answers are noticed through inotify on the queue directory
// (uv_fs_event) plus a rescan every second for filesystems without events. Blocking work
// (routes, the admin port) runs on libuv's thread pool; route applications one at a time.
#pragma once

#include <uv.h>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/listen.h"
#include "common/proposal_queue.h"
#include "supervise/mcp.h"
#include "supervise/route_apply.h"

namespace bottle::supervise {

struct ToolSettings {
  std::string queue_dir;
  std::string bottle;  // slug written into proposals ("" if unknown)
  RouteApplySettings routes;
  // Kubernetes: routes.yaml is a ConfigMap this process cannot write. `bottle proposals
  // approve` applies the route operator-side (ConfigMap, kubelet swap, init reload) before
  // it writes the answer, so an approval here only tells the agent.
  bool routes_by_operator = false;
  std::chrono::milliseconds answer_timeout{300'000};
  std::chrono::milliseconds progress_interval{10'000};
  size_t max_open_proposals = 32;
};

class SuperviseTools : public ToolHost {
 public:
  SuperviseTools(uv_loop_t* loop, ToolSettings settings);
  ~SuperviseTools() override;
  SuperviseTools(const SuperviseTools&) = delete;
  SuperviseTools& operator=(const SuperviseTools&) = delete;

  // Watches the queue and settles what a previous run left behind: proposals whose call
  // is gone are withdrawn (or, if answered meanwhile, carried out), stuck reports are
  // kept until answered.
  Status start();
  // Withdraws every waiting proposal and stops watching. Blocking jobs still running
  // finish on their own; run the loop until they have.
  void stop();

  nlohmann::json list() const override;
  bool has(std::string_view name) const override;
  void call(std::string_view name, const nlohmann::json& arguments,
            std::shared_ptr<ToolCall> call) override;

  // Open proposals this process watches (tests, shutdown).
  size_t open_proposals() const { return open_.size(); }

 private:
  struct Open;
  struct Job;

  void list_routes(const std::shared_ptr<ToolCall>& call);
  void request_route(const nlohmann::json& args, const std::shared_ptr<ToolCall>& call);
  void capability_block(const nlohmann::json& args, const std::shared_ptr<ToolCall>& call);
  void report_stuck(const nlohmann::json& args, const std::shared_ptr<ToolCall>& call);

  // Creates the proposal and starts waiting for its answer; finishes `call` on failure.
  void open_proposal(Proposal p, std::shared_ptr<ToolCall> call, bool waits);
  void check_answer(const std::string& id);
  void act_on(const std::string& id, const Response& r);
  // `why` goes into the synthetic answer and the log; `agent_message` to a waiting call.
  void withdraw(const std::string& id, const std::string& why, const std::string& agent_message);
  void settle(const std::string& id, ToolResult result, bool ok, const std::string& detail);
  void adopt_leftovers();
  void tick();
  void update_tick_timer();
  void run_job(std::function<void()> work, std::function<void()> done, bool serial);
  void start_next_serial();

  static void on_fs_event(uv_fs_event_t* h, const char* filename, int events, int status);
  static void on_tick(uv_timer_t* t);

  uv_loop_t* loop_;
  ToolSettings settings_;
  ProposalQueue queue_;
  uv_fs_event_t fs_event_{};
  uv_timer_t tick_{};
  bool started_ = false;
  bool watching_ = false;
  std::map<std::string, std::unique_ptr<Open>> open_;
  std::deque<std::unique_ptr<Job>> serial_jobs_;
  bool serial_running_ = false;
  std::chrono::steady_clock::time_point last_rescan_{};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace bottle::supervise
