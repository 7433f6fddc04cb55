#include "orchestrator/process.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>
#include <thread>

namespace bottle::orchestrator {

namespace {

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// Only async-signal-safe calls between fork and exec.
[[noreturn]] void child_fail(int err_fd, const char* what) {
  int e = errno;
  (void)!::write(err_fd, what, std::strlen(what) + 1);  // with its NUL: errno follows
  (void)!::write(err_fd, &e, sizeof e);
  ::_exit(127);
}

}  // namespace

ChildProcess::~ChildProcess() {
  if (pid_ > 0) terminate(std::chrono::milliseconds(2000));
}

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0) terminate(std::chrono::milliseconds(2000));
    pid_ = std::exchange(o.pid_, -1);
  }
  return *this;
}

std::optional<int> ChildProcess::poll() {
  if (pid_ <= 0) return 0;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) return std::nullopt;
  pid_ = -1;
  return r < 0 ? 1 : decode_status(status);
}

int ChildProcess::wait() {
  if (pid_ <= 0) return 0;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  pid_ = -1;
  return r < 0 ? 1 : decode_status(status);
}

int ChildProcess::terminate(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return 0;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto code = poll()) return *code;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  return wait();
}

Result<ChildProcess> spawn(const SpawnOptions& o) {
  if (o.argv.empty()) return Error{"spawn: empty argv"};
  std::vector<char*> argv;
  for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (o.env) {
    for (const auto& e : *o.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  // The exec-error pipe is close-on-exec: EOF means exec succeeded.
  int errpipe[2];
  if (::pipe2(errpipe, O_CLOEXEC) != 0) return Error{std::string("pipe: ") + std::strerror(errno)};
  UniqueFd err_r(errpipe[0]), err_w(errpipe[1]);

  // Everything the child needs is built before fork: after it, only system calls.
  std::vector<std::string> stage_targets;
  std::vector<char> fd_path(64);
  for (const auto& s : o.staged) stage_targets.push_back(o.stage_dir + "/" + s.name);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Error{std::string("fork: ") + std::strerror(errno)};
  if (pid == 0) {
    // Keep the error pipe clear of the fd range the passed fds will occupy.
    const int ew = ::fcntl(err_w.get(), F_DUPFD_CLOEXEC, 200);
    if (o.parent_death_signal != 0) {
      ::prctl(PR_SET_PDEATHSIG, o.parent_death_signal);
      // The parent may have died before the prctl: then nobody is left to signal us.
      if (::getppid() != parent) ::_exit(127);
    }
    if (o.new_session) ::setsid();
    // Ignored signals survive exec: `bottle start` ignores SIGINT, its agent must not.
    for (int sig : {SIGPIPE, SIGINT, SIGQUIT, SIGHUP, SIGTERM}) ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (o.netns_fd >= 0 && ::setns(o.netns_fd, CLONE_NEWNET) != 0) child_fail(ew, "setns");
    if (!o.staged.empty()) {
      if (::unshare(CLONE_NEWNS) != 0) child_fail(ew, "unshare mount namespace");
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        child_fail(ew, "make mounts private");
      // Opened in the new namespace (a bind source must be in it), before the tmpfs can
      // hide a source that lies below stage_dir.
      int sources[16];
      const size_t count = std::min<size_t>(o.staged.size(), 16);
      for (size_t i = 0; i < count; ++i) {
        sources[i] = ::open(o.staged[i].path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (sources[i] < 0) child_fail(ew, "open staged directory");
      }
      if (::mount("tmpfs", o.stage_dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "mode=0755") != 0)
        child_fail(ew, "mount stage tmpfs");
      for (size_t i = 0; i < count; ++i) {
        std::snprintf(fd_path.data(), fd_path.size(), "/proc/self/fd/%d", sources[i]);
        if (::mkdir(stage_targets[i].c_str(), 0755) != 0 ||
            ::mount(fd_path.data(), stage_targets[i].c_str(), nullptr, MS_BIND | MS_REC, nullptr) !=
                0)
          child_fail(ew, "stage bind mount");
        if (o.staged[i].read_only &&
            ::mount(nullptr, stage_targets[i].c_str(), nullptr,
                    MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
          child_fail(ew, "stage read-only remount");
        ::close(sources[i]);
      }
    }
    for (int i = 0; i < 3; ++i) {
      if (o.stdio[i] >= 0 && ::dup2(o.stdio[i], i) < 0) child_fail(ew, "dup2 stdio");
    }
    if (o.controlling_terminal && ::ioctl(0, TIOCSCTTY, 0) != 0)
      child_fail(ew, "set controlling terminal");
    if (o.stdin_null) {
      int n = ::open("/dev/null", O_RDONLY);
      if (n < 0 || ::dup2(n, 0) < 0) child_fail(ew, "open /dev/null");
    }
    if (!o.stdout_file.empty()) {
      int f = ::open(o.stdout_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (f < 0 || ::dup2(f, 1) < 0) child_fail(ew, "open stdout file");
    }
    if (!o.stderr_file.empty()) {
      if (o.stderr_file == o.stdout_file) {
        if (::dup2(1, 2) < 0) child_fail(ew, "dup2 stderr");
      } else {
        int f = ::open(o.stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (f < 0 || ::dup2(f, 2) < 0) child_fail(ew, "open stderr file");
      }
    }
    // Move passed fds above the target range first so dup2 never clobbers a source.
    int moved[16];
    const size_t count = std::min<size_t>(o.pass_fds.size(), 16);
    for (size_t i = 0; i < count; ++i) {
      moved[i] = ::fcntl(o.pass_fds[i], F_DUPFD_CLOEXEC, 100);
      if (moved[i] < 0) child_fail(ew, "dup passed fd");
    }
    for (size_t i = 0; i < count; ++i) {
      if (::dup2(moved[i], 3 + static_cast<int>(i)) < 0) child_fail(ew, "dup2 passed fd");
    }
    if (o.run_as) {
      const auto [uid, gid] = *o.run_as;
      if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 ||
          ::setresuid(uid, uid, uid) != 0)
        child_fail(ew, "drop privileges");
    }
    if (o.drop_capabilities) {
      // Past the last capability the kernel knows, PR_CAPBSET_DROP fails with EINVAL.
      for (int cap = 0; ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0; ++cap) {
      }
      __user_cap_header_struct head{_LINUX_CAPABILITY_VERSION_3, 0};
      __user_cap_data_struct data[2] = {};
      if (::syscall(SYS_capget, &head, data) != 0) child_fail(ew, "capget");
      data[0].inheritable = data[1].inheritable = 0;
      if (::syscall(SYS_capset, &head, data) != 0 ||
          ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 ||
          ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        child_fail(ew, "drop capabilities");
    }
    if (o.env) {
      ::execve(argv[0], argv.data(), envp.data());
      if (errno == ENOENT && std::strchr(argv[0], '/') == nullptr) {
        ::execvpe(argv[0], argv.data(), envp.data());
      }
    } else {
      ::execvp(argv[0], argv.data());
    }
    child_fail(ew, "exec");
  }
  err_w.reset();
  char buf[64] = {};
  ssize_t n;
  do {
    n = ::read(err_r.get(), buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    int e = 0;
    size_t len = ::strnlen(buf, sizeof buf - sizeof e);
    if (static_cast<size_t>(n) >= len + 1 + sizeof e) std::memcpy(&e, buf + len + 1, sizeof e);
    int status;
    ::waitpid(pid, &status, 0);
    return Error{o.argv[0] + ": " + std::string(buf, len) + ": " + std::strerror(e)};
  }
  return ChildProcess(pid);
}

Result<UniqueFd> memfd_with(const std::string& name, std::string_view data) {
  UniqueFd fd(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return Error{"memfd " + name + ": " + std::strerror(errno)};
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error{"memfd " + name + ": " + std::strerror(errno)};
    off += static_cast<size_t>(n);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0 ||
      ::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
    return Error{"memfd " + name + ": " + std::strerror(errno)};
  return fd;
}

std::vector<std::string> environ_with(const std::vector<std::string>& add) {
  auto name_of = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
  std::vector<std::string> out;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    bool replaced = false;
    for (const auto& a : add) replaced = replaced || name_of(a) == name_of(kv);
    if (!replaced) out.push_back(kv);
  }
  out.insert(out.end(), add.begin(), add.end());
  return out;
}

Result<CaptureResult> run_capture(const std::vector<std::string>& argv,
                                  const std::string& stdin_data,
                                  const std::vector<std::string>& add_env,
                                  std::chrono::milliseconds timeout) {
  // The child's environment is built before fork: nothing but async-signal-safe calls
  // between fork and exec.
  std::vector<std::string> env_storage;
  std::vector<char*> envp;
  if (!add_env.empty()) {
    env_storage = environ_with(add_env);
    for (auto& kv : env_storage) envp.push_back(kv.data());
    envp.push_back(nullptr);
  }
  const bool bounded = timeout.count() > 0;
  int out_p[2], err_p[2], in_p[2];
  if (::pipe2(out_p, O_CLOEXEC) || ::pipe2(err_p, O_CLOEXEC) || ::pipe2(in_p, O_CLOEXEC)) {
    return Error{std::string("pipe: ") + std::strerror(errno)};
  }
  UniqueFd out_r(out_p[0]), out_w(out_p[1]), err_r(err_p[0]), err_w(err_p[1]), in_r(in_p[0]),
      in_w(in_p[1]);
  pid_t pid = ::fork();
  if (pid < 0) return Error{std::string("fork: ") + std::strerror(errno)};
  if (pid == 0) {
    if (bounded) ::setpgid(0, 0);  // its helpers die with it on timeout
    ::dup2(in_r.get(), 0);
    ::dup2(out_w.get(), 1);
    ::dup2(err_w.get(), 2);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    if (envp.empty()) {
      ::execvp(a[0], a.data());
    } else {
      ::execvpe(a[0], a.data(), envp.data());
    }
    std::string msg = argv[0] + ": " + std::strerror(errno) + "\n";
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(127);
  }
  ChildProcess child(pid);
  in_r.reset();
  out_w.reset();
  err_w.reset();
  // stdin is written as the child reads it, in the same loop: a child that never reads
  // (a hung CLI) cannot block us past the timeout.
  size_t written = 0;
  if (stdin_data.empty()) {
    in_w.reset();
  } else {
    ::fcntl(in_w.get(), F_SETFL, ::fcntl(in_w.get(), F_GETFL) | O_NONBLOCK);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  CaptureResult r;
  struct pollfd fds[3] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0},
                          {in_w.valid() ? in_w.get() : -1, POLLOUT, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_count = 2;
  while (open_count > 0) {
    int wait_ms = -1;
    if (bounded) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        child.wait();
        return Error{"timed out after " + seconds_text(timeout)};
      }
      wait_ms = static_cast<int>(left.count()) + 1;
    }
    if (::poll(fds, 3, wait_ms) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t n = ::write(in_w.get(), stdin_data.data() + written, stdin_data.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_data.size()) {
        fds[2].fd = -1;
        in_w.reset();
      }
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        fds[i].fd = -1;
        --open_count;
      } else if (sinks[i]->size() < (1u << 20)) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      }
    }
  }
  in_w.reset();
  r.exit_code = child.wait();
  return r;
}

std::string seconds_text(std::chrono::milliseconds d) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g s", static_cast<double>(d.count()) / 1000);
  return text;
}

std::string first_line(const std::string& text) {
  std::string s = text;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  size_t nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

void install_stop_handlers(void (*handler)(int)) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGHUP, SIGINT}) ::sigaction(sig, &sa, nullptr);
}

std::string failure_line(const CaptureResult& r) {
  for (const std::string* text : {&r.err, &r.out}) {
    if (text->find_first_not_of(" \t\r\n") != std::string::npos) return first_line(*text);
  }
  return "exit status " + std::to_string(r.exit_code);
}

std::string find_helper_binary(const std::string& name) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    // Next to `bottle`, and in the sibling component folders of a build tree.
    for (const char* rel : {"", "../proxy/", "../init/", "../gitgate/", "../supervise/"}) {
      fs::path p = self.parent_path() / (std::string(rel) + name);
      if (::access(p.c_str(), X_OK) == 0) return fs::weakly_canonical(p, ec).string();
    }
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    std::string dir =
        dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty()) {
      std::string p = dir + "/" + name;
      struct stat st;
      if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0)
        return p;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return "";
}

