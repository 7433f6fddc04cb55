#include "orchestrator/netns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>

namespace bottle::orchestrator {

std::string netns_name(const std::string& slug) {
  return "bottle-" + slug;
}
std::string netns_path(const std::string& name) {
  return "/run/netns/" + name;
}

namespace {

Status run_ip(const std::vector<std::string>& argv) {
  auto r = run_capture(argv);
  if (!r) return Error{r.error()};
  if (r->exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    return Error{cmd + ": " + first_line(r->err.empty() ? r->out : r->err)};
  }
  return OkStatus();
}

}  // namespace

Status create_netns(const std::string& name) {
  if (auto st = run_ip({"ip", "netns", "add", name}); !st) return st;
  if (auto st = run_ip({"ip", "-n", name, "link", "set", "lo", "up"}); !st) {
    (void)delete_netns(name);
    return st;
  }
  return OkStatus();
}

Status delete_netns(const std::string& name) {
  if (!std::filesystem::exists(netns_path(name))) return OkStatus();
  return run_ip({"ip", "netns", "delete", name});
}

std::vector<std::string> list_bottle_netns() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/run/netns", ec)) {
    std::string n = e.path().filename().string();
    if (n.rfind("bottle-", 0) == 0) out.push_back(n);
  }
  return out;
}

std::vector<int> netns_pids(const std::string& name) {
  std::vector<int> pids;
  auto r = run_capture({"ip", "netns", "pids", name});
  if (!r || r->exit_code != 0) return pids;
  std::istringstream in(r->out);
  int pid;
  while (in >> pid) pids.push_back(pid);
  return pids;
}

int kill_netns_processes(const std::string& name) {
  struct stat ns;
  if (::stat(netns_path(name).c_str(), &ns) != 0) return 0;
  int killed = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid_text = e.path().filename().string();
    if (pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    UniqueFd pidfd = open_pidfd(pid);
    if (!pidfd) continue;
    struct stat net;
    if (::stat(("/proc/" + pid_text + "/ns/net").c_str(), &net) != 0) continue;
    if (net.st_dev != ns.st_dev || net.st_ino != ns.st_ino) continue;
    if (pidfd_signal(pidfd, SIGKILL)) ++killed;
  }
  return killed;
}

Result<UniqueFd> open_netns(const std::string& name) {
  int fd = ::open(netns_path(name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{netns_path(name) + ": " + std::strerror(errno)};
  return UniqueFd(fd);
}

Result<UniqueFd> listen_in_netns(const std::string& name, uint16_t port) {
  auto ns = open_netns(name);
  if (!ns) return Error{ns.error()};
  int result_fd = -1;
  std::string error;
  // setns(CLONE_NEWNET) affects only the calling thread, so the main thread stays put.
  std::thread worker([&] {
    if (::setns(ns->get(), CLONE_NEWNET) != 0) {
      error = std::string("setns ") + name + ": " + std::strerror(errno);
      return;
    }
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      error = std::string("socket: ") + std::strerror(errno);
      return;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 1024) != 0) {
      error = "127.0.0.1:" + std::to_string(port) + " in " + name + ": " + std::strerror(errno);
      ::close(fd);
      return;
    }
    result_fd = fd;
  });
  worker.join();
  if (result_fd < 0) return Error{error};
  return UniqueFd(result_fd);
}

}  // namespace bottle::orchestrator
