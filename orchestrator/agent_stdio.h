// The agent's standard input and output (SPEC §9.4: it never shares the operator's
// terminal). The agent never holds one of `bottle`'s own descriptors; it gets its own
// and `bottle` copies between them, the way `docker run -t` and ssh do:
//
// - interactive (`bottle start` on a terminal): a pseudo-terminal. Its slave is the
//   agent's stdin, stdout, stderr and controlling terminal, so TIOCSTI and TIOCLINUX
//   reach at most that pty, never the operator's terminal. The operator's terminal is
//   raw while the agent runs (every key, Ctrl-C included, goes to the agent's line
//   discipline) and restored on every way out of relay() (not after a SIGKILL of bottle,
//   as with ssh); window-size changes (SIGWINCH)
//   are passed on with TIOCSWINSZ; EOF on bottle's stdin becomes the pty's EOF character.
// - otherwise: pipes for stdin, stdout and stderr. A terminal on bottle's stdin is not
//   passed on (the agent reads /dev/null), a closed reader of bottle's stdout closes the
//   agent's stdout (it gets SIGPIPE, as it would have without bottle in between).
//
// Whatever reaches a terminal of the operator's passes TerminalOutputFilter (terminal.h):
// no clipboard, file-transfer, passthrough or graphics sequences. The terminal's pending
// input is flushed when the agent's session ends, so late answers to the agent's queries
// never reach the operator's shell.
//
// The agent's ends belong to the agent's uid, so it can reopen /dev/stdout or /dev/tty.
// The caller must ignore SIGPIPE (bottle's main does), so a gone reader is an EPIPE.
#pragma once

#include <sys/types.h>
#include <termios.h>

#include <array>
#include <functional>
#include <string>

#include "common/result.h"
#include "orchestrator/process.h"

namespace bottle::orchestrator {

// One more descriptor AgentStdio::relay() watches for its caller while the agent runs.
struct StdioWatch {
  int fd = -1;
  std::function<void()> on_readable;
};

class AgentStdio {
 public:
  static Result<AgentStdio> open(bool interactive, uid_t uid, gid_t gid);
  AgentStdio() = default;
  AgentStdio(AgentStdio&&) = default;
  AgentStdio& operator=(AgentStdio&&) = default;
  ~AgentStdio() = default;

  bool terminal() const { return static_cast<bool>(master_); }
  // The child's fds 0, 1, 2 (for SpawnOptions::stdio); with terminal(), fd 0 is to
  // become its controlling terminal.
  std::array<int, 3> child_fds() const;
  // Closes this process's copies of the child's ends; call once the child runs.
  void child_started();
  // Copies between bottle's stdio and the agent's until the agent has closed all its
  // output (it exited, and everything in its pid namespace with it).
  void relay(const StdioWatch& watch);
  // relay() also appends all the agent's output to `log` (the vm backend's console log),
  // a line at a time through log::mask_encoded_runs (common/encoded_run.h): a token the agent prints is
  // "********" there, as in every other log the bottle writes.
  void log_output_to(UniqueFd log) { log_ = std::move(log); }
  // In terminal mode, relay() also writes "rows cols\n" to `fd` at start and at each
  // resize (SIGWINCH): a vm guest's console is not this pty, it learns sizes this way.
  void forward_resizes_to(UniqueFd fd) { resize_ = std::move(fd); }

 private:
  void relay_terminal(const StdioWatch& watch);
  void relay_pipes(const StdioWatch& watch);
  void log_output(std::string_view bytes);
  void flush_log(bool all);

  // Terminal mode.
  UniqueFd master_, slave_;
  // Pipe mode: our ends, and the child's.
  UniqueFd in_w_, out_r_, err_r_;
  UniqueFd in_r_, out_w_, err_w_;
  // The console log, and its partial last line.
  UniqueFd log_;
  std::string log_line_;
  UniqueFd resize_;
};

}  // namespace bottle::orchestrator
