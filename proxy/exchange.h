// One request and its response, whatever protocol carried them: the policy stages of
// pipeline.h in order, then the body stages (outbound DLP, holding, injection on the way
// out, inbound DLP and the held tail on the way back), the WebSocket message gates, the
// evidence and the metrics. No sockets and no framing: a protocol adapter (the HTTP/1.1
// connection in client_session.*, an HTTP/2 stream in h2_session.*) feeds it parsed heads
// and body bytes, and it answers through ExchangeIo, which the adapter frames for its
// wire. A new request gets a new Exchange; nothing is reset by hand.
//
//   request_head   stages 1-6 (pipeline.h), body policy      → refused, or the adapter dials
//   upstream_ready the head goes out unless the body is held
//   request_body   outbound scan; held up to max_body_bytes  → dlp_outbound / body_too_large / 503
//   request_end    last findings; a held body is released with its head
//   response_head  1xx passes, 101 opens the WebSocket gates, a final head starts the scan
//   response_body  inbound scan; a sized body's last bytes wait for the end → cut
//   response_end   the scanner's last word, then the held tail
//   finish         egress_response, latency and byte metrics; the snapshot is released
//
// Callbacks into ExchangeIo happen only from inside these calls. After client_refusal or
// client_cut the exchange is over: every later call is ignored.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/dlp/scanner.h"
#include "common/http/http1_parser.h"
#include "proxy/block.h"
#include "proxy/body_inspector.h"
#include "proxy/evidence.h"
#include "proxy/http1_wire.h"
#include "proxy/limits.h"
#include "proxy/metrics.h"
#include "proxy/pipeline.h"
#include "proxy/snapshot.h"
#include "proxy/ws_frames.h"

namespace bottle::proxy {

// Where an exchange's output goes; the protocol adapter frames it for its wire.
class ExchangeIo {
 public:
  virtual ~ExchangeIo() = default;
  // Toward the upstream. `head` still holds what the agent sent; `wire` says what to send
  // instead (target, Host, the injected credential, the Accept-Encoding the scanner reads).
  virtual void upstream_head(const MessageHead& head, const UpstreamRequestHead& wire) = 0;
  virtual void upstream_body(std::string_view bytes) = 0;
  virtual void upstream_end(const std::vector<Header>& trailers) = 0;
  // Toward the client. A 1xx head may come before the final one.
  virtual void client_head(const MessageHead& head) = 0;
  virtual void client_body(std::string_view bytes) = 0;
  virtual void client_end(const std::vector<Header>& trailers) = 0;
  // The exchange ends with an answer of the proxy's own (block, 502, 503, ...): nothing of
  // the upstream's response went to the client yet.
  virtual void client_refusal(const LocalResponse& answer) = 0;
  // The exchange ends after the response head went out: cut the stream (h1: the
  // connection) so the client cannot take a truncated body for a whole one.
  virtual void client_cut() = 0;
};

struct ExchangeContext {
  // The worker's current config (the exchange pins what it holds at construction; a
  // WebSocket scans later messages with the then-current one).
  const std::shared_ptr<const Snapshot>* current = nullptr;
  Metrics* metrics = nullptr;
  BufferBudget* budget = nullptr;  // may be null: no cap
  std::string request_id;
  Arrival arrival;
};

class Exchange {
 public:
  Exchange(ExchangeContext ctx, ExchangeIo& io);
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // CONNECT host:port outside a tunnel. True: the tunnel may open (verdict().target).
  bool connect(const MessageHead& head);
  // Stages 1-6 and the body policy. True: dial verdict().target. False: refused.
  bool request_head(MessageHead head);
  // The upstream connection (or stream) can take the request.
  void upstream_ready();
  // Body bytes (unframed). False once the exchange is over.
  bool request_body(std::string_view chunk);
  bool request_end(const std::vector<Header>& trailers = {});
  // The upstream's response. False once the exchange is over.
  bool response_head(MessageHead head);
  bool response_body(std::string_view chunk);
  bool response_end(const std::vector<Header>& trailers = {});
  // Logs and counts a completed exchange; releases the snapshot.
  void finish();

  // WebSocket (after a 101, or an RFC 8441 stream): complete, allowed messages of
  // `bytes` are appended to `out`. False when the connection (stream) must be cut; the
  // exchange already logged and counted why, and called client_cut.
  bool ws_to_upstream(std::string_view bytes, std::string& out);
  bool ws_to_client(std::string_view bytes, std::string& out);

