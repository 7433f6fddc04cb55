#include "orchestrator/crash_guard.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bottle::orchestrator {

namespace {

constexpr char kDisarm = 'd';
constexpr int kLifelineFd = 3;

[[noreturn]] void run_guard(int lifeline, const std::function<void()>& teardown,
                            const std::string& log_file) {
  ::setsid();
  ::prctl(PR_SET_NAME, "bottle-guard");
  // Signals meant for the terminal or for `bottle` are not for the guard.
  for (int sig : {SIGINT, SIGQUIT, SIGHUP, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU})
    ::signal(sig, SIG_IGN);
  ::signal(SIGTERM, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Nothing inherited stays open: not the operator's terminal, not a pipe a reader waits
  // on for EOF, not the parent's copy of the lifeline.
  lifeline = ::fcntl(lifeline, F_DUPFD_CLOEXEC, 10);  // out of the way of the opens below
  int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int out = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (out < 0) out = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (lifeline < 0 || in < 0 || out < 0) ::_exit(1);
  ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(out, 2);
  ::dup3(lifeline, kLifelineFd, O_CLOEXEC);
  ::close_range(kLifelineFd + 1, ~0U, 0);
  char c = 0;
  ssize_t n;
  do {
    n = ::read(kLifelineFd, &c, 1);
  } while (n < 0 && errno == EINTR);
  if (n == 1 && c == kDisarm) ::_exit(0);
  teardown();
  ::_exit(0);
}

}  // namespace

Result<CrashGuard> CrashGuard::start(std::function<void()> teardown, const std::string& log_file) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error{std::string("pipe: ") + std::strerror(errno)};
  UniqueFd read_end(p[0]), write_end(p[1]);
  pid_t pid = ::fork();
  if (pid < 0) return Error{std::string("fork: ") + std::strerror(errno)};
  if (pid == 0) run_guard(read_end.get(), teardown, log_file);
  CrashGuard g;
  g.lifeline_ = std::move(write_end);
  g.pid_ = pid;
  return g;
}

CrashGuard& CrashGuard::operator=(CrashGuard&& o) noexcept {
  if (this != &o) {
    disarm();
    lifeline_ = std::move(o.lifeline_);
    pid_ = std::exchange(o.pid_, -1);
  }
  return *this;
}

void CrashGuard::disarm() {
  if (pid_ <= 0) return;
  const char c = kDisarm;
  (void)!::write(lifeline_.get(), &c, 1);
  lifeline_.reset();
  int status;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

}  // namespace bottle::orchestrator
