// Child processes without a shell: argv vectors, explicit env, explicit fd layout.
// ChildProcess owns the pid: destroying a running child kills and reaps it.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace bottle::orchestrator {

using ::bottle::UniqueFd;

struct SpawnOptions {
  std::vector<std::string> argv;
  std::optional<std::vector<std::string>> env;  // "K=V"; nullopt = inherit
  std::vector<int> pass_fds;                    // become the child's fds 3, 4, ... in this order
  std::string stdout_file;                      // append; empty = inherit
  std::string stderr_file;  // append; empty = inherit (or same as stdout when equal)
  bool stdin_null = false;
  // Become the child's 0, 1, 2 where not -1 (before stdout_file/stderr_file apply).
  std::array<int, 3> stdio = {-1, -1, -1};
  bool new_session = false;  // setsid: its own process group, no controlling tty
  // With new_session: the terminal on fd 0 becomes the new session's controlling tty.
  bool controlling_terminal = false;
  int netns_fd = -1;         // setns(CLONE_NEWNET) before exec
  // Sent to the child when the thread that called spawn() exits (PR_SET_PDEATHSIG; it
  // survives exec). Call spawn() from the main thread, so that thread is the process.
  int parent_death_signal = 0;
  // Directories the child reaches through a private stage: in its own mount namespace
  // it opens each `path` (still as root), mounts a tmpfs on `stage_dir` and bind-mounts
  // each directory at stage_dir/<name>. A child that then drops to `run_as` reaches
  // them there even when it could not search the directories above them.
  struct Staged {
    std::string path;
    std::string name;
    bool read_only = false;  // the bind is remounted read-only (and nosuid, nodev)
  };
  std::string stage_dir;
  std::vector<Staged> staged;
  // uid and gid to switch to (supplementary groups dropped) right before exec.
  std::optional<std::pair<uid_t, gid_t>> run_as;
  // Right before exec: empty the capability bounding, inheritable and ambient sets and set
  // no_new_privs, so the program runs without any capability even as uid 0 (it keeps
  // root's ownership of its own files, nothing more).
  bool drop_capabilities = false;
};

class ChildProcess {
 public:
  ChildProcess() = default;
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  ~ChildProcess();
  ChildProcess(ChildProcess&& o) noexcept : pid_(std::exchange(o.pid_, -1)) {}
  ChildProcess& operator=(ChildProcess&& o) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Exit code (128+signal when killed); nullopt if still running (poll) .
  std::optional<int> poll();
  int wait();
  // TERM, wait up to `grace`, then KILL; returns the exit code.
  int terminate(std::chrono::milliseconds grace);
  pid_t release() { return std::exchange(pid_, -1); }

 private:
  pid_t pid_ = -1;
};

Result<ChildProcess> spawn(const SpawnOptions& options);

struct CaptureResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// A sealed memfd holding `data`, read from offset 0 (e.g. bwrap's --ro-bind-data FD).
Result<UniqueFd> memfd_with(const std::string& name, std::string_view data);

// This process's environment with `add` ("K=V") set on top (replacing same names).
std::vector<std::string> environ_with(const std::vector<std::string>& add);

// Runs argv to completion, capturing stdout and stderr (each capped at 1 MiB). `add_env`
// ("K=V") is set in the child's environment on top of this process's (never on argv).
// `timeout` > 0: the child runs in its own process group, which is SIGKILLed when the
// time is up (the error is "timed out after N s"); 0 = no bound.
Result<CaptureResult> run_capture(const std::vector<std::string>& argv,
                                  const std::string& stdin_data = "",
                                  const std::vector<std::string>& add_env = {},
                                  std::chrono::milliseconds timeout = {});

// "12 s", "1.5 s": a duration for a message.
std::string seconds_text(std::chrono::milliseconds d);

// "ip: RTNETLINK answers: File exists" -> one line for an error message.
std::string first_line(const std::string& text);

// `handler` for SIGTERM, SIGHUP and SIGINT (`bottle stop`, a closed terminal, Ctrl-C
// outside the agent's raw terminal): a backend ends its agent and tears down.
void install_stop_handlers(void (*handler)(int));

// What a tool said when it failed, on one line: the last line of its stderr, else of its
// stdout, else its exit status ("Error response from daemon: ...").
std::string failure_line(const CaptureResult& r);

// Executable next to the running `bottle` binary, else on PATH; "" if not found.
std::string find_helper_binary(const std::string& name);

// A process as metadata.json records it: its pid and its start time (clock ticks after
// boot, field 22 of /proc/<pid>/stat). A pid the kernel has since handed to another
// process has another start time, so it is never mistaken for the recorded one.
struct ProcessId {
  pid_t pid = 0;
  unsigned long long start_time = 0;  // 0: unknown, so never treated as alive
};

// The identity of a running process; {pid, 0} when there is no such process.
ProcessId identify_process(pid_t pid);
// True while that very process runs (a zombie or a recycled pid is not alive).
bool process_alive(const ProcessId& process);
// Sends `sig` to that very process through a pidfd, so no other process can take its
// pid between the identity check and the signal. False when it is gone.
bool signal_process(const ProcessId& process, int sig);
// A pidfd for `pid`, empty when there is no such process. It names that one process for
// good: signals sent through it never reach a later owner of the pid.
UniqueFd open_pidfd(pid_t pid);
bool pidfd_signal(const UniqueFd& pidfd, int sig);
// SIGTERM, up to `grace` for it to go, then SIGKILL. True when it is gone.
bool stop_process(const ProcessId& process, std::chrono::milliseconds grace);

}  // namespace bottle::orchestrator
