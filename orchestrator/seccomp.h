// The agent's seccomp filter: it may not create a setuid or setgid file.
//
// The workspace is mounted nosuid, but that only stops the bits from working inside the
// bottle: `chmod u+s` still writes them to disk, and on the host the file would be a
// setuid binary of the agent's uid. So every call that sets a mode (chmod, fchmod,
// fchmodat, fchmodat2; open, openat and creat when they create; mknod, mknodat) fails
// with EPERM when the mode has S_ISUID or S_ISGID. Calls whose mode the filter cannot
// see are refused with ENOSYS: openat2 (libc falls back to openat) and io_uring (whose
// operations bypass seccomp). Another architecture's system calls (32-bit x86 on x86-64,
// x32) kill the process: their numbers differ and would slip past the checks.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "common/result.h"
#include "orchestrator/process.h"

namespace bottle::orchestrator {

// The classic-BPF program for this machine's architecture (x86-64 or aarch64).
std::vector<sock_filter> setid_filter();

// The program in a sealed memfd, as bwrap's --seccomp FD reads it.
Result<UniqueFd> setid_filter_fd();

}  // namespace bottle::orchestrator
