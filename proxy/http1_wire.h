// HTTP/1.1 bytes the proxy writes: heads re-serialized from parsed values (so framing is
// normalized and hop-by-hop headers never cross), chunk framing, and short local answers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http/http1_parser.h"
#include "common/http/http1_response.h"
#include "proxy/block.h"

namespace bottle::proxy {

// Hop-by-hop headers (RFC 9110 §7.6.1) plus proxy-only ones; never forwarded. The names
// listed in a Connection header are dropped too.
bool is_hop_by_hop(std::string_view name);  // any case
// The names a Connection header lists (lower-case): hop-by-hop for that message.
std::vector<std::string> connection_tokens(const MessageHead& head);

struct UpstreamRequestHead {
  std::string_view origin_target;  // "/path?query"
  std::string_view host_header;    // Host value to send ("example.com" or "example.com:8443")
  // Replaces any header with this name (lower-case) the agent sent. Never logged.
  std::string_view inject_name;
  std::string_view inject_value;
  bool websocket = false;  // keep Upgrade/Connection: upgrade
  // Replaces the agent's Accept-Encoding when set.
  std::optional<std::string_view> accept_encoding;
  // Nothing follows the head (no body, no trailers): HTTP/2 ends the stream with it.
  bool ends_request = false;
};

// Request head for the upstream. Body framing: chunked stays chunked, Content-Length stays.
std::string serialize_request_head(const MessageHead& head, const UpstreamRequestHead& up);

// Response head for the client. `close` adds Connection: close; a response that ends at
// EOF upstream is re-framed by the caller (close) because we cannot know its length.
std::string serialize_response_head(const MessageHead& head, bool close);

// The end of a chunked body: the last chunk, then the trailer fields that may cross a
// proxy (no hop-by-hop, framing or Host field), then the blank line.
std::string last_chunk(const std::vector<Header>& trailers);

// An answer of the proxy's own as a complete HTTP/1.1 response (Content-Length framed).
std::string serialize_local(const LocalResponse& r);

}  // namespace bottle::proxy
