#include "init/supervisor.h"

#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <list>
#include <optional>

#include "common/log.h"
#include "init/backoff.h"
#include "init/ctl.h"
#include "init/env_scope.h"
#include "init/line_relay.h"
#include "init/probe.h"
#include "init/spawn.h"
#include "common/strings.h"

extern char** environ;

namespace bottle::init {
namespace {

using nlohmann::json;
using std::chrono::duration_cast;

constexpr milliseconds kCheckInterval{100};
constexpr milliseconds kCheckTimeout{1000};
constexpr size_t kMaxCtlConnections = 32;
// A connection that has not sent its request line by then is closed, so idle clients
// cannot use up the kMaxCtlConnections slots.
constexpr milliseconds kCtlRequestTimeout{5000};
// reload_on_change: the SIGHUP goes out once the watched directory has been quiet this
// long, so a kubelet swap (new dir, symlink, rename, delete) or temp + rename is one reload.
constexpr milliseconds kChangeSettle{150};

// A no-op handler, never run (the signals are blocked and read from a signalfd): a
// namespace's PID 1 only receives signals it has a handler for.
void ignore_signal(int) {}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : std::to_string(sig);
}

std::string describe_status(int wstatus) {
  if (WIFEXITED(wstatus)) return "exit " + std::to_string(WEXITSTATUS(wstatus));
  if (WIFSIGNALED(wstatus)) return "signal " + signal_name(WTERMSIG(wstatus));
  return "status " + std::to_string(wstatus);
}

int exit_code(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return 1;
}

long long ms(Clock::duration d) {
  return duration_cast<milliseconds>(d).count();
}

// running: pid alive. stopping: TERM sent, KILL at kill_at. waiting: in backoff until
// restart_at. exited: not running and will not start again unless asked (ctl restart).
enum class State { running, stopping, waiting, exited };

const char* state_name(State s) {
  switch (s) {
    case State::running:
      return "running";
    case State::stopping:
      return "stopping";
    case State::waiting:
      return "waiting";
    case State::exited:
      return "exited";
  }
  return "?";
}

struct Daemon {
  const DaemonSpec* spec = nullptr;
  State state = State::exited;
  pid_t pid = 0;
  Clock::time_point started_at, restart_at, kill_at;
  bool kill_sent = false;
  bool restart_requested = false;  // by ctl: start again as soon as it is gone
  bool ever_started = false;
  int restarts = 0;
  Backoff backoff;
  bool ready = false;
  std::optional<ReadinessCheck> check;
  Clock::time_point next_check_at, check_deadline;
  std::string last_exit;
  int watch = -1;                              // inotify watch of reload_on_change
  std::optional<Clock::time_point> reload_at;  // a change seen: SIGHUP once settled
};

class Supervisor {
 public:
  explicit Supervisor(const SupervisorOptions& o) : options_(o) {
    for (char** e = environ; *e; ++e) parent_env_.emplace_back(*e);
    for (const auto& name : o.daemons) {
      Daemon d;
      d.spec = &options_.config.daemons.at(name);
      daemons_.push_back(std::move(d));
    }
  }

  int run() {
    if (!setup_signals() || !setup_watches()) return 1;
    auto ctl = listen_ctl_socket(options_.ctl_path);
    if (!ctl) {
      std::fprintf(stderr, "bottle-init: control socket: %s\n", ctl.error().c_str());
      return 1;
    }
    ctl_ = std::move(*ctl);
    // Orphans of our daemons come to us even when we are not PID 1 (tests, nested use).
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    log::info("init_started",
              {{"pid", getpid()}, {"ctl", options_.ctl_path}, {"daemons", options_.daemons}});
    if (daemons_.empty()) log::info("idle", {{"reason", "no daemons selected (BOTTLE_DAEMONS)"}});
    for (auto& d : daemons_) start(d);
    update_ready();

    for (;;) {
      run_timers();
      if (finished()) break;
      poll_once();
    }
    for (auto& p : pipes_) p.drain();
    unlink(options_.ctl_path.c_str());
    log::info("init_exiting", {{"exit_code", first_failure_}});
    return first_failure_;
  }

 private:
  // ---- lifecycle ----

  bool setup_signals() {
    sigset_t set;
    sigemptyset(&set);
    struct sigaction sa {};
    sa.sa_handler = ignore_signal;
    // SIGUSR1/2 are read only to be refused: restarts go through the control socket, and
    // an unhandled USR1 would kill a non-PID-1 init.
    for (int sig : {SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGUSR1, SIGUSR2}) {
      sigaddset(&set, sig);
      sigaction(sig, &sa, nullptr);
    }
    signal(SIGPIPE, SIG_IGN);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    signal_fd_.reset(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!signal_fd_.valid()) {
      std::fprintf(stderr, "bottle-init: signalfd: %s\n", std::strerror(errno));
      return false;
    }
    return true;
  }

