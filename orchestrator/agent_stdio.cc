#include "orchestrator/agent_stdio.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>

#include "common/encoded_run.h"
#include "orchestrator/terminal.h"

namespace bottle::orchestrator {

namespace {

constexpr size_t kChunk = 16384;

// False when the reader is gone (EPIPE) or the fd is broken.
bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      pollfd pfd{fd, POLLOUT, 0};
      ::poll(&pfd, 1, -1);
      continue;
    }
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Moves as much of `pending` into `fd` as it takes now; false when the reader is gone.
bool flush_pending(int fd, std::string& pending) {
  while (!pending.empty()) {
    ssize_t w = ::write(fd, pending.data(), pending.size());
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) return true;
    if (w <= 0) return false;
    pending.erase(0, static_cast<size_t>(w));
  }
  return true;
}

// Appends what bottle's stdin has to `to_agent`; false once it is closed (or broken).
bool read_stdin(std::string& to_agent) {
  char buf[kChunk];
  ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
  if (n > 0) to_agent.append(buf, static_cast<size_t>(n));
  return n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN));
}

// Window size of the operator's terminal, from whichever of 0, 1, 2 is one.
bool operator_winsize(winsize& ws) {
  for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
    if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) return true;
  }
  return false;
}

// The operator's terminal in raw mode for as long as this object lives: destruction
// (any return, any exception) restores it.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) {
    if (::tcgetattr(fd, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    if (::tcsetattr(fd, TCSADRAIN, &raw) == 0) fd_ = fd;
  }
  ~RawTerminal() {
    if (fd_ < 0) return;
    // The terminal's late answers to what the agent asked it (title or colour reports)
    // must not become input to the operator's shell.
    ::tcflush(fd_, TCIFLUSH);
    ::tcsetattr(fd_, TCSADRAIN, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_ = -1;
  termios saved_{};
};

// SIGWINCH read from a signalfd for as long as this object lives.
class WindowChanges {
 public:
  WindowChanges() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGWINCH);
    if (::sigprocmask(SIG_BLOCK, &set, &old_) != 0) return;
    blocked_ = true;
    fd_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  }
  ~WindowChanges() {
    if (blocked_) ::sigprocmask(SIG_SETMASK, &old_, nullptr);
  }
  WindowChanges(const WindowChanges&) = delete;
  WindowChanges& operator=(const WindowChanges&) = delete;
  int fd() const { return fd_.get(); }
  void drain() {
    signalfd_siginfo info;
    while (::read(fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    }
  }

 private:
  UniqueFd fd_;
  sigset_t old_{};
  bool blocked_ = false;
};

Result<UniqueFd> open_pty_pair(UniqueFd& master) {
  master.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return Error{std::string("posix_openpt: ") + std::strerror(errno)};
  char name[128];
  if (::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0 ||
      ::ptsname_r(master.get(), name, sizeof name) != 0)
    return Error{std::string("pty: ") + std::strerror(errno)};
  UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return Error{std::string(name) + ": " + std::strerror(errno)};
  return slave;
}

}  // namespace

Result<AgentStdio> AgentStdio::open(bool interactive, uid_t uid, gid_t gid) {
  AgentStdio io;
  if (interactive) {
    auto slave = open_pty_pair(io.master_);
    if (!slave) return Error{slave.error()};
    io.slave_ = std::move(*slave);
    if (::fchown(io.slave_.get(), uid, gid) != 0 || ::fchmod(io.slave_.get(), 0600) != 0)
      return Error{std::string("pty: chown: ") + std::strerror(errno)};
    // The agent's terminal starts as the operator's: same modes, same size.
    termios t;
    if (::tcgetattr(STDIN_FILENO, &t) == 0) ::tcsetattr(io.slave_.get(), TCSANOW, &t);
    winsize ws;
    if (operator_winsize(ws)) ::ioctl(io.master_.get(), TIOCSWINSZ, &ws);
    return io;
  }
  auto make_pipe = [&](UniqueFd& r, UniqueFd& w) -> Status {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return Error{std::string("pipe: ") + std::strerror(errno)};
    r.reset(p[0]);
    w.reset(p[1]);
    if (::fchown(p[0], uid, gid) != 0)
      return Error{std::string("pipe: chown: ") + std::strerror(errno)};
    return OkStatus();
  };
  if (::isatty(STDIN_FILENO)) {
    io.in_r_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  } else if (auto st = make_pipe(io.in_r_, io.in_w_); !st) {
    return Error{st.error()};
  }
  if (auto st = make_pipe(io.out_r_, io.out_w_); !st) return Error{st.error()};
  if (auto st = make_pipe(io.err_r_, io.err_w_); !st) return Error{st.error()};
  return io;
}

std::array<int, 3> AgentStdio::child_fds() const {
  if (terminal()) return {slave_.get(), slave_.get(), slave_.get()};
  return {in_r_.get(), out_w_.get(), err_w_.get()};
}

void AgentStdio::child_started() {
  slave_.reset();
  in_r_.reset();
  out_w_.reset();
  err_w_.reset();
}

void AgentStdio::relay(const StdioWatch& watch) {
  if (terminal()) {
    relay_terminal(watch);
  } else {
    relay_pipes(watch);
  }
  flush_log(true);
}

void AgentStdio::log_output(std::string_view bytes) {
  if (!log_) return;
  log_line_.append(bytes);
  flush_log(false);
}

