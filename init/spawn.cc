#include "init/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bottle::init {
namespace {

struct Pipe {
  UniqueFd read, write;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Error{std::string("pipe: ") + std::strerror(errno)};
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Async-signal-safe decimal formatting for LISTEN_PID in the child.
void write_decimal(char* out, long v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0);
  while (n > 0) *out++ = tmp[--n];
  *out = '\0';
}

// Runs in the forked child: only async-signal-safe calls, then exec or report errno.
[[noreturn]] void exec_child(const char* path, char* const argv[], char* const envp[],
                             char* listen_pid_slot, int devnull, int out, int err,
                             const std::vector<int>& inherit, int error_pipe) {
  setsid();
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);

  int status_ok = dup2(devnull, 0) >= 0 && dup2(out, 1) >= 0 && dup2(err, 2) >= 0;
  // Two steps so a source fd that equals some target (e.g. inherit [4, 3]) is not
  // clobbered: copy all sources above every target first, then dup2 into 3, 4, ...
  const int n = static_cast<int>(inherit.size());
  int high[64];
  for (int i = 0; i < n && status_ok; ++i) {
    high[i] = fcntl(inherit[i], F_DUPFD_CLOEXEC, 3 + n);
    status_ok = high[i] >= 0;
  }
  for (int i = 0; i < n && status_ok; ++i) status_ok = dup2(high[i], 3 + i) >= 0;
  if (status_ok && listen_pid_slot) write_decimal(listen_pid_slot, getpid());
  if (status_ok) execve(path, argv, envp);
  const int e = errno;
  (void)!write(error_pipe, &e, sizeof e);
  _exit(127);
}

}  // namespace

Result<SpawnedDaemon> spawn_daemon(const DaemonSpec& spec, std::vector<std::string> env) {
  if (spec.inherit_fds.size() > 64) return Error{"inherit_fds: more than 64 fds"};
  auto out = make_pipe();
  if (!out) return Error{out.error()};
  auto err = make_pipe();
  if (!err) return Error{err.error()};
  auto exec_status = make_pipe();
  if (!exec_status) return Error{exec_status.error()};
  UniqueFd devnull(open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull.valid()) return Error{std::string("/dev/null: ") + std::strerror(errno)};

  // LISTEN_PID is only known in the child; reserve a slot it fills in before exec.
  std::string listen_pid;
  if (!spec.inherit_fds.empty()) {
    env.push_back("LISTEN_FDS=" + std::to_string(spec.inherit_fds.size()));
    listen_pid = "LISTEN_PID=" + std::string(20, '0');
  }
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  char* listen_pid_slot = nullptr;
  if (!listen_pid.empty()) {
    envp.push_back(listen_pid.data());
    listen_pid_slot = listen_pid.data() + std::strlen("LISTEN_PID=");
  }
  envp.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) return Error{std::string("fork: ") + std::strerror(errno)};
  if (pid == 0) {
    exec_child(argv[0], argv.data(), envp.data(), listen_pid_slot, devnull.get(), out->write.get(),
               err->write.get(), spec.inherit_fds, exec_status->write.get());
  }

  // The write end closes on successful exec (CLOEXEC): EOF means the daemon is running.
  exec_status->write.reset();
  int child_errno = 0;
  ssize_t got;
  do {
    got = read(exec_status->read.get(), &child_errno, sizeof child_errno);
  } while (got < 0 && errno == EINTR);
  if (got == sizeof child_errno) {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return Error{"exec " + spec.argv[0] + ": " + std::strerror(child_errno)};
  }

  fcntl(out->read.get(), F_SETFL, O_NONBLOCK);
  fcntl(err->read.get(), F_SETFL, O_NONBLOCK);
  return SpawnedDaemon{pid, std::move(out->read), std::move(err->read)};
}

}  // namespace bottle::init
