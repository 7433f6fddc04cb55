// Blocking child processes for the work the gate does off the event loop (fetch, scan,
// forward): posix_spawn, no shell, the environment given and nothing else. Captured
// output goes to memory files (memfd), so a child that writes a lot to both stdout and
// stderr can never deadlock against a parent reading only one of them; at most one
// stream is a pipe the caller reads while the child runs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace bottle::gitgate {

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] an absolute path
  std::vector<std::string> env;   // the child's whole environment ("NAME=value")
  std::string input;              // the child's stdin; empty = /dev/null
  // Which stream, if any, the caller reads live through Subprocess::stream_fd(); the
  // other is captured.
  enum class Live { none, stdout_pipe, stderr_pipe };
  Live live = Live::none;
  std::vector<int> pass_fds;  // handed to the child as fds 3, 4, ... (listening sockets)
};

class Subprocess {
 public:
  static Result<Subprocess> start(const SpawnSpec& spec);
  Subprocess(Subprocess&& o) noexcept;
  Subprocess& operator=(Subprocess&&) = delete;
  Subprocess(const Subprocess&) = delete;
  ~Subprocess();  // kills and reaps a child still running

  int stream_fd() const { return live_.get(); }  // the pipe of SpawnSpec::live, or -1
  void signal(int sig) const;                    // to the child (not its group)
  pid_t pid() const { return pid_; }
  // Waits for the child; with a timeout (ms, 0 = none) it is killed (SIGKILL) when the
  // time is up. Returns the exit code, or 128+signal.
  int wait(uint64_t timeout_ms = 0);
  bool timed_out() const { return timed_out_; }
  // What the child wrote to a captured stream so far; at most `limit` bytes.
  std::string captured_stdout(size_t limit = 64 << 20) const;
  std::string captured_stderr(size_t limit = 1 << 20) const;

 private:
  Subprocess() = default;
  pid_t pid_ = -1;
  UniqueFd live_, out_, err_;
  bool timed_out_ = false;
};

struct CommandResult {
  int status = 0;  // exit code, or 128+signal
  std::string out;
  std::string err;
  bool timed_out = false;
  bool ok() const { return status == 0 && !timed_out; }
};

// Runs one command to completion, capturing both streams.
Result<CommandResult> run_command(const SpawnSpec& spec, uint64_t timeout_ms = 0);

// Reads one line (without its '\n') from a blocking pipe through `buffer`; false at EOF
// with nothing left. Lines longer than `max` are cut.
bool read_line(int fd, std::string& buffer, std::string& line, size_t max = 64 * 1024);

// The last non-empty lines of a command's stderr, joined with "\n" (for error messages).
std::string tail_lines(std::string_view text, size_t lines);

}  // namespace bottle::gitgate