// Whole lines only (a token is never cut in two, each half too short to mask), or a long
// line cut after its last character that cannot be part of a run; `all` at the end.
void AgentStdio::flush_log(bool all) {
  constexpr size_t kMaxLine = 4096;
  size_t cut = all ? log_line_.size() : log_line_.rfind('\n');
  cut = cut == std::string::npos ? 0 : (all ? cut : cut + 1);
  if (cut == 0 && log_line_.size() > kMaxLine) {
    size_t i = log_line_.size();
    while (i > 0 && std::isalnum(static_cast<unsigned char>(log_line_[i - 1]))) --i;
    cut = i > 0 ? i : log_line_.size();
  }
  if (cut == 0 || !log_) return;
  const std::string masked = log::mask_encoded_runs(std::string_view(log_line_).substr(0, cut));
  if (!write_all(log_.get(), masked.data(), masked.size())) log_.reset();  // disk full: stop
  log_line_.erase(0, cut);
}

void AgentStdio::relay_terminal(const StdioWatch& watch) {
  WindowChanges winch;
  RawTerminal raw(STDIN_FILENO);
  set_nonblocking(master_.get());
  if (resize_) set_nonblocking(resize_.get());
  auto copy_size = [&] {
    winsize ws;
    if (!operator_winsize(ws)) return;
    ::ioctl(master_.get(), TIOCSWINSZ, &ws);
    if (!resize_) return;
    // A few bytes on an empty socket; should the guest not read them, sizes are dropped.
    const std::string line = std::to_string(ws.ws_row) + " " + std::to_string(ws.ws_col) + "\n";
    if (::send(resize_.get(), line.data(), line.size(), MSG_NOSIGNAL) < 0 && errno != EAGAIN)
      resize_.reset();
  };
  copy_size();  // in case it changed between open() and now
  bool stdin_open = true, stdout_ok = true;
  std::string to_agent;
  TerminalOutputFilter to_terminal(operator_terminal_utf8());
  char buf[kChunk];
  for (;;) {
    pollfd fds[4] = {
        {stdin_open && to_agent.empty() ? STDIN_FILENO : -1, POLLIN, 0},
        {master_.get(), static_cast<short>(POLLIN | (to_agent.empty() ? 0 : POLLOUT)), 0},
        {winch.fd(), POLLIN, 0},
        {watch.fd, POLLIN, 0}};
    if (::poll(fds, 4, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[3].revents & POLLIN) watch.on_readable();
    if (fds[2].revents & POLLIN) {
      winch.drain();
      copy_size();
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) && !read_stdin(to_agent)) {
      // Like a terminal's Ctrl-D: the agent reads end of file (in canonical mode).
      stdin_open = false;
      termios t;
      if (::tcgetattr(master_.get(), &t) == 0) to_agent.push_back(static_cast<char>(t.c_cc[VEOF]));
    }
    if (!to_agent.empty() && !flush_pending(master_.get(), to_agent)) to_agent.clear();
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(master_.get(), buf, sizeof buf);
      if (n > 0) {
        log_output({buf, static_cast<size_t>(n)});
        // A gone terminal does not stop the agent; its output is dropped.
        if (stdout_ok) {
          const std::string shown = to_terminal.filter({buf, static_cast<size_t>(n)});
          stdout_ok = write_all(STDOUT_FILENO, shown.data(), shown.size());
        }
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        return;  // EIO: every holder of the slave has closed it
      }
    }
  }
}

void AgentStdio::relay_pipes(const StdioWatch& watch) {
  if (in_w_) set_nonblocking(in_w_.get());
  bool stdin_open = static_cast<bool>(in_w_);
  std::string to_agent;
  // Output that goes to a terminal is filtered as in terminal mode; files and pipes get
  // the agent's bytes unchanged.
  std::optional<TerminalOutputFilter> out_filter, err_filter;
  if (::isatty(STDOUT_FILENO)) out_filter.emplace(operator_terminal_utf8());
  if (::isatty(STDERR_FILENO)) err_filter.emplace(operator_terminal_utf8());
  char buf[kChunk];
  while (out_r_ || err_r_) {
    pollfd fds[5] = {{stdin_open && to_agent.empty() ? STDIN_FILENO : -1, POLLIN, 0},
                     {!to_agent.empty() && in_w_ ? in_w_.get() : -1, POLLOUT, 0},
                     {out_r_ ? out_r_.get() : -1, POLLIN, 0},
                     {err_r_ ? err_r_.get() : -1, POLLIN, 0},
                     {watch.fd, POLLIN, 0}};
    if (::poll(fds, 5, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[4].revents & POLLIN) watch.on_readable();
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) && !read_stdin(to_agent))
      stdin_open = false;
    if (in_w_ && !flush_pending(in_w_.get(), to_agent)) {
      in_w_.reset();  // the agent closed its stdin
      stdin_open = false;
      to_agent.clear();
    }
    if (!stdin_open && to_agent.empty()) in_w_.reset();  // the agent reads EOF
    struct {
      UniqueFd& from;
      int to;
      short revents;
      std::optional<TerminalOutputFilter>& filter;
    } outputs[] = {{out_r_, STDOUT_FILENO, fds[2].revents, out_filter},
                   {err_r_, STDERR_FILENO, fds[3].revents, err_filter}};
    for (auto& o : outputs) {
      if (!o.from || !(o.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(o.from.get(), buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      std::string_view chunk(buf, n > 0 ? static_cast<size_t>(n) : 0);
      log_output(chunk);
      std::string shown;
      if (o.filter) chunk = shown = o.filter->filter(chunk);
      // EOF, or a reader of ours that went away: close the agent's side as well, so it
      // meets the closed pipe itself.
      if (n <= 0 || !write_all(o.to, chunk.data(), chunk.size())) o.from.reset();
    }
  }
}

}  // namespace bottle::orchestrator
