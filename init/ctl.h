// The control socket: a unix stream socket, one JSON request line in, one JSON reply
// line out, then close. Requests: {"cmd":"status"}, {"cmd":"reload"},
// {"cmd":"restart","daemon":"egress"}. Replies always carry "ok" (and "error" if false).
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace bottle::init {

inline constexpr const char* kDefaultCtlPath = "/run/bottle/init.sock";

// BOTTLE_INIT_CTL if set, else /run/bottle/init.sock.
std::string default_ctl_path();

// Binds and listens (non-blocking, close-on-exec, mode 0600), creating the parent
// directory and replacing a stale socket file.
Result<UniqueFd> listen_ctl_socket(const std::string& path);

// One accepted control connection (server side).
struct CtlConnection {
  UniqueFd fd;
  std::string buffer;
  std::string waiting_for;  // daemon whose restart this client awaits, if any
  bool done = false;        // replied or gone: drop it
  std::chrono::steady_clock::time_point request_deadline;  // until the request line is in
};

// One control request, parsed from its line.
struct CtlRequest {
  enum class Cmd { status, reload, restart };
  Cmd cmd = Cmd::status;
  std::string daemon;  // restart only
};

// The request a line asks for, or the error to reply with.
Result<CtlRequest> parse_ctl_request(std::string_view line);

// Reads what is available; returns the request line once complete. Marks the connection
// done on EOF, and answers an over-long request with an error itself.
std::optional<std::string> read_ctl_request(CtlConnection& c);

// Sends one reply line and marks the connection done. A client that does not read its
// small reply is dropped, never waited on.
void send_ctl_reply(CtlConnection& c, const nlohmann::json& reply);

// Sends one request and returns the reply object.
Result<nlohmann::json> ctl_request(const std::string& path, const nlohmann::json& request);

// {"cmd":"reload"}, succeeding only when init signalled a running egress: what a writer
// of routes.yaml calls before it confirms the reload on egress's admin.
Status reload_egress(const std::string& path);

}  // namespace bottle::init