  // One inotify instance for every reload_on_change directory. The directory itself is
  // watched (not the file): a ConfigMap volume's files are symlinks through `..data`,
  // which the kubelet replaces by rename, and a file replaced by rename is a new inode.
  bool setup_watches() {
    for (auto& d : daemons_) {
      const std::string& dir = d.spec->reload_on_change;
      if (dir.empty()) continue;
      if (!inotify_.valid()) {
        inotify_.reset(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
        if (!inotify_.valid()) {
          std::fprintf(stderr, "bottle-init: inotify: %s\n", std::strerror(errno));
          return false;
        }
      }
      d.watch = inotify_add_watch(inotify_.get(), dir.c_str(),
                                  IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM |
                                      IN_CLOSE_WRITE | IN_ATTRIB | IN_ONLYDIR);
      if (d.watch < 0) {
        std::fprintf(stderr, "bottle-init: daemon '%s' reload_on_change %s: %s\n",
                     d.spec->name.c_str(), dir.c_str(), std::strerror(errno));
        return false;
      }
      log::info("watching", {{"daemon", d.spec->name}, {"dir", dir}});
    }
    return true;
  }

  void on_watch_events() {
    alignas(inotify_event) char buf[8192];
    ssize_t n;
    while ((n = read(inotify_.get(), buf, sizeof buf)) > 0) {
      for (char* p = buf; p < buf + n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(p);
        for (auto& d : daemons_) {
          if (d.watch == ev->wd) d.reload_at = Clock::now() + kChangeSettle;
          if (d.watch == ev->wd && (ev->mask & IN_IGNORED)) {
            d.watch = -1;  // the directory itself is gone
            log::warn("watch_lost", {{"daemon", d.spec->name}, {"dir", d.spec->reload_on_change}});
          }
        }
        p += sizeof(inotify_event) + ev->len;
      }
    }
  }

  // Done after a shutdown once every daemon is gone, or when no daemon is left that will
  // ever run again (all `restart: never` / clean `on-failure` exits).
  bool finished() {
    bool alive = false, pending = false;
    for (const auto& d : daemons_) {
      alive = alive || d.pid > 0;
      pending = pending || d.state != State::exited;
    }
    if (shutting_down_) return !alive;
    if (daemons_.empty() || pending) return false;
    log::warn("all_exited", {{"reason", "every daemon exited and none will restart"}});
    return true;
  }

  void start(Daemon& d) {
    const auto now = Clock::now();
    const DaemonSpec& spec = *d.spec;
    auto spawned = spawn_daemon(spec, scoped_env(spec.name, spec.env_allow, parent_env_));
    if (d.ever_started) ++d.restarts;
    d.ever_started = true;
    if (!spawned) {
      log::error("spawn_failed", {{"daemon", spec.name}, {"error", spawned.error()}});
      d.last_exit = "spawn failed: " + spawned.error();
      d.started_at = now;
      after_exit(d, /*clean=*/false, 127);
      return;
    }
    d.pid = spawned->pid;
    d.state = State::running;
    d.started_at = now;
    d.kill_sent = false;
    d.ready = spec.ready.kind == ReadyProbe::Kind::none;
    d.next_check_at = now;
    pipes_.emplace_back(spec.name, "stdout", std::move(spawned->out));
    pipes_.emplace_back(spec.name, "stderr", std::move(spawned->err));
    log::info("daemon_started", {{"daemon", spec.name}, {"pid", d.pid}, {"restarts", d.restarts}});
    if (d.ready) log::info("daemon_ready", {{"daemon", spec.name}, {"pid", d.pid}});
    reply_restarted(d);
    update_ready();
  }

  void stop(Daemon& d) {
    if (d.pid <= 0) return;
    kill(d.pid, SIGTERM);
    d.state = State::stopping;
    d.kill_at = Clock::now() + options_.grace;
    d.kill_sent = false;
    log::info("daemon_stopping",
              {{"daemon", d.spec->name}, {"pid", d.pid}, {"grace_ms", options_.grace.count()}});
  }

  void on_death(Daemon& d, int wstatus) {
    const auto uptime = Clock::now() - d.started_at;
    // Not a failure: dying of the TERM we sent, or any end of a restart the operator
    // asked for over ctl. (A KILL after the shutdown grace is one: it did not stop.)
    const bool asked =
        d.state == State::stopping &&
        (d.restart_requested || (WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGTERM));
    const bool clean = asked || (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    d.last_exit = describe_status(wstatus);
    log::event(clean ? log::Level::info : log::Level::warn, "daemon_exited",
               {{"daemon", d.spec->name},
                {"pid", d.pid},
                {"status", d.last_exit},
                {"uptime_ms", ms(uptime)}});
    d.pid = 0;
    d.ready = false;
    d.check.reset();
    after_exit(d, clean, exit_code(wstatus));
    update_ready();
  }

  // Decides what follows a daemon's exit (or failed spawn): nothing, an immediate restart
  // asked for over ctl, or a restart after backoff.
  void after_exit(Daemon& d, bool clean, int code) {
    if (!clean && first_failure_ == 0) first_failure_ = code;
    d.state = State::exited;
    if (shutting_down_) return;
    const auto uptime = Clock::now() - d.started_at;
    if (d.restart_requested) {
      d.restart_requested = false;
      d.backoff.reset();
      start(d);
      return;
    }
    const RestartPolicy policy = d.spec->restart;
    if (policy == RestartPolicy::never || (policy == RestartPolicy::on_failure && clean)) {
      log::info("daemon_not_restarted",
                {{"daemon", d.spec->name},
                 {"restart", policy == RestartPolicy::never ? "never" : "on-failure"}});
      reply_restarted(d);
      return;
    }
    const milliseconds delay = d.backoff.on_death(uptime);
    d.state = State::waiting;
    d.restart_at = Clock::now() + delay;
    const int failures = d.backoff.consecutive_failures();
    log::info("restart_scheduled", {{"daemon", d.spec->name},
                                    {"delay_ms", delay.count()},
                                    {"consecutive_failures", failures}});
    if (failures >= kStormThreshold) {
      log::warn("restart_storm", {{"daemon", d.spec->name},
                                  {"consecutive_failures", failures},
                                  {"delay_ms", delay.count()}});
    }
    reply_restarted(d);  // a ctl restart whose new process failed at once
  }

  void shutdown(int sig) {
    if (shutting_down_) {
      log::info("shutdown_in_progress", {{"signal", signal_name(sig)}});
      return;
    }
    shutting_down_ = true;
    log::info("shutdown", {{"signal", signal_name(sig)}, {"grace_ms", options_.grace.count()}});
    for (auto& d : daemons_) {
      d.restart_requested = false;
      if (d.pid > 0) {
        stop(d);
      } else {
        d.state = State::exited;
      }
      reply_restarted(d);
    }
    update_ready();
  }

  std::vector<std::string> forward_reload() {
    std::vector<std::string> signaled;
    for (auto& d : daemons_) {
      if (!d.spec->reload_signal || d.pid <= 0 || d.state != State::running) continue;
      kill(d.pid, SIGHUP);
      signaled.push_back(d.spec->name);
      log::info("reload_forwarded", {{"daemon", d.spec->name}, {"pid", d.pid}});
    }
    return signaled;
  }

  void reap() {
    int wstatus = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0) {
      Daemon* owner = nullptr;
      for (auto& d : daemons_) {
        if (d.pid == pid) owner = &d;
      }
      if (owner) {
        on_death(*owner, wstatus);
      } else {
        log::info("reaped_orphan", {{"pid", pid}, {"status", describe_status(wstatus)}});
      }
    }
  }

  void update_ready() {
    bool all = !shutting_down_;
    for (const auto& d : daemons_) all = all && d.state == State::running && d.ready;
    if (all == all_ready_) return;
    all_ready_ = all;
    if (all) {
      log::info("all_ready", {{"daemons", options_.daemons}});
      write_ready_file();
    } else {
      if (!shutting_down_) log::warn("not_ready", {{"daemons", not_ready_names()}});
      if (!options_.ready_file.empty()) unlink(options_.ready_file.c_str());
    }
  }

  std::vector<std::string> not_ready_names() const {
    std::vector<std::string> out;
    for (const auto& d : daemons_) {
      if (d.state != State::running || !d.ready) out.push_back(d.spec->name);
    }
    return out;
  }

  void write_ready_file() {
    if (options_.ready_file.empty()) return;
    // temp + rename: a reader never sees a half-written file.
    const std::string tmp = options_.ready_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << "ready\n";
      if (!out) {
        log::error("ready_file_failed", {{"path", tmp}, {"error", std::strerror(errno)}});
        return;
      }
    }
    if (rename(tmp.c_str(), options_.ready_file.c_str()) != 0) {
      log::error("ready_file_failed",
                 {{"path", options_.ready_file}, {"error", std::strerror(errno)}});
    }
  }

