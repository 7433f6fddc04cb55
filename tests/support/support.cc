#include "tests/support/support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/ascii.h"

namespace bottle::test {

ScratchDir::ScratchDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
  chmod(path_.c_str(), 0755);  // servers under test (nginx workers run as nobody) read it
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string which(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = dir + "/" + name;
    if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  for (const char* d : {"/usr/sbin", "/sbin"}) {
    std::string candidate = std::string(d) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

int listen_loopback(uint16_t* port_out) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 128) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return -1;
  }
  if (port_out) *port_out = ntohs(a.sin_port);
  return fd;
}

uint16_t free_port() {
  uint16_t port = 0;
  int fd = listen_loopback(&port);
  if (fd >= 0) close(fd);
  return port;
}

int connect_loopback(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string exchange(uint16_t port, const std::string& data, std::chrono::milliseconds limit) {
  int fd = connect_loopback(port);
  if (fd < 0) return {};
  for (size_t off = 0; off < data.size();) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[16384];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

std::string http_get(uint16_t port, const std::string& path) {
  std::string resp =
      exchange(port, "GET " + path + " HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n",
               std::chrono::seconds(5));
  size_t body = resp.find("\r\n\r\n");
  if (resp.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos) return {};
  return resp.substr(body + 4);
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

namespace {

// Reads until `pending` holds "\r\n" (a line) from `from` on; the line's end, or npos.
size_t read_line(int fd, std::string& pending, size_t from,
                 std::chrono::steady_clock::time_point deadline) {
  char buf[16384];
  while (true) {
    size_t end = pending.find("\r\n", from);
    if (end != std::string::npos) return end;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return std::string::npos;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return std::string::npos;
    pending.append(buf, static_cast<size_t>(n));
  }
}

bool read_bytes(int fd, std::string& pending, size_t want,
                std::chrono::steady_clock::time_point deadline) {
  while (pending.size() < want) {
    size_t end = read_line(fd, pending, pending.size(), deadline);  // reads more
    if (end == std::string::npos && pending.size() < want) return false;
  }
  return true;
}

}  // namespace

std::optional<HttpMessage> read_http_message(int fd, std::string& pending,
                                             std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  HttpMessage m;
  size_t from = 0;
  while (true) {  // the head, line by line, to its blank line
    size_t end = read_line(fd, pending, from, deadline);
    if (end == std::string::npos) return std::nullopt;
    const bool blank = end == from;
    from = end + 2;
    if (blank && from > 2) break;
  }
  m.head = pending.substr(0, from);
  pending.erase(0, from);
  const std::string head = ascii_lower(m.head);
  m.chunked = head.find("\r\ntransfer-encoding: chunked\r\n") != std::string::npos;
  if (!m.chunked) {
    size_t cl = head.find("\r\ncontent-length:");
    size_t length = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 17));
    if (!read_bytes(fd, pending, length, deadline)) return std::nullopt;
    m.body = pending.substr(0, length);
    pending.erase(0, length);
    return m;
  }
  while (true) {  // chunks: "<hex>[;ext]\r\n<data>\r\n", then "0\r\n", trailers, "\r\n"
    size_t end = read_line(fd, pending, 0, deadline);
    if (end == std::string::npos) return std::nullopt;
    size_t size = std::stoul(pending.substr(0, end), nullptr, 16);
    pending.erase(0, end + 2);
    if (size == 0) break;
    if (!read_bytes(fd, pending, size + 2, deadline)) return std::nullopt;
    m.body += pending.substr(0, size);
    pending.erase(0, size + 2);
  }
  while (true) {
    size_t end = read_line(fd, pending, 0, deadline);
    if (end == std::string::npos) return std::nullopt;
    std::string line = pending.substr(0, end + 2);
    pending.erase(0, end + 2);
    if (line == "\r\n") return m;
    m.trailers += line;
  }
}

ScriptedUpstream::ScriptedUpstream(std::function<void(int)> serve, Mode mode)
    : ScriptedUpstream([serve = std::move(serve)](int fd, int) { serve(fd); }, mode) {}

ScriptedUpstream::ScriptedUpstream(std::function<void(int, int)> serve, Mode mode)
    : serve_(std::move(serve)), mode_(mode) {
  fd_ = listen_loopback(&port);
  acceptor_ = std::thread([this] {
    while (true) {
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      std::unique_lock<std::mutex> lock(mu_);
      const int conn = ++accepted_;
      open_.push_back(c);
      if (mode_ == Mode::one_at_a_time) {
        lock.unlock();
        serve_one(c, conn);
      } else {
        workers_.emplace_back([this, c, conn] { serve_one(c, conn); });
      }
    }
  });
}

void ScriptedUpstream::serve_one(int fd, int conn) {
  serve_(fd, conn);
  std::lock_guard<std::mutex> lock(mu_);
  std::erase(open_, fd);
  close(fd);
}

int ScriptedUpstream::accepted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return accepted_;
}

ScriptedUpstream::~ScriptedUpstream() {
  shutdown(fd_, SHUT_RDWR);
  {
    std::lock_guard<std::mutex> lock(mu_);  // wake scripts blocked reading
    for (int c : open_) shutdown(c, SHUT_RDWR);
  }
  acceptor_.join();
  close(fd_);
  for (std::thread& t : workers_) t.join();
}

}  // namespace bottle::test
