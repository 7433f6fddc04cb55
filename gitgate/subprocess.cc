#include "gitgate/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace bottle::gitgate {
namespace {

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

Result<UniqueFd> memory_file(std::string_view contents) {
  UniqueFd fd(memfd_create("gitgate", MFD_CLOEXEC));
  if (!fd.valid()) return Error{errno_text("memfd_create")};
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd.get(), contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{errno_text("memfd write")};
    done += static_cast<size_t>(n);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) < 0) return Error{errno_text("lseek")};
  return fd;
}

// pread, not read: the child may still be writing through the same open file, whose
// offset must keep pointing at its end.
std::string read_all(int fd, size_t limit) {
  std::string out;
  if (fd < 0) return out;
  char buf[65536];
  while (out.size() < limit) {
    ssize_t n =
        ::pread(fd, buf, std::min(sizeof buf, limit - out.size()), static_cast<off_t>(out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

Result<Subprocess> Subprocess::start(const SpawnSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/') {
    return Error{"spawn: argv[0] must be an absolute path"};
  }
  Subprocess p;
  UniqueFd in;
  if (!spec.input.empty()) {
    auto f = memory_file(spec.input);
    if (!f) return Error{f.error()};
    in = std::move(*f);
  } else {
    in.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!in.valid()) return Error{errno_text("/dev/null")};
  }
  UniqueFd child_out, child_err;
  for (auto [live, captured, child_end] :
       {std::tuple{SpawnSpec::Live::stdout_pipe, &p.out_, &child_out},
        std::tuple{SpawnSpec::Live::stderr_pipe, &p.err_, &child_err}}) {
    if (spec.live == live) {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) return Error{errno_text("pipe")};
      p.live_.reset(fds[0]);
      child_end->reset(fds[1]);
    } else {
      auto f = memory_file("");
      if (!f) return Error{f.error()};
      // The parent keeps its own descriptor of the same memory file to read it back.
      captured->reset(::fcntl(f->get(), F_DUPFD_CLOEXEC, 0));
      if (!captured->valid()) return Error{errno_text("dup")};
      *child_end = std::move(*f);
    }
  }

  // Passed fds are first moved above any target slot, so dup2 into 3, 4, ... cannot clobber
  // a source that sits in one of those slots.
  std::vector<UniqueFd> passed;
  for (int fd : spec.pass_fds) {
    passed.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, 3 + static_cast<int>(spec.pass_fds.size())));
    if (!passed.back().valid()) return Error{errno_text("dup")};
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, child_out.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, child_err.get(), 2);
  for (size_t i = 0; i < passed.size(); ++i) {
    posix_spawn_file_actions_adddup2(&actions, passed[i].get(), 3 + static_cast<int>(i));
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);  // the daemon ignores SIGPIPE; git should not inherit that
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);  // own group: a timeout kills git and its ssh
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int rc = posix_spawn(&p.pid_, spec.argv[0].c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    p.pid_ = -1;
    return Error{"spawn " + spec.argv[0] + ": " + std::strerror(rc)};
  }
  return p;
}

Subprocess::Subprocess(Subprocess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      live_(std::move(o.live_)),
      out_(std::move(o.out_)),
      err_(std::move(o.err_)),
      timed_out_(o.timed_out_) {}

Subprocess::~Subprocess() {
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    int st;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
}

void Subprocess::signal(int sig) const {
  if (pid_ > 0) ::kill(pid_, sig);
}

int Subprocess::wait(uint64_t timeout_ms) {
  if (pid_ <= 0) return 1;
  int status = 0;
  if (timeout_ms > 0) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
    while (true) {
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        timed_out_ = true;
        ::kill(-pid_, SIGKILL);
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        break;
      }
      if (pidfd.valid()) {
        pollfd pfd{pidfd.get(), POLLIN, 0};
        ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(left.count(), 10)));
      }
    }
  } else {
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
  return decode_status(status);
}

std::string Subprocess::captured_stdout(size_t limit) const {
  return read_all(out_.get(), limit);
}
std::string Subprocess::captured_stderr(size_t limit) const {
  return read_all(err_.get(), limit);
}

Result<CommandResult> run_command(const SpawnSpec& spec, uint64_t timeout_ms) {
  SpawnSpec s = spec;
  s.live = SpawnSpec::Live::none;
  auto p = Subprocess::start(s);
  if (!p) return Error{p.error()};
  CommandResult r;
  r.status = p->wait(timeout_ms);
  r.timed_out = p->timed_out();
  r.out = p->captured_stdout();
  r.err = p->captured_stderr();
  return r;
}

bool read_line(int fd, std::string& buffer, std::string& line, size_t max) {
  while (true) {
    size_t nl = buffer.find('\n');
    if (nl != std::string::npos) {
      line.assign(buffer, 0, std::min(nl, max));
      buffer.erase(0, nl + 1);
      return true;
    }
    char chunk[4096];
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (buffer.empty()) return false;
      line.assign(buffer, 0, std::min(buffer.size(), max));
      buffer.clear();
      return true;
    }
    buffer.append(chunk, static_cast<size_t>(n));
    if (buffer.size() > max && buffer.find('\n') == std::string::npos) {
      // Keep the head of an over-long line, drop the rest of it as it arrives.
      line.assign(buffer, 0, max);
      buffer.clear();
      while (true) {
        n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return true;
        std::string_view c(chunk, static_cast<size_t>(n));
        if (size_t p = c.find('\n'); p != std::string_view::npos) {
          buffer.assign(c.substr(p + 1));
          return true;
        }
      }
    }
  }
}

std::string tail_lines(std::string_view text, size_t lines) {
  std::vector<std::string_view> kept;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view l = text.substr(0, nl);
    while (!l.empty() && (l.back() == '\r' || l.back() == ' ')) l.remove_suffix(1);
    if (!l.empty()) kept.push_back(l);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  std::string out;
  for (size_t i = kept.size() > lines ? kept.size() - lines : 0; i < kept.size(); ++i) {
    out += (out.empty() ? "" : "\n") + std::string(kept[i]);
  }
  return out;
}

}  // namespace bottle::gitgate
