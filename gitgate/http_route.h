// Smart HTTP (gitprotocol-http(5)) request routing as a pure function of a parsed head
// and the configured repos: which repo and service a request asks for, or the HTTP answer
// that refuses it. The llhttp state machine in common/http/http1_parser.h does the framing
// (chunked bodies, bad or duplicate Content-Length, smuggling shapes -> 400).
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "common/http/http1_parser.h"
#include "config/gate_config.h"
#include "gitgate/pkt_line.h"

namespace bottle::gitgate {

// Declared request bodies above this are refused with 413 before a byte is read. git sends
// larger bodies chunked (its http.postBuffer is 1 MiB), which stream.
inline constexpr uint64_t kMaxDeclaredBody = 1 << 20;

struct HttpRoute {
  enum class Kind { advertisement, rpc };  // GET info/refs?service=..., POST /git-<service>
  Kind kind = Kind::advertisement;
  const config::GateRepo* repo = nullptr;
  Service service = Service::upload_pack;
  bool gzip = false;     // request body is Content-Encoding: gzip
  std::string protocol;  // Git-Protocol header, sanitized, for GIT_PROTOCOL
};

// A refusal: status and a one-line text/plain body git shows the user.
struct HttpRefusal {
  int status = 400;
  std::string message;
};

std::variant<HttpRoute, HttpRefusal> route_http(const MessageHead& head,
                                                const config::GateConfig& config);

}  // namespace bottle::gitgate
