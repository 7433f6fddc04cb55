// One `git upload-pack` or `git receive-pack` serving a client, on the event loop: its
// stdin, stdout and stderr pipes and, for receive-pack, the pre-receive hook channel
// (push_gate.h), whose request is gated on the repo's queue (repo_queue.h).
//
// Lifetime: the connection that starts it owns it until detach(); after that the child
// runs to its end (stdin closed, output dropped, killed after the grace time) and the
// object frees itself once every libuv handle is closed and the hook job is done. A
// receive-pack is not killed when its client goes: it finishes its ref update, so the
// mirror matches what the upstream was given.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "gitgate/metrics.h"
#include "gitgate/push_gate.h"
#include "gitgate/repo_queue.h"

namespace bottle::gitgate {

class ServiceProcess {
 public:
  struct Handlers {
    std::function<void(std::string_view)> out;  // bytes the child wrote for the client
    std::function<void()> out_end;              // stdout closed
    std::function<void(int status)> exited;     // exit code, or 128+signal
    std::function<void()> in_drained;           // stdin write queue fell under the low mark
  };
  // Set for receive-pack: where the hook channel's request is gated.
  struct HookGate {
    RepoQueue* queue = nullptr;
    PushGateContext context;                       // say is filled in per request
    std::function<void(const PushOutcome&)> done;  // on the loop, for metrics
  };
  struct Spec {
    std::vector<std::string> argv;  // argv[0] absolute
    std::vector<std::string> env;
    std::string name;  // for logs: "app git-upload-pack"
    std::unique_ptr<HookGate> hook;
    const dlp::Scanner* scanner = nullptr;  // stderr lines carrying a secret are not logged
    GateMetrics* metrics = nullptr;         // active_children
  };

  static Result<ServiceProcess*> start(uv_loop_t* loop, Spec spec, Handlers handlers);

  void write_in(std::string_view data);
  size_t in_queued() const;
  void close_in();
  void pause_out();
  void resume_out();
  // The owner lets go: no handler runs again; the child is killed after `grace_ms` if it
  // has not exited by then.
  void detach(uint64_t grace_ms);

  static constexpr size_t kHighWater = 1 << 20;
  static constexpr size_t kLowWater = 256 << 10;

 private:
  ServiceProcess(uv_loop_t* loop, Spec spec, Handlers handlers);
  ~ServiceProcess() = default;
  static void on_exit(uv_process_t* p, int64_t status, int signal);
  static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_out(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
  static void on_err(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
  static void on_hook_readable(uv_poll_t* p, int status, int events);
  void close_handle(uv_handle_t* h);
  void maybe_free();
  void kill_group(int sig);
  void log_stderr_line(std::string_view line);
  void gate_hook_request();

  uv_loop_t* loop_;
  Spec spec_;
  Handlers handlers_;
  uv_process_t process_{};
  uv_pipe_t in_{}, out_{}, err_{};
  uv_poll_t hook_poll_{};
  uv_timer_t kill_timer_{};
  int open_handles_ = 0;
  int hook_fd_ = -1;  // our end of the hook channel
  bool exited_ = false;
  bool in_closed_ = false;
  bool detached_ = false;
  bool hook_job_running_ = false;
  RepoQueue::Release hook_release_;  // held from the hook request until the child exits
  std::string err_partial_;
};

}  // namespace bottle::gitgate
