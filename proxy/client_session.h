// One agent connection: plain HTTP proxy requests, or a CONNECT tunnel that we bump
// (TLS with a minted leaf) and then read as HTTP/1.1. Runs each request through
// pipeline.h, then streams it to an UpstreamConn and the response back, with
// backpressure both ways. Deletes itself when its socket is closed.
//
// Lifetimes: the config snapshot is held from a request head to the end of its exchange
// only (an idle keep-alive connection holds none; a WebSocket copies the little policy it
// needs). Every phase has a deadline (limits.h); held bodies draw on the process budget.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/dlp/scanner.h"
#include "proxy/block.h"
#include "proxy/body_inspector.h"
#include "proxy/evidence.h"
#include "common/http/http1_parser.h"
#include "common/loop_timer.h"
#include "proxy/limits.h"
#include "proxy/pipeline.h"
#include "proxy/snapshot.h"
#include "proxy/transport.h"
#include "proxy/upstream.h"
#include "proxy/ws_frames.h"

namespace bottle::proxy {

class Worker;

class ClientSession final : private Transport::Handler, private UpstreamConn::Owner {
 public:
  // Accepts one pending connection from `server`.
  static void accept(Worker& worker, uv_stream_t* server);

 private:
  enum class State {
    head,               // reading a request head
    tunnel_choice,      // CONNECT answered; the first byte tells TLS from plain HTTP
    dialing,            // waiting for the upstream connection
    body,               // streaming (or holding) the request body
    awaiting_response,  // request sent; relaying the response
    discard,            // blocked request: reading its body away, then the next request
    raw,                // WebSocket after 101: bytes both ways, unparsed
    closing,
  };

  explicit ClientSession(Worker& worker);
  ~ClientSession() override = default;

  // Transport::Handler (the client side).
  void on_data(Transport& t, std::string_view data) override;
  void on_eof(Transport& t) override;
  void on_error(Transport& t, std::string_view why) override;
  void on_drained(Transport& t) override;
  void on_closed(Transport& t) override;

  // UpstreamConn::Owner.
  void on_upstream_ready(UpstreamConn& up) override;
  void on_upstream_data(UpstreamConn& up, std::string_view data) override;
  void on_upstream_eof(UpstreamConn& up) override;
  void on_upstream_failed(UpstreamConn& up, UpstreamConn::Failure kind,
                          std::string_view why) override;
  void on_upstream_drained(UpstreamConn& up) override;

  void process_input();
  void on_request_head();
  void on_connect_request();
  void choose_tunnel_protocol(std::string_view first_bytes);
  void on_request_body(std::string_view chunk);
  void on_request_end();
  bool judge_outbound_body(bool readable, std::vector<dlp::Finding>& found);
  void send_request_head();
  void dial();
  bool retry_on_fresh_connection();
  void on_response_body(std::string_view chunk);
  // Response findings: counted, then a cut (returns false, the exchange is aborted)
  // or a one-time warning.
  bool judge_inbound(bool readable, std::vector<dlp::Finding>& found, std::string_view cut);
  // End of a response body (every path to finish_exchange passes here): the inbound
  // scanner's last findings, then the held bytes. Returns false when they cut the stream.
  bool release_response_tail();
  void finish_exchange();
  void start_ws_inspection();
  // Passes the complete, allowed messages of `bytes` to `out`; false when it cut the
  // connection.
  bool gate_ws(WsMessageGate& gate, std::string_view bytes, dlp::Direction dir, std::string& out);
  void relay_ws_to_upstream(std::string_view data);
  void relay_ws_to_client(std::string_view data);
  void reset_exchange();

  void block(BlockReason reason, int status, std::string_view detail, bool close,
             const std::vector<dlp::Finding>& findings = {});
  void respond_error(int status, std::string_view reason_text, std::string_view detail);
  // 503: the process-wide body budget is spent. Nothing of the body was forwarded.
  void respond_busy();
  void abort_all();
  void update_client_reading();
  ExchangeFacts facts() const;
  config::LogLevel log_level() const;

  // Deadlines (SPEC §4.2.11). arm_deadline() starts the current state's phase; activity
  // that extends a phase only stamps a time, and on_deadline re-arms for what is left.
  void arm_deadline();
  void touch();
  uint64_t phase_limit_ms() const;
  uint64_t phase_check_ms() const;
  void on_deadline();

  Worker& worker_;
  Transport client_;
  LoopTimer deadline_;
  uint64_t phase_started_ = 0;  // uv_now at arm_deadline
  uint64_t last_activity_ = 0;  // uv_now of the last byte that counts for the phase
  State state_ = State::head;
  std::string inbuf_;  // client plaintext not yet parsed
  std::unique_ptr<Http1Parser> req_parser_;
  Arrival arrival_;

  // The exchange in flight.
  std::shared_ptr<const Snapshot> snap_;  // pinned for the whole exchange
  MessageHead req_;
  Verdict verdict_;
  std::string request_id_;
  UpstreamConn* up_ = nullptr;
  std::unique_ptr<Http1Parser> resp_parser_;
  MessageHead resp_;
  std::unique_ptr<BodyInspector> out_scan_;
  std::unique_ptr<BodyInspector> in_scan_;
  // WebSocket after a 101: message gates, and the route's policy copied so that the
  // snapshot can go (new messages are scanned with the current config's scanner).
  std::unique_ptr<WsMessageGate> ws_out_;
  std::unique_ptr<WsMessageGate> ws_in_;
  config::DlpPolicy ws_dlp_;  // the route's, copied: modes and detector actions
  std::string ws_rule_;
  BufferLease ws_lease_;
  bool hold_body_ = false;
  BufferLease body_lease_;  // bytes of held_ (or declared) drawn from the process budget
  std::vector<std::string> held_;
  uint64_t body_bytes_ = 0;
  bool request_sent_ = false;     // head and complete body are with the upstream
  bool reused_upstream_ = false;  // taken from the pool (may be stale)
  bool retrying_ = false;         // redialing for a bodyless request already read
  bool response_head_sent_ = false;
  bool close_after_ = false;
  bool warned_inbound_ = false;
  // The last bytes of a sized response body, held until the scanner has seen the end (a
  // phrase completed by the final byte is only confirmed then), so a block can still cut.
  static constexpr size_t kResponseHold = 64;
  uint64_t resp_body_bytes_ = 0;
  std::string resp_tail_;
  uint64_t bytes_up_ = 0;
  uint64_t bytes_down_ = 0;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace bottle::proxy
