#include "orchestrator/logs_cmd.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <ostream>

#include "common/unique_fd.h"
#include "orchestrator/activity.h"
#include "orchestrator/preflight.h"
#include "orchestrator/state.h"

namespace bottle::orchestrator {
namespace {

// Waits until something in `dir` was written (or `ms` passed). Without inotify it is
// a plain pause: following a file has no other readiness event.
void wait_for_writes(int inotify_fd, int ms) {
  pollfd p{inotify_fd, POLLIN, 0};
  if (inotify_fd < 0 || ::poll(&p, 1, ms) <= 0) {
    if (inotify_fd < 0) ::poll(nullptr, 0, ms);
    return;
  }
  char buf[4096];
  while (::read(inotify_fd, buf, sizeof buf) > 0) {
  }
}

}  // namespace

int logs_command(const LogsOptions& o, std::ostream& out, std::ostream& err) {
  const std::string dir = state_dir(o.slug);
  if (!read_metadata(dir)) {
    err << "bottle: no bottle '" << o.slug << "'\n";
    return 1;
  }
  LogTail tail(dir + "/logs/sidecar.log");
  const bool filtered = o.blocks || !o.daemon.empty();
  auto print_new = [&]() -> bool {
    auto lines = tail.read_new();
    if (!lines) {
      err << "bottle: " << lines.error() << "\n";
      return false;
    }
    for (const auto& line : *lines) {
      auto e = parse_log_line(line);
      if (!e) {
        // Not written by init (it wraps every line); shown, never interpreted.
        if (!filtered) out << (o.pretty ? printable(line) : line) << "\n";
        continue;
      }
      if (!o.daemon.empty() && e->daemon != o.daemon) continue;
      if (o.blocks && !is_block_event(*e) && !is_warn_event(*e)) continue;
      out << (o.pretty ? pretty_log_line(*e, o.color) : line) << "\n";
    }
    out.flush();
    return true;
  };
  if (!print_new()) return 1;
  if (!o.follow) return 0;
  UniqueFd watch(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (watch && ::inotify_add_watch(watch.get(), (dir + "/logs").c_str(),
                                   IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
    watch.reset();
  }
  for (;;) {
    // A stopped bottle writes no more: print what came last, then end.
    auto md = read_metadata(dir);
    const bool alive = md && bottle_alive(*md);
    if (!print_new()) return 1;
    if (!alive || !out) return 0;
    wait_for_writes(watch.get(), 500);
  }
}

}  // namespace bottle::orchestrator
