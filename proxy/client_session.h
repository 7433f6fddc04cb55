// One agent connection: plain HTTP proxy requests, or a CONNECT tunnel that we bump
// (TLS with a minted leaf) and then read as HTTP/1.1. The HTTP/1.1 adapter of an
// Exchange (exchange.h): parses requests (llhttp), opens an UpstreamLeg (upstream_leg.h)
// per exchange, frames what the exchange lets through for the client, and keeps
// backpressure both ways. Deletes itself when its socket is closed.
//
// Lifetimes: the config snapshot is held from a request head to the end of its exchange
// only (an idle keep-alive connection holds none; a WebSocket copies the little policy it
// needs). Every phase has a deadline (limits.h); held bodies draw on the process budget.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http/http1_parser.h"
#include "common/loop_timer.h"
#include "proxy/exchange.h"
#include "proxy/h2_session.h"
#include "proxy/pipeline.h"
#include "proxy/transport.h"
#include "proxy/upstream_leg.h"

namespace bottle::proxy {

class Worker;

class ClientSession final : private Transport::Handler,
                            private UpstreamLeg::Owner,
                            private ExchangeIo,
                            private H2Session::Host {
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
    raw,                // WebSocket after 101: bytes both ways, through the message gates
    h2,                 // the bump negotiated h2: the HTTP/2 session has the connection
    closing,
  };

  explicit ClientSession(Worker& worker);
  ~ClientSession() override;

  // Transport::Handler (the client side).
  void on_data(Transport& t, std::string_view data) override;
  void on_eof(Transport& t) override;
  void on_error(Transport& t, std::string_view why) override;
  void on_ready(Transport& t) override;
  void on_drained(Transport& t) override;
  void on_closed(Transport& t) override;

  // UpstreamLeg::Owner: the exchange's upstream side.
  void on_leg_ready() override;
  void on_leg_head(MessageHead head) override;
  void on_leg_body(std::string_view bytes) override;
  void on_leg_end(const std::vector<Header>& trailers) override;
  void on_leg_failed(UpstreamConn::Failure kind, std::string_view why, bool stale) override;
  void on_leg_drained() override;
  void on_leg_read_begin() override { client_.cork(); }
  void on_leg_read_end() override { client_.uncork(); }

  // ExchangeIo: the exchange's output in HTTP/1.1 framing.
  void upstream_head(const MessageHead& head, const UpstreamRequestHead& wire) override;
  void upstream_body(std::string_view bytes) override;
  void upstream_end(const std::vector<Header>& trailers) override;
  void client_head(const MessageHead& head) override;
  void client_body(std::string_view bytes) override;
  void client_end(const std::vector<Header>& trailers) override;
  void client_refusal(const LocalResponse& answer) override;
  void client_cut() override;

  // H2Session::Host.
  void write_client(std::string_view bytes) override { client_.write(bytes); }
  size_t client_queued() const override { return client_.queued(); }
  ExchangeContext exchange_context() override;
  std::unique_ptr<UpstreamLeg> open_leg(const Verdict& v, const MessageHead& request,
                                        UpstreamLeg::Owner& owner, Dial dial) override;
  uint64_t now_ms() override;
  void schedule_later() override { later_.arm(0); }
  void close_client() override;

 public:
  // SIGTERM: an idle connection closes now; one with an exchange in flight closes after
  // it (h1), or gets GOAWAY and closes after its streams (h2).
  void drain();

 private:
  void process_input();
  Exchange& new_exchange();
  void on_request_head();
  void on_connect_request(const MessageHead& head);
  void choose_tunnel_protocol(std::string_view first_bytes);
  void on_request_body(std::string_view chunk);
  void on_request_end();
  void dial(Dial how);
  bool retry_on_fresh_connection(bool stale);
  void finish_exchange();
  void relay_ws_to_upstream(std::string_view data);
  void relay_ws_to_client(std::string_view data);
  // Closes the exchange's leg. A leg is never destroyed inside one of its own callbacks:
  // it waits in spent_legs_ for the next loop turn.
  void close_upstream();
  void retire_leg();
  void abort_all();
  void update_client_reading();
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
  // The bumped TLS chose h2: the connection belongs to the HTTP/2 session from then on.
  std::unique_ptr<H2Session> h2_;
  LoopTimer later_;  // H2Session::later() and freeing spent legs, on the next loop turn
  bool draining_ = false;

  // The exchange in flight (its request, verdict, scans and evidence), its upstream leg,
  // and the connection-level facts of relaying it.
  std::optional<Exchange> ex_;
  std::unique_ptr<UpstreamLeg> leg_;
  std::vector<std::unique_ptr<UpstreamLeg>> spent_legs_;
  bool retrying_ = false;  // redialing for a bodyless request already read
  bool close_after_ = false;
};

}  // namespace bottle::proxy
