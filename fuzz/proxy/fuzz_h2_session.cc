// Fuzzes the HTTP/2 side of egress with no sockets: the input (after the client preface,
// which is prepended) is fed in chunks to the nghttp2 server session, so every stream
// runs its Exchange through the pipeline, body DLP and the response path. Upstream legs
// are in memory: each answers with a head, a body and trailers taken from the input, so
// response scanning, flow control and trailers run too.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/route_table.h"
#include "proxy/h2_session.h"
#include "fuzz/proxy/fuzz_snapshot.h"
#include "proxy/snapshot.h"

namespace {

using namespace bottle;

std::shared_ptr<const proxy::Snapshot>& snapshot() {
  static std::shared_ptr<const proxy::Snapshot> snap = [] {
    constexpr const char* kRoutes = R"(
routes:
  - host: api.test
    auth: {scheme: Bearer, token_env: EGRESS_TOKEN_0}
    dlp: {max_body_bytes: 4096, inbound: block}
    matches:
      - path: {type: PathPrefix, value: /v1/}
  - host: ws.test
)";
    return fuzz::fuzz_snapshot(kRoutes);
  }();
  return snap;
}

// An upstream that answers as soon as the request is complete.
class MemoryLeg final : public proxy::UpstreamLeg {
 public:
  MemoryLeg(Owner& owner, std::string_view reply) : owner_(owner), reply_(reply) {}
  void start() override { owner_.on_leg_ready(); }
  void send_head(const MessageHead&, const proxy::UpstreamRequestHead& wire) override {
    if (wire.ends_request) answer();
  }
  void send_body(std::string_view) override {}
  void send_end(const std::vector<Header>&) override { answer(); }
  void send_raw(std::string_view) override {}
  size_t queued() const override { return 0; }
  void pause() override { paused_ = true; }
  void resume() override { paused_ = false; }
  bool paused() const override { return paused_; }
  void done() override {}
  void close() override { closed_ = true; }
  bool is_h2() const override { return true; }
  bool response_until_close() const override { return false; }
  proxy::Transport* own_transport() override { return nullptr; }

 private:
  void answer() {
    if (answered_ || closed_) return;
    answered_ = true;
    MessageHead head;
    head.status = reply_.empty() ? 200 : 100 + static_cast<unsigned char>(reply_[0]) % 500;
    head.content_length = reply_.size();
    head.headers.push_back({"content-type", "text/plain"});
    owner_.on_leg_head(std::move(head));
    if (closed_) return;
    owner_.on_leg_body(reply_);
    if (closed_) return;
    owner_.on_leg_end({{"x-trailer", "done"}});
  }
  Owner& owner_;
  std::string reply_;
  bool answered_ = false, closed_ = false, paused_ = false;
};

class MemoryHost final : public proxy::H2Session::Host {
 public:
  explicit MemoryHost(std::string_view reply) : reply_(reply) {}
  void write_client(std::string_view bytes) override { written_ += bytes.size(); }
  size_t client_queued() const override { return 0; }
  proxy::ExchangeContext exchange_context() override {
    proxy::ExchangeContext ctx;
    ctx.current = &snapshot();
    ctx.metrics = &metrics_;
    ctx.request_id = "fuzz";
    ctx.arrival.tunnel = proxy::Authority{"api.test", "api.test", 443, false};
    ctx.arrival.tls = true;
    return ctx;
  }
  std::unique_ptr<proxy::UpstreamLeg> open_leg(const proxy::Verdict&, const MessageHead&,
                                               proxy::UpstreamLeg::Owner& owner,
                                               proxy::Dial) override {
    return std::make_unique<MemoryLeg>(owner, reply_);
  }
  uint64_t now_ms() override { return now_ += 7; }
  void schedule_later() override { later_ = true; }
  void close_client() override { closed_ = true; }

  bool later_ = false;
  bool closed_ = false;

 private:
  std::string reply_;
  proxy::Metrics metrics_;
  size_t written_ = 0;
  uint64_t now_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t chunk = 1 + data[0] % 128;
  const size_t reply_len = data[1] % 64;
  std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::string_view reply = rest.substr(0, std::min(reply_len, rest.size()));
  std::string client = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  client.append(rest.substr(reply.size()));

  proxy::Timeouts timeouts;
  proxy::Metrics metrics;
  MemoryHost host(reply);
  proxy::H2Session session(host, metrics, timeouts);
  session.start();
  for (size_t off = 0; off < client.size() && !host.closed_; off += chunk) {
    session.on_client_data(std::string_view(client).substr(off, chunk));
    if (host.later_) {
      host.later_ = false;
      session.later();
    }
  }
  session.tick();
  session.drain();
  session.later();
  return 0;
}
