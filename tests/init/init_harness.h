// Runs the real bottle-init as PID 1 of a fresh PID namespace
// (`unshare --pid --fork --mount-proc`), with its stderr in a file, and gives tests the
// handles they need: its host pid, its log, its control socket, its exit code.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/support.h"

namespace bottle::init::testing {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

using ::bottle::test::eventually;  // tests/support
using ::bottle::test::read_file;
bool file_exists(const std::string& path);

// A temporary directory, removed with its contents on destruction.
struct TempDir {
  TempDir();
  ~TempDir();
  std::string path;
};

struct InitOptions {
  std::string yaml = {};               // init.yaml contents
  std::string daemons = {};            // BOTTLE_DAEMONS
  std::vector<std::string> env = {};   // extra NAME=value for init
  std::vector<std::string> args = {};  // extra flags (e.g. --grace-ms 300)
  int pass_fd = -1, pass_fd_as = -1;   // hand this fd to init as fd number pass_fd_as
  bool ctl_via_env = false;            // BOTTLE_INIT_CTL instead of --ctl
  bool pid_namespace = true;           // false: run bottle-init directly (config errors)
};

class InitRun {
 public:
  explicit InitRun(InitOptions options);
  ~InitRun();  // SIGKILLs init if still running; the PID namespace dies with it

  const std::string& dir() const { return tmp_.path; }
  std::string ctl_path() const { return dir() + "/ctl.sock"; }
  std::string ready_path() const { return dir() + "/ready"; }

  pid_t init_pid();  // host pid of bottle-init (waits for it to appear)
  std::string log() const;
  bool wait_log(const std::string& needle, milliseconds timeout = 5000ms) const;
  // Runs `bottle-init ctl --socket ... <args>`; returns its reply ({} if none yet).
  nlohmann::json ctl(const std::string& args) const;
  void signal(int sig);
  // Waits for exit; returns the exit code, or -1 on timeout.
  int wait_exit(milliseconds timeout);

 private:
  TempDir tmp_;
  pid_t launcher_ = -1;  // unshare, or bottle-init itself
  pid_t init_ = -1;
  int exit_code_ = -1;
};

// Lists zombie processes whose parent is `pid` (host view of /proc).
std::vector<pid_t> zombie_children(pid_t pid);
int count_fds(pid_t pid);

}  // namespace bottle::init::testing
