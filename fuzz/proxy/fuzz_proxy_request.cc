// Fuzzes what an agent controls on the egress request path, with no sockets: bytes are
// cut into chunks (first input byte picks the size), fed to the HTTP/1.1 request parser,
// and every head goes through the pipeline stages and upstream-head serialization, both
// as absolute-form and as if inside a bumped CONNECT tunnel. The upstream side gets the
// same bytes as a response stream and as WebSocket frames.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/route_table.h"
#include "proxy/block.h"
#include "common/http/http1_parser.h"
#include "proxy/http1_wire.h"
#include "proxy/pipeline.h"
#include "fuzz/proxy/fuzz_snapshot.h"
#include "proxy/snapshot.h"
#include "proxy/ws_frames.h"

namespace {

using namespace bottle;

const proxy::Snapshot& snapshot() {
  static std::shared_ptr<const proxy::Snapshot> snap = [] {
    constexpr const char* kRoutes = R"(
routes:
  - host: api.test
    auth: {scheme: Bearer, token_env: EGRESS_TOKEN_0}
    matches:
      - path: {type: PathPrefix, value: /v1/}
        method: POST
        headers: [{name: x-v, type: RegularExpression, value: "[0-9]+"}]
        queryParams: [{name: q, type: Exact, value: "1"}]
      - path: {type: RegularExpression, value: "/r/[a-z]+"}
  - host: "*.wild.test"
  - host: 10.0.0.1
    port: 8080
)";
    return fuzz::fuzz_snapshot(kRoutes);
  }();
  return *snap;
}

void run_parser(Http1Parser::Kind kind, std::string_view data, size_t chunk, bool tunnel) {
  Http1Parser parser(kind);
  uint64_t body = 0;
  parser.set_body_sink([&body](std::string_view c) { body += c.size(); });
  proxy::Arrival arrival;
  if (tunnel) {
    arrival.tunnel = proxy::Authority{"api.test", "api.test", 443, false};
    arrival.tls = true;
  }
  std::string pending;
  for (size_t off = 0; off < data.size(); off += chunk) {
    pending.append(data.substr(off, chunk));
    for (int guard = 0; guard < 64; ++guard) {
      auto out = parser.feed(pending);
      pending.erase(0, out.consumed);
      if (out.status == Http1Parser::Status::head) {
        MessageHead head = parser.take_head();
        if (kind == Http1Parser::Kind::request) {
          proxy::Verdict v = head.method == "CONNECT"
                                 ? proxy::evaluate_connect(snapshot(), head.target)
                                 : proxy::evaluate_request(snapshot(), head, arrival);
          if (v.block) {
            proxy::BlockInfo info{*v.block, v.status, v.target.host, std::nullopt, "id"};
            (void)proxy::render_block(info, true);
          } else if (head.method != "CONNECT") {
            proxy::UpstreamRequestHead up;
            up.origin_target = v.origin_target;
            up.host_header = v.target.host;
            up.inject_name = v.inject_name;
            up.inject_value = proxy::injected_value(v);
            up.websocket = v.websocket;
            if (v.accept_encoding) up.accept_encoding = *v.accept_encoding;
            (void)proxy::serialize_request_head(head, up);
          } else {
            return;  // a tunnel: the rest is another protocol
          }
        } else {
          (void)proxy::serialize_response_head(head, body % 2 == 0);
        }
        continue;
      }
      if (out.status == Http1Parser::Status::message_end) {
        parser.resume_next();
        continue;
      }
      if (out.status != Http1Parser::Status::need_more) return;  // error or upgrade
      break;
    }
  }
  (void)parser.finish();
}

}  // namespace

// The snapshot (route table + DLP scanner) is built before the first input, so its
// compile does not count against libFuzzer's per-input timeout.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)snapshot();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t chunk = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  run_parser(Http1Parser::Kind::request, input, chunk, false);
  run_parser(Http1Parser::Kind::request, input, chunk, true);
  run_parser(Http1Parser::Kind::response, input, chunk, false);
  // The same bytes as a WebSocket stream after a 101; the judge refuses messages that
  // start with 'S', so the refusal path runs too.
  proxy::WsMessageGate ws(4096);
  std::string out;
  auto judge = [](const proxy::WsMessage& m) { return m.payload.empty() || m.payload[0] != 'S'; };
  for (size_t off = 0; off < input.size(); off += chunk) {
    if (ws.feed(input.substr(off, chunk), judge, out) != proxy::WsMessageGate::Outcome::ok) break;
    out.clear();
  }
  return 0;
}
