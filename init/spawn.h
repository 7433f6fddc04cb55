// Starts one daemon: fork, hand over stdio pipes and inherited sockets, exec. Everything
// the child needs (argv, envp) is built before fork; the child only calls
// async-signal-safe functions, so it never touches init's heap or environ.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "init/config.h"
#include "common/unique_fd.h"

namespace bottle::init {

struct SpawnedDaemon {
  pid_t pid = -1;
  UniqueFd out;  // read end of the child's stdout, non-blocking, close-on-exec
  UniqueFd err;  // read end of the child's stderr
};

// `env` is the already-scoped environment. If spec.inherit_fds is non-empty the child
// gets them as fds 3.. plus LISTEN_FDS=<n> and LISTEN_PID=<its own pid>. The child runs
// in its own session (so init can kill its whole process group) with default signal
// dispositions and an empty signal mask. Exec failure is reported here, not as a crash.
Result<SpawnedDaemon> spawn_daemon(const DaemonSpec& spec, std::vector<std::string> env);

}  // namespace bottle::init
