// Block reasons and the blocking response of SPEC §4.4: 403, JSON body with
// "egress: <reason>", X-Bottle-Block header. Malformed requests get the same shape with
// their 400/431 status so the agent always sees the egress marker.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http/http1_parser.h"

namespace bottle::proxy {

enum class BlockReason {
  host_not_allowed,
  route_not_matched,
  ssrf_blocked,
  host_mismatch,
  dlp_outbound,
  dlp_inbound,
  body_too_large,
  git_push_via_proxy,
  bad_request,
  cleartext_credential,
};
inline constexpr int kBlockReasonCount = 10;

std::string_view reason_name(BlockReason r);

struct BlockInfo {
  BlockReason reason = BlockReason::bad_request;
  int status = 403;
  std::string host;
  std::optional<std::string> rule;
  std::string request_id;
};

// An answer of the proxy's own (a block, 408, 502, 503, 504), before any framing: the
// HTTP/1.1 connection serializes it (http1_wire.h), an HTTP/2 stream submits it.
struct LocalResponse {
  int status = 403;
  std::string content_type;
  std::string body;
  std::vector<Header> headers;  // beyond Content-Type/Length: X-Bottle-Block, Retry-After
  bool close = true;            // HTTP/1.1: the connection closes after it
};

LocalResponse block_response(const BlockInfo& info, bool close);

// The complete HTTP/1.1 response. `close` adds Connection: close.
std::string render_block(const BlockInfo& info, bool close);

}  // namespace bottle::proxy
