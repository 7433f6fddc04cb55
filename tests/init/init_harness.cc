#include "tests/init/init_harness.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace bottle::init::testing {

bool file_exists(const std::string& path) {
  return std::filesystem::exists(path);
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/bottle-init-test-XXXXXX";
  path = mkdtemp(tmpl);
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

InitRun::InitRun(InitOptions o) {
  const std::string config = dir() + "/init.yaml";
  std::ofstream(config) << o.yaml;
  std::vector<std::string> args;
  // --kill-child: if unshare dies, so does bottle-init (and with it the namespace).
  if (o.pid_namespace) {
    args = {"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "--kill-child=SIGKILL"};
  }
  for (std::string a : {std::string(BOTTLE_INIT_BIN), std::string("--config"), config,
                        std::string("--ready-file"), ready_path()}) {
    args.push_back(a);
  }
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "BOTTLE_DAEMONS=" + o.daemons};
  if (o.ctl_via_env) {
    env.push_back("BOTTLE_INIT_CTL=" + ctl_path());
  } else {
    args.push_back("--ctl");
    args.push_back(ctl_path());
  }
  for (const auto& a : o.args) args.push_back(a);
  for (const auto& e : o.env) env.push_back(e);

  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string log_path = dir() + "/init.log";
  launcher_ = fork();
  if (launcher_ == 0) {
    // A test killed by its timeout must not leave a bottle-init behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    FILE* log = std::fopen(log_path.c_str(), "w");
    dup2(fileno(log), 1);
    dup2(fileno(log), 2);
    if (o.pass_fd >= 0) dup2(o.pass_fd, o.pass_fd_as);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  if (!o.pid_namespace) init_ = launcher_;
}

InitRun::~InitRun() {
  if (exit_code_ >= 0 || launcher_ <= 0) return;
  if (init_ > 0) kill(init_, SIGKILL);
  kill(launcher_, SIGKILL);
  waitpid(launcher_, nullptr, 0);
}

namespace {

struct ProcEntry {
  pid_t pid;
  char state;
  pid_t ppid;
};

// Every process in the host's /proc, from /proc/<pid>/stat ("pid (comm) S ppid ...").
std::vector<ProcEntry> processes() {
  std::vector<ProcEntry> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;  // self, sys, ...
    const std::string stat = read_file(entry.path().string() + "/stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    ProcEntry p{std::stoi(name), '?', -1};
    std::istringstream(stat.substr(close + 2)) >> p.state >> p.ppid;
    out.push_back(p);
  }
  return out;
}

}  // namespace

pid_t InitRun::init_pid() {
  if (init_ > 0) return init_;
  // unshare --fork's only child is bottle-init (PID 1 inside).
  eventually([&] {
    for (const auto& p : processes()) {
      if (p.ppid == launcher_) init_ = p.pid;
    }
    return init_ > 0;
  });
  return init_;
}

std::string InitRun::log() const {
  return read_file(dir() + "/init.log");
}

bool InitRun::wait_log(const std::string& needle, milliseconds timeout) const {
  return eventually([&] { return log().find(needle) != std::string::npos; }, timeout);
}

nlohmann::json InitRun::ctl(const std::string& args) const {
  const std::string cmd =
      std::string(BOTTLE_INIT_BIN) + " ctl --socket " + ctl_path() + " " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return nlohmann::json::object();
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  auto reply = nlohmann::json::parse(out, nullptr, false);
  return reply.is_object() ? reply : nlohmann::json::object();
}

void InitRun::signal(int sig) {
  kill(init_pid(), sig);
}

int InitRun::wait_exit(milliseconds timeout) {
  if (exit_code_ >= 0) return exit_code_;
  int status = 0;
  if (!eventually([&] { return waitpid(launcher_, &status, WNOHANG) == launcher_; }, timeout)) {
    return -1;
  }
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_code_;
}

std::vector<pid_t> zombie_children(pid_t pid) {
  std::vector<pid_t> out;
  for (const auto& p : processes()) {
    if (p.ppid == pid && p.state == 'Z') out.push_back(p.pid);
  }
  return out;
}

int count_fds(pid_t pid) {
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); ++it) {
    ++n;
  }
  return n;
}

}  // namespace bottle::init::testing
