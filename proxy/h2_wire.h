// HTTP/2 header lists the proxy submits to nghttp2, built from the same parsed heads the
// HTTP/1.1 side serializes: lower-case names, pseudo-headers first, hop-by-hop and
// connection-specific fields dropped (RFC 9113 §8.2.2), and, toward the upstream, the
// exchange's edits (Host → :authority, the injected credential, Accept-Encoding).
#pragma once

#include <nghttp2/nghttp2.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http/http1_parser.h"
#include "proxy/block.h"
#include "proxy/http1_wire.h"

namespace bottle::proxy {

// Owns the strings its nghttp2_nv entries point at.
class H2Headers {
 public:
  void add(std::string_view name, std::string_view value);
  // Valid until the next add().
  const nghttp2_nv* data();
  size_t size() const { return fields_.size(); }
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
  std::vector<nghttp2_nv> nv_;
};

// Request to an h2 upstream.
H2Headers h2_request_headers(const MessageHead& head, const UpstreamRequestHead& wire);
// Response to an h2 client. `connect_accept`: a 101 that answers an RFC 8441 extended
// CONNECT becomes 200.
H2Headers h2_response_headers(const MessageHead& head, bool connect_accept);
H2Headers h2_local_response(const LocalResponse& answer);
H2Headers h2_trailers(const std::vector<Header>& trailers);

// True for fields HTTP/2 never carries (hop-by-hop, and te unless "trailers").
bool h2_forbidden(std::string_view name, std::string_view value);

}  // namespace bottle::proxy
