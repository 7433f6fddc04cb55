// The request path of SPEC §4.2, as an ordered list of small stages. Everything that can
// be decided from the request head alone is a pure function here (tests and the fuzzer
// call it directly); exchange.h runs it and the body stages, for every protocol:
//
//   1. target   absolute-form URL, or origin-form + Host inside a CONNECT tunnel;
//               tunnel authority and Host must agree              → host_mismatch
//   2. host     a route owns host:port (IP literals only by name) → host_not_allowed
//               labels the agent chose (wildcard or unrouted), scanned as sent → dlp_outbound
//   3. policy   git-receive-pack never goes through the proxy     → git_push_via_proxy
//   4. route    RouteTable::match on method, path, headers, query → route_not_matched
//   5. dlp      outbound scan of the URL and every header         → dlp_outbound
//   6. inject   the route's credential replaces the agent's header (never scanned/logged),
//               only on a connection that is TLS to the upstream  → cleartext_credential
//   -- in the exchange (exchange.cc), dialed by the protocol adapter:
//   7. body     outbound body scan (held up to max_body_bytes)    → dlp_outbound / body_too_large
//   8. forward  dial; the dialed address passes the SSRF guard    → ssrf_blocked
//   9. response inbound body scan, cutting the stream on a block  → dlp_inbound
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/dlp/scanner.h"
#include "config/route_table.h"
#include "proxy/block.h"
#include "common/http/http1_parser.h"
#include "proxy/snapshot.h"
#include "proxy/target.h"

namespace bottle::proxy {

// How the request reached us.
struct Arrival {
  std::optional<Authority> tunnel;  // CONNECT authority, if inside a tunnel
  bool tls = false;                 // the tunnel was bumped (TLS from the agent)
};

// The outcome for one request head. `block` unset = forward.
struct Verdict {
  std::optional<BlockReason> block;
  int status = 403;
  std::string detail;  // why, for logs (never a secret)
  Authority target;
  bool upstream_tls = false;
  std::string path;           // normalized, without query
  std::string query;          // raw, without '?'
  std::string origin_target;  // what the upstream receives: path[?query]
  const config::Route* route = nullptr;
  std::vector<dlp::Finding> findings;  // outbound DLP on URL/headers (block or warn)
  bool url_scanned = false;            // stage 5 read host, path and query: nothing in them
  std::string inject_name;             // lower-case header name; empty = no injection
  // When responses are scanned: Accept-Encoding cut down to codings the scanner decodes,
  // so the upstream never answers in one it cannot read (e.g. zstd).
  std::optional<std::string> accept_encoding;
  // Outbound body handling.
  config::DlpAction body_dlp = config::DlpAction::off;
  uint64_t max_body_bytes = 0;
  bool stream_large_bodies = false;
  bool websocket = false;
};

// CONNECT host:port: only the host stage (route, then the agent's labels) applies before
// the tunnel exists.
Verdict evaluate_connect(const Snapshot& snap, std::string_view authority);

// A request head (absolute-form, or origin-form inside a tunnel): stages 1-6.
Verdict evaluate_request(const Snapshot& snap, const MessageHead& head, const Arrival& arrival);

// "gzip, zstd;q=0.9, br" → "gzip, br": the codings the DLP decoders understand.
std::string scannable_encodings(std::string_view accept_encoding);

// The credential to inject for a verdict's route (Auth::header_value), or empty.
std::string_view injected_value(const Verdict& v);

}  // namespace bottle::proxy
