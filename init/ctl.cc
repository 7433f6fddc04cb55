#include "init/ctl.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace bottle::init {
namespace {

Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return Error{path + ": control socket path must be 1.." +
                 std::to_string(sizeof addr.sun_path - 1) + " bytes"};
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

}  // namespace

std::string default_ctl_path() {
  const char* env = std::getenv("BOTTLE_INIT_CTL");
  return env && *env ? env : kDefaultCtlPath;
}

Result<UniqueFd> listen_ctl_socket(const std::string& path) {
  auto addr = unix_address(path);
  if (!addr) return Error{addr.error()};
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) return Error{dir.string() + ": " + ec.message()};
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error{errno_text("socket")};
  // A socket file left by a previous run would make bind fail with EADDRINUSE.
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path.c_str());
  // umask, not a chmod afterwards: no moment where another user can connect.
  const mode_t old_mask = umask(0177);
  const int bound = bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr);
  umask(old_mask);
  if (bound != 0) return Error{errno_text(path)};
  if (listen(fd.get(), 16) != 0) return Error{errno_text(path)};
  return fd;
}

Result<CtlRequest> parse_ctl_request(std::string_view line) {
  const auto req = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  const auto field = [&](const char* key) -> std::string {
    if (!req.is_object()) return "";
    const auto it = req.find(key);
    return it != req.end() && it->is_string() ? it->get<std::string>() : "";
  };
  const std::string cmd = field("cmd");
  if (cmd == "status") return CtlRequest{CtlRequest::Cmd::status, {}};
  if (cmd == "reload") return CtlRequest{CtlRequest::Cmd::reload, {}};
  if (cmd == "restart") return CtlRequest{CtlRequest::Cmd::restart, field("daemon")};
  return Error{"expected {\"cmd\": \"status\"|\"reload\"|\"restart\"}"};
}

std::optional<std::string> read_ctl_request(CtlConnection& c) {
  constexpr size_t kMaxRequest = 4096;
  char buf[1024];
  const ssize_t n = recv(c.fd.get(), buf, sizeof buf, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return std::nullopt;
  if (n <= 0) {
    c.done = true;
    return std::nullopt;
  }
  c.buffer.append(buf, static_cast<size_t>(n));
  const auto nl = c.buffer.find('\n');
  if (nl != std::string::npos) return c.buffer.substr(0, nl);
  if (c.buffer.size() > kMaxRequest) {
    send_ctl_reply(c, {{"ok", false}, {"error", "request longer than 4096 bytes"}});
  }
  return std::nullopt;
}

void send_ctl_reply(CtlConnection& c, const nlohmann::json& reply) {
  const std::string line =
      reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  (void)!send(c.fd.get(), line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  c.done = true;
}

Result<nlohmann::json> ctl_request(const std::string& path, const nlohmann::json& request) {
  auto addr = unix_address(path);
  if (!addr) return Error{addr.error()};
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error{errno_text("socket")};
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
    return Error{errno_text(path)};
  }
  const std::string line = request.dump() + "\n";
  if (send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    return Error{errno_text(path)};
  }
  // A restart waits for the daemon to stop (up to init's grace) before the reply comes.
  std::string reply;
  char buf[4096];
  while (reply.find('\n') == std::string::npos && reply.size() < (1 << 20)) {
    const ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{errno_text(path)};
    if (n == 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  auto json = nlohmann::json::parse(reply, nullptr, false);
  if (!json.is_object()) return Error{path + ": malformed reply from bottle-init"};
  return json;
}

Status reload_egress(const std::string& path) {
  auto reply = ctl_request(path, {{"cmd", "reload"}});
  if (!reply) return Error{"bottle-init control socket: " + reply.error()};
  if (!reply->value("ok", false)) {
    return Error{"bottle-init refused the reload: " + reply->value("error", std::string("?"))};
  }
  const auto signaled = reply->value("signaled", nlohmann::json::array());
  if (std::find(signaled.begin(), signaled.end(), "egress") == signaled.end()) {
    return Error{"bottle-init has no running egress to reload"};
  }
  return OkStatus();
}

}  // namespace bottle::init
