// The crash guard: a helper process that finishes a bottle's teardown when the `bottle`
// process owning it dies without doing so (SIGKILL, a crash, the OOM killer).
//
// `bottle` forks it while still single-threaded. The guard starts its own session (so
// terminal hang-ups, Ctrl-C and process-group kills aimed at `bottle` miss it), closes
// every inherited descriptor, and blocks reading a pipe whose write end only `bottle`
// holds. A "disarm" byte means the teardown was done (or is not wanted, `--keep`): the
// guard exits. End of file without it means `bottle` is gone: the guard runs `teardown`
// (which must be idempotent and must not trust the parent's memory) and exits.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "common/result.h"
#include "orchestrator/process.h"

namespace bottle::orchestrator {

class CrashGuard {
 public:
  CrashGuard() = default;
  // The guard's stdout and stderr go to `log_file` (appended).
  static Result<CrashGuard> start(std::function<void()> teardown, const std::string& log_file);
  ~CrashGuard() { disarm(); }
  CrashGuard(CrashGuard&& o) noexcept
      : lifeline_(std::move(o.lifeline_)), pid_(std::exchange(o.pid_, -1)) {}
  CrashGuard& operator=(CrashGuard&& o) noexcept;
  CrashGuard(const CrashGuard&) = delete;
  CrashGuard& operator=(const CrashGuard&) = delete;

  pid_t pid() const { return pid_; }
  // Tells the guard to exit without tearing anything down, and reaps it.
  void disarm();

 private:
  UniqueFd lifeline_;  // write end; the guard holds the read end
  pid_t pid_ = -1;
};

}  // namespace bottle::orchestrator
