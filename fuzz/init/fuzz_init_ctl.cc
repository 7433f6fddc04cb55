// init's control protocol on any bytes: framed by read_ctl_request off a real socket pair
// (as init reads a client), parsed by parse_ctl_request, answered by send_ctl_reply.
// Invariants: no crash, and every reply is exactly one
// line of JSON carrying "ok"; a complete request line is always answered.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "init/ctl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 8192) return 0;  // more than the socket buffer holds without a reader
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  bottle::UniqueFd client(fds[1]);
  bottle::init::CtlConnection c;
  c.fd = bottle::UniqueFd(fds[0]);
  if (size > 0 && send(client.get(), data, size, 0) != static_cast<ssize_t>(size)) std::abort();
  shutdown(client.get(), SHUT_WR);
  std::optional<std::string> line;
  while (!c.done && !line) line = bottle::init::read_ctl_request(c);
  if (line) {
    if (line->find('\n') != std::string::npos) std::abort();
    const auto req = bottle::init::parse_ctl_request(*line);
    nlohmann::json reply = {{"ok", req.ok()}};
    if (!req.ok()) reply["error"] = req.error();
    else if (req->cmd == bottle::init::CtlRequest::Cmd::restart) reply["daemon"] = req->daemon;
    bottle::init::send_ctl_reply(c, reply);
  }
  std::string out(16384, '\0');
  const ssize_t n = recv(client.get(), out.data(), out.size(), MSG_DONTWAIT);
  if (n > 0) {
    out.resize(static_cast<size_t>(n));
    if (out.find('\n') != out.size() - 1) std::abort();  // exactly one line
    const auto parsed = nlohmann::json::parse(out, nullptr, false);
    if (!parsed.is_object() || !parsed.contains("ok")) std::abort();
  } else if (line) {
    std::abort();  // a complete request always gets its reply
  }
  return 0;
}