  // Endings the adapter decides (each answers through client_refusal, or client_cut
  // when the response already started).
  void block(BlockReason reason, int status, std::string_view detail, bool close,
             const std::vector<dlp::Finding>& findings = {});
  void upstream_error(int status, std::string_view detail);  // 502 / 504, logged
  void request_timeout();                                     // 408: the body stalled
  void busy();                                                // 503: the body budget is spent
  // Drops the hold and its budget share (the adapter aborted the exchange).
  void abandon();

  const Verdict& verdict() const { return verdict_; }
  const MessageHead& request() const { return req_; }
  const MessageHead& response() const { return resp_; }
  bool response_started() const { return response_head_sent_; }
  bool request_sent() const { return request_sent_; }
  bool over() const { return over_; }
  bool websocket_open() const { return ws_open_; }
  // Whether the request may be sent again, whole, on a new upstream connection after its
  // pooled one died before any response byte: only a bodyless request of an idempotent
  // method (RFC 9110 §9.2.2), not a WebSocket, and nothing answered yet. Whether the dead
  // connection's server acted on a POST cannot be known, so that gets a 502 instead.
  bool may_resend() const;
  const std::string& request_id() const { return ctx_.request_id; }
  // Evidence: why the exchange was refused or cut, and every finding it produced.
  std::optional<BlockReason> blocked() const { return blocked_; }
  const std::vector<dlp::Finding>& findings() const { return findings_; }
  config::LogLevel log_level() const;
  ExchangeFacts facts() const;

 private:
  Metrics& metrics() { return *ctx_.metrics; }
  const Snapshot& current() const { return **ctx_.current; }
  bool judge_outbound_body(bool readable, std::vector<dlp::Finding>& found);
  bool judge_inbound(bool readable, std::vector<dlp::Finding>& found, std::string_view cut);
  bool release_response_tail();
  void send_head(bool ends_request = false);
  void release_held(bool ended);
  bool gate_ws(WsMessageGate& gate, std::string_view bytes, dlp::Direction dir, std::string& out);
  void start_ws_inspection();
  void refuse(const LocalResponse& answer);
  void cut();
  void note(const std::vector<dlp::Finding>& found);

  ExchangeContext ctx_;
  ExchangeIo& io_;
  std::shared_ptr<const Snapshot> snap_;  // pinned from the head to the end
  MessageHead req_;
  Verdict verdict_;
  MessageHead resp_;
  std::chrono::steady_clock::time_point started_;
  bool over_ = false;
  std::optional<BlockReason> blocked_;
  std::vector<dlp::Finding> findings_;

  // Request body.
  std::unique_ptr<BodyInspector> out_scan_;
  bool hold_body_ = false;
  BufferLease body_lease_;  // bytes of held_ (or declared) drawn from the process budget
  std::vector<std::string> held_;
  std::string early_;  // streamed body bytes that came before the upstream was ready
  uint64_t body_bytes_ = 0;
  bool upstream_ready_ = false;
  bool head_sent_ = false;
  bool request_ended_ = false;
  bool request_sent_ = false;  // head and complete body are with the upstream
  std::vector<Header> trailers_;

  // Response.
  std::unique_ptr<BodyInspector> in_scan_;
  bool response_head_sent_ = false;
  bool warned_inbound_ = false;
  // Response bytes held back under `inbound: block` until kResponseHold bytes of the text
  // after them are scanned (more than twice the longest injection signal, the scanner's
  // lookahead), or the scanner has seen the end (a phrase completed by the final byte is
  // only confirmed then), so a block can still cut. Counted in decoded text: a compressed
  // piece leaves whole once enough text decoded after it, so padding that decodes to
  // nothing (empty deflate blocks, brotli metadata) cannot push an unconfirmed phrase out.
  struct HeldResponse {
    std::string bytes;
    uint64_t scanned_to;  // text the scanner had once these bytes were fed
  };
  static constexpr size_t kResponseHold = 4096;
  static constexpr size_t kMaxResponseHeld = size_t{1} << 20;  // compressed bytes without text
  std::deque<HeldResponse> resp_held_;
  size_t resp_held_bytes_ = 0;
  uint64_t bytes_up_ = 0;
  uint64_t bytes_down_ = 0;

  // WebSocket: message gates, and the route's policy copied so that the snapshot can go
  // (new messages are scanned with the current config's scanner).
  bool ws_open_ = false;
  std::unique_ptr<WsMessageGate> ws_out_;
  std::unique_ptr<WsMessageGate> ws_in_;
  config::DlpPolicy ws_dlp_;  // the route's, copied: modes and detector actions
  std::string ws_rule_;
  BufferLease ws_lease_;
};

}  // namespace bottle::proxy