namespace {

struct ProcStat {
  char state = 0;
  unsigned long long start_time = 0;
};

// /proc/<pid>/stat: "pid (comm) state ppid ... starttime(22) ...". comm may hold spaces
// and parentheses, so fields are counted from the last ')'.
std::optional<ProcStat> read_proc_stat(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  char buf[1024];
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return std::nullopt;
  std::string_view s(buf, static_cast<size_t>(n));
  size_t paren = s.rfind(')');
  if (paren == std::string_view::npos || paren + 2 >= s.size()) return std::nullopt;
  ProcStat st;
  st.state = s[paren + 2];
  // Field 3 is the state; field 22 the start time: 19 more spaces to skip.
  size_t pos = paren + 2;
  for (int field = 3; field < 22 && pos != std::string_view::npos; ++field) {
    pos = s.find(' ', pos);
    if (pos != std::string_view::npos) ++pos;
  }
  if (pos == std::string_view::npos) return std::nullopt;
  st.start_time = std::strtoull(std::string(s.substr(pos, 24)).c_str(), nullptr, 10);
  return st;
}

}  // namespace

ProcessId identify_process(pid_t pid) {
  auto st = read_proc_stat(pid);
  return {pid, st && st->state != 'Z' ? st->start_time : 0};
}

bool process_alive(const ProcessId& p) {
  if (p.start_time == 0) return false;
  auto st = read_proc_stat(p.pid);
  return st && st->state != 'Z' && st->start_time == p.start_time;
}

// Raw syscalls: glibc 2.36's <sys/pidfd.h> lacks C linkage for C++.
UniqueFd open_pidfd(pid_t pid) {
  if (pid <= 0) return UniqueFd();
  return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

bool pidfd_signal(const UniqueFd& pidfd, int sig) {
  return pidfd && ::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) == 0;
}

bool signal_process(const ProcessId& p, int sig) {
  if (p.pid <= 0 || p.start_time == 0) return false;
  UniqueFd pidfd = open_pidfd(p.pid);
  // The pidfd names one process for good; if that is the recorded one now, it is the
  // one the signal reaches.
  if (!pidfd || !process_alive(p)) return false;
  return pidfd_signal(pidfd, sig);
}

bool stop_process(const ProcessId& p, std::chrono::milliseconds grace) {
  if (!signal_process(p, SIGTERM)) return !process_alive(p);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (process_alive(p) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (process_alive(p)) signal_process(p, SIGKILL);
  for (int i = 0; i < 200 && process_alive(p); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return !process_alive(p);
}

}  // namespace bottle::orchestrator
