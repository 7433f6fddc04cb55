#include "proxy/block.h"

#include <nlohmann/json.hpp>

#include "proxy/http1_wire.h"

namespace bottle::proxy {

std::string_view reason_name(BlockReason r) {
  switch (r) {
    case BlockReason::host_not_allowed:
      return "host_not_allowed";
    case BlockReason::route_not_matched:
      return "route_not_matched";
    case BlockReason::ssrf_blocked:
      return "ssrf_blocked";
    case BlockReason::host_mismatch:
      return "host_mismatch";
    case BlockReason::dlp_outbound:
      return "dlp_outbound";
    case BlockReason::dlp_inbound:
      return "dlp_inbound";
    case BlockReason::body_too_large:
      return "body_too_large";
    case BlockReason::git_push_via_proxy:
      return "git_push_via_proxy";
    case BlockReason::bad_request:
      return "bad_request";
    case BlockReason::cleartext_credential:
      return "cleartext_credential";
  }
  return "bad_request";
}

LocalResponse block_response(const BlockInfo& info, bool close) {
  std::string reason(reason_name(info.reason));
  nlohmann::ordered_json body = {
      {"error", "egress: " + reason},
      {"reason", reason},
      {"host", info.host},
      {"rule", info.rule ? nlohmann::ordered_json(*info.rule) : nlohmann::ordered_json(nullptr)},
      {"request_id", info.request_id},
  };
  std::string text = body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  LocalResponse r;
  r.status = info.status;
  r.content_type = "application/json";
  r.body = std::move(text);
  r.headers.push_back({"X-Bottle-Block", reason});
  r.close = close;
  return r;
}

std::string render_block(const BlockInfo& info, bool close) {
  return serialize_local(block_response(info, close));
}

}  // namespace bottle::proxy
