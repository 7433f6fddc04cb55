#include "tests/orchestrator/e2e_support.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstdio>

namespace bottle::orchestrator::testing {

EchoUpstream::EchoUpstream(const std::string& cert, const std::string& key) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return;
  UniqueFd rd(p[0]), wr(p[1]);
  // The child's stdout is the pipe: spawn() maps stdout only to files, so pass it as
  // fd 3 and let the shell redirect.
  SpawnOptions so;
  so.argv = {"sh", "-c", "exec python3 \"$0\" 0 \"$@\" >&3 2>/dev/null", BOTTLE_UPSTREAM_PY};
  if (!cert.empty()) so.argv.insert(so.argv.end(), {cert, key});
  so.pass_fds = {wr.get()};
  so.stdin_null = true;
  auto c = spawn(so);
  if (!c) return;
  child_ = std::move(*c);
  wr.reset();
  // "ready <port>\n" once it is accepting; bounded wait.
  std::string line;
  struct pollfd pfd = {rd.get(), POLLIN, 0};
  while (line.find('\n') == std::string::npos && ::poll(&pfd, 1, 10000) > 0) {
    char buf[64];
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  int port = 0;
  if (std::sscanf(line.c_str(), "ready %d", &port) == 1) port_ = port;
}

EchoUpstream::~EchoUpstream() = default;  // ChildProcess terminates it

}  // namespace bottle::orchestrator::testing