  // ---- timers ----

  void run_timers() {
    const auto now = Clock::now();
    for (auto& d : daemons_) {
      if (!d.reload_at || now < *d.reload_at) continue;
      d.reload_at.reset();
      // Not running: it reads the new file when it starts again.
      if (d.pid <= 0 || d.state != State::running) continue;
      kill(d.pid, SIGHUP);
      log::info("reload_on_change",
                {{"daemon", d.spec->name}, {"pid", d.pid}, {"dir", d.spec->reload_on_change}});
    }
    for (auto& c : clients_) {
      if (!c.done && c.waiting_for.empty() && now >= c.request_deadline) c.done = true;
    }
    for (auto& d : daemons_) {
      if (d.state == State::waiting && now >= d.restart_at) start(d);
      if (d.state == State::stopping && !d.kill_sent && now >= d.kill_at) {
        // The whole process group: a daemon's helpers must not outlive it.
        kill(-d.pid, SIGKILL);
        kill(d.pid, SIGKILL);
        d.kill_sent = true;
        log::warn("grace_expired",
                  {{"daemon", d.spec->name}, {"pid", d.pid}, {"grace_ms", options_.grace.count()}});
      }
      if (d.state != State::running || d.ready) continue;
      if (d.check && now >= d.check_deadline) {
        d.check.reset();
        d.next_check_at = now + kCheckInterval;
      }
      if (!d.check && now >= d.next_check_at) {
        d.check.emplace(d.spec->ready);
        d.check_deadline = now + kCheckTimeout;
        if (d.check->outcome() != ReadinessCheck::Outcome::pending) {
          d.check.reset();
          d.next_check_at = now + kCheckInterval;
        }
      }
    }
  }

