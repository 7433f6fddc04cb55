#include "proxy/http1_wire.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <vector>

#include "common/ascii.h"
#include "common/strings.h"

namespace bottle::proxy {
namespace {

// `name` as sent (any case); conn_tokens are lower-case.
bool dropped(std::string_view name, const std::vector<std::string>& conn_tokens) {
  if (is_hop_by_hop(name) || header_name_equals(name, "content-length")) return true;
  return std::any_of(conn_tokens.begin(), conn_tokens.end(),
                     [name](const std::string& t) { return header_name_equals(name, t); });
}

void append_framing(std::string& out, const MessageHead& head) {
  if (head.chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  } else if (head.content_length) {
    append_header(out, "Content-Length", std::to_string(*head.content_length));
  }
}

// TE (hop-by-hop, so never forwarded as is) lists "trailers" ("trailers, gzip;q=0.5").
bool accepts_trailers(const MessageHead& head) {
  auto te = head.header("te");
  if (!te) return false;
  for (const std::string& coding : split_trim(*te, ',')) {
    std::string_view name = std::string_view(coding).substr(0, coding.find(';'));
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (ascii_iequals(name, "trailers")) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> connection_tokens(const MessageHead& head) {
  std::vector<std::string> out;
  auto v = head.header("connection");
  if (!v) return out;  // the common case allocates nothing
  std::string_view s = *v;
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view tok = s.substr(0, comma);
    while (!tok.empty() && (tok.front() == ' ' || tok.front() == '\t')) tok.remove_prefix(1);
    while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t')) tok.remove_suffix(1);
    if (!tok.empty()) out.push_back(ascii_lower(tok));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

bool is_hop_by_hop(std::string_view n) {
  static constexpr std::array<std::string_view, 9> kNames = {
      "connection", "keep-alive",        "proxy-connection", "proxy-authorization", "te",
      "trailer",    "transfer-encoding", "upgrade",          "proxy-authenticate"};
  return std::any_of(kNames.begin(), kNames.end(),
                     [n](std::string_view k) { return header_name_equals(n, k); });
}

std::string serialize_request_head(const MessageHead& head, const UpstreamRequestHead& up) {
  std::string out;
  out.reserve(256 + head.headers.size() * 48);
  out.append(head.method).append(" ").append(up.origin_target).append(" HTTP/1.1\r\n");
  append_header(out, "Host", up.host_header);
  auto conn_tokens = connection_tokens(head);
  for (const auto& h : head.headers) {
    if (header_name_equals(h.name, "host") || dropped(h.name, conn_tokens)) continue;
    if (!up.inject_name.empty() && header_name_equals(h.name, up.inject_name)) continue;
    if (header_name_equals(h.name, "expect")) continue;  // the proxy answers 100-continue itself
    // No WebSocket extension is offered upstream: permessage-deflate frames would carry
    // compressed payloads past the message gates (SPEC §4.2.8).
    if (up.websocket && header_name_equals(h.name, "sec-websocket-extensions")) continue;
    if (up.accept_encoding && header_name_equals(h.name, "accept-encoding")) {
      append_header(out, h.name, *up.accept_encoding);
      continue;
    }
    append_header(out, h.name, h.value);
  }
  if (!up.inject_name.empty()) append_header(out, up.inject_name, up.inject_value);
  if (up.websocket) {
    append_header(out, "Connection", "Upgrade");
    append_header(out, "Upgrade", head.header("upgrade").value_or("websocket"));
  } else if (accepts_trailers(head)) {
    // The client takes trailers and egress passes them on: the upstream may send them.
    out.append("TE: trailers\r\nConnection: TE\r\n");
  }
  append_framing(out, head);
  out.append("\r\n");
  return out;
}

std::string serialize_response_head(const MessageHead& head, bool close) {
  std::string out;
  out.reserve(256 + head.headers.size() * 48);
  out.append("HTTP/1.1 ").append(std::to_string(head.status)).append(" ");
  out.append(head.reason.empty() ? reason_phrase(head.status) : std::string_view(head.reason));
  out.append("\r\n");
  auto conn_tokens = connection_tokens(head);
  for (const auto& h : head.headers) {
    if (dropped(h.name, conn_tokens)) continue;
    append_header(out, h.name, h.value);
  }
  if (head.status == 101) {
    append_header(out, "Connection", "Upgrade");
    append_header(out, "Upgrade", head.header("upgrade").value_or("websocket"));
  } else {
    // 1xx, 204 and 304 never carry a body or its framing.
    bool bodyless = head.status < 200 || head.status == 204 || head.status == 304;
    if (!bodyless) append_framing(out, head);
    if (head.status == 304 && head.content_length) {
      append_header(out, "Content-Length", std::to_string(*head.content_length));
    }
    if (close && head.status >= 200) out.append("Connection: close\r\n");
  }
  out.append("\r\n");
  return out;
}

std::string last_chunk(const std::vector<Header>& trailers) {
  std::string out = "0\r\n";
  for (const auto& t : trailers) {
    if (dropped(t.name, {}) || header_name_equals(t.name, "host")) continue;
    append_header(out, t.name, t.value);
  }
  out.append("\r\n");
  return out;
}

std::string serialize_local(const LocalResponse& r) {
  std::string extra;
  for (const auto& h : r.headers) append_header(extra, h.name, h.value);
  return simple_response(r.status, reason_phrase(r.status), r.content_type, r.body, r.close, extra);
}

}  // namespace bottle::proxy
