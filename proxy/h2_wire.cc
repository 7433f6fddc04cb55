#include "proxy/h2_wire.h"

#include "common/ascii.h"

namespace bottle::proxy {

void H2Headers::add(std::string_view name, std::string_view value) {
  fields_.emplace_back(ascii_lower(name), std::string(value));
}

const nghttp2_nv* H2Headers::data() {
  nv_.clear();
  nv_.reserve(fields_.size());
  for (auto& [n, v] : fields_) {
    nv_.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()),
                   n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return nv_.data();
}

bool h2_forbidden(std::string_view name, std::string_view value) {
  if (header_name_equals(name, "te")) return ascii_lower(value) != "trailers";
  return is_hop_by_hop(name) || header_name_equals(name, "host");
}


namespace {

bool listed(const std::vector<std::string>& tokens, std::string_view name) {
  for (const auto& t : tokens) {
    if (header_name_equals(t, name)) return true;
  }
  return false;
}

}  // namespace

H2Headers h2_request_headers(const MessageHead& head, const UpstreamRequestHead& wire) {
  H2Headers out;
  const auto tokens = connection_tokens(head);
  out.add(":method", head.method);
  out.add(":scheme", "https");
  out.add(":authority", wire.host_header);
  out.add(":path", wire.origin_target);
  for (const auto& h : head.headers) {
    if (h2_forbidden(h.name, h.value) || listed(tokens, h.name)) continue;
    if (!wire.inject_name.empty() && header_name_equals(h.name, wire.inject_name)) continue;
    if (header_name_equals(h.name, "expect")) continue;
    if (wire.accept_encoding && header_name_equals(h.name, "accept-encoding")) {
      out.add(h.name, *wire.accept_encoding);
      continue;
    }
    out.add(h.name, h.value);
  }
  if (!wire.inject_name.empty()) out.add(wire.inject_name, wire.inject_value);
  return out;
}

H2Headers h2_response_headers(const MessageHead& head, bool connect_accept) {
  H2Headers out;
  const auto tokens = connection_tokens(head);
  out.add(":status", std::to_string(connect_accept ? 200 : head.status));
  for (const auto& h : head.headers) {
    if (h2_forbidden(h.name, h.value) || listed(tokens, h.name)) continue;
    if (connect_accept && (header_name_equals(h.name, "sec-websocket-accept"))) continue;
    // A 1xx/204/304 carries no body framing; any other length is the upstream's own.
    if (header_name_equals(h.name, "content-length") &&
        (head.status < 200 || head.status == 204 || connect_accept))
      continue;
    out.add(h.name, h.value);
  }
  return out;
}

H2Headers h2_local_response(const LocalResponse& answer) {
  H2Headers out;
  out.add(":status", std::to_string(answer.status));
  out.add("content-type", answer.content_type);
  out.add("content-length", std::to_string(answer.body.size()));
  for (const auto& h : answer.headers) out.add(h.name, h.value);
  return out;
}

H2Headers h2_trailers(const std::vector<Header>& trailers) {
  H2Headers out;
  for (const auto& h : trailers) {
    if (h2_forbidden(h.name, h.value) || header_name_equals(h.name, "content-length")) continue;
    out.add(h.name, h.value);
  }
  return out;
}

}  // namespace bottle::proxy