  int poll_timeout_ms() const {
    std::optional<Clock::time_point> next;
    auto consider = [&](Clock::time_point t) { next = next ? std::min(*next, t) : t; };
    for (const auto& c : clients_) {
      if (!c.done && c.waiting_for.empty()) consider(c.request_deadline);
    }
    for (const auto& d : daemons_) {
      if (d.reload_at) consider(*d.reload_at);
      if (d.state == State::waiting) consider(d.restart_at);
      if (d.state == State::stopping && !d.kill_sent) consider(d.kill_at);
      if (d.state == State::running && !d.ready)
        consider(d.check ? d.check_deadline : d.next_check_at);
    }
    if (!next) return -1;
    const auto wait = *next - Clock::now();
    if (wait <= Clock::duration::zero()) return 0;
    return static_cast<int>(duration_cast<milliseconds>(wait).count()) + 1;
  }

  // ---- I/O ----

  void poll_once() {
    std::vector<pollfd> fds;
    std::vector<std::function<void(short)>> handlers;
    auto watch = [&](int fd, short events, std::function<void(short)> h) {
      fds.push_back({fd, events, 0});
      handlers.push_back(std::move(h));
    };
    watch(signal_fd_.get(), POLLIN, [this](short) { on_signals(); });
    watch(ctl_.get(), POLLIN, [this](short) { accept_clients(); });
    if (inotify_.valid()) watch(inotify_.get(), POLLIN, [this](short) { on_watch_events(); });
    for (auto& c : clients_) {
      if (!c.done && c.waiting_for.empty())
        watch(c.fd.get(), POLLIN, [this, &c](short) { read_client(c); });
    }
    for (auto& p : pipes_) watch(p.fd(), POLLIN, [&p](short) { p.read_some(); });
    for (auto& d : daemons_) {
      if (!d.check) continue;
      const int fd = d.check->fd();
      watch(fd, d.check->events(), [this, &d, fd](short ev) { on_check_event(d, fd, ev); });
    }

    if (poll(fds.data(), fds.size(), poll_timeout_ms()) < 0) {
      if (errno != EINTR) log::error("poll_failed", {{"error", std::strerror(errno)}});
      return;
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents) handlers[i](fds[i].revents);
    }
    pipes_.remove_if([](const OutputPipe& p) { return !p.is_open(); });
    clients_.remove_if([](const CtlConnection& c) { return c.done; });
  }

