// The control socket: a unix stream socket, one JSON request line in, one JSON reply
// line out, then close. Requests: {"cmd":"status"}, {"cmd":"reload"},
// {"cmd":"restart","daemon":"egress"}. Replies always carry "ok" (and "error" if false).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"
#include "init/unique_fd.h"

namespace bottle::init {

inline constexpr const char* kDefaultCtlPath = "/run/bottle/init.sock";

// BOTTLE_INIT_CTL if set, else /run/bottle/init.sock.
std::string default_ctl_path();

// Binds and listens (non-blocking, close-on-exec, mode 0600), creating the parent
// directory and replacing a stale socket file.
Result<UniqueFd> listen_ctl_socket(const std::string& path);

// Sends one request and returns the reply object.
Result<nlohmann::json> ctl_request(const std::string& path, const nlohmann::json& request);

}  // namespace bottle::init