  void on_signals() {
    signalfd_siginfo info;
    while (read(signal_fd_.get(), &info, sizeof info) == sizeof info) {
      const int sig = static_cast<int>(info.ssi_signo);
      if (sig == SIGCHLD) reap();
      if (sig == SIGHUP) forward_reload();
      if (sig == SIGTERM || sig == SIGINT) shutdown(sig);
      if (sig == SIGUSR1 || sig == SIGUSR2) {
        log::warn("signal_ignored", {{"signal", signal_name(sig)},
                                     {"hint", "use `bottle-init ctl restart <daemon>`"}});
      }
    }
  }

  void on_check_event(Daemon& d, int fd, short revents) {
    if (!d.check || d.check->fd() != fd) return;  // the daemon died meanwhile
    switch (d.check->on_event(revents)) {
      case ReadinessCheck::Outcome::pending:
        return;
      case ReadinessCheck::Outcome::failed:
        d.check.reset();
        d.next_check_at = Clock::now() + kCheckInterval;
        return;
      case ReadinessCheck::Outcome::ready:
        d.check.reset();
        d.ready = true;
        log::info("daemon_ready", {{"daemon", d.spec->name}, {"pid", d.pid}});
        update_ready();
        return;
    }
  }

  // ---- control socket ----

  void accept_clients() {
    int fd;
    while ((fd = accept4(ctl_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
      UniqueFd conn(fd);
      if (clients_.size() >= kMaxCtlConnections) continue;  // closed: init stays responsive
      clients_.push_back({std::move(conn), {}, {}, false, Clock::now() + kCtlRequestTimeout});
    }
  }

  void read_client(CtlConnection& c) {
    if (auto line = read_ctl_request(c)) handle_request(c, *line);
  }

  void handle_request(CtlConnection& c, const std::string& line) {
    const auto req = parse_ctl_request(line);
    if (!req) return reply(c, {{"ok", false}, {"error", req.error()}});
    if (req->cmd == CtlRequest::Cmd::status) return reply(c, status());
    if (req->cmd == CtlRequest::Cmd::reload) {
      return reply(c, {{"ok", true}, {"signaled", forward_reload()}});
    }
    const std::string& name = req->daemon;
    Daemon* d = nullptr;
    for (auto& x : daemons_) {
      if (x.spec->name == name) d = &x;
    }
    if (!d) {
      return reply(
          c, {{"ok", false},
              {"error", "daemon '" + name + "' is not running under this init (BOTTLE_DAEMONS: " +
                            (options_.daemons.empty() ? "none" : join(options_.daemons, ",")) + ")"}});
    }
    if (shutting_down_) return reply(c, {{"ok", false}, {"error", "shutting down"}});
    log::info("restart_requested", {{"daemon", name}});
    c.waiting_for = name;
    if (d->state == State::running || d->state == State::stopping) {
      d->restart_requested = true;
      if (d->state == State::running) stop(*d);
    } else {
      d->backoff.reset();
      start(*d);
    }
  }

  // Answers every client waiting on `d`'s restart once it is running (or cannot be).
  void reply_restarted(Daemon& d) {
    for (auto& c : clients_) {
      if (c.done || c.waiting_for != d.spec->name) continue;
      if (d.state == State::running) {
        reply(c,
              {{"ok", true}, {"daemon", d.spec->name}, {"pid", d.pid}, {"restarts", d.restarts}});
      } else {
        reply(c, {{"ok", false},
                  {"error", "daemon '" + d.spec->name + "' did not restart: " +
                                (shutting_down_ ? "shutting down" : d.last_exit)}});
      }
    }
  }

  json status() const {
    json daemons = json::object();
    for (const auto& d : daemons_) {
      daemons[d.spec->name] = {{"pid", d.pid > 0 ? json(d.pid) : json()},
                               {"state", state_name(d.state)},
                               {"restarts", d.restarts},
                               {"ready", d.ready},
                               {"last_exit", d.last_exit.empty() ? json() : json(d.last_exit)}};
    }
    return {{"ok", true},
            {"ready", all_ready_},
            {"shutting_down", shutting_down_},
            {"daemons", daemons}};
  }

  static void reply(CtlConnection& c, const json& body) { send_ctl_reply(c, body); }


  SupervisorOptions options_;
  std::vector<std::string> parent_env_;
  std::vector<Daemon> daemons_;  // never resized after construction: handlers hold pointers
  std::list<OutputPipe> pipes_;
  std::list<CtlConnection> clients_;
  UniqueFd signal_fd_, ctl_, inotify_;
  bool shutting_down_ = false;
  bool all_ready_ = false;
  int first_failure_ = 0;
};

}  // namespace

int run_supervisor(const SupervisorOptions& options) {
  return Supervisor(options).run();
}

}  // namespace bottle::init
