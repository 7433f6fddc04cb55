// Fuzzes the MCP endpoint without sockets: bytes → RequestReader (fed in pieces) → every
// complete request → McpServer, with tools that answer at once, stream progress, or wait
// and get cancelled. "@@SID@@" in the input becomes a live session id, so the fuzzer
// reaches past the session check. Any input must end in answers, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "supervise/http_request.h"
#include "supervise/mcp.h"

namespace {

using namespace bottle::supervise;
using nlohmann::json;

class SinkExchange : public Exchange {
 public:
  void reply(int status, std::string_view, std::string_view body,
             std::vector<std::pair<std::string, std::string>> headers) override {
    if (status < 100 || status > 599) __builtin_trap();
    for (const auto& [n, v] : headers) {
      if (n == "Mcp-Session-Id") last_session = v;
    }
    // Every JSON answer must be JSON.
    if (!body.empty() && body[0] == '{' && json::parse(body, nullptr, false).is_discarded()) {
      __builtin_trap();
    }
    open_ = false;
  }
  void start_events(std::vector<std::pair<std::string, std::string>>) override {}
  void event(const json& m) override { (void)m.dump(); }
  void end_events() override { open_ = false; }
  void abort() override { open_ = false; }
  bool open() const override { return open_; }
  void on_close(std::function<void()> fn) override { close_ = std::move(fn); }
  void go_away() {
    open_ = false;
    if (auto fn = std::move(close_)) fn();
  }
  static inline std::string last_session;

 private:
  bool open_ = true;
  std::function<void()> close_;
};

class Tools : public ToolHost {
 public:
  json list() const override {
    return json::array(
        {{{"name", "now"}, {"description", "d"}, {"inputSchema", {{"type", "object"}}}},
         {{"name", "stream"}, {"description", "d"}, {"inputSchema", {{"type", "object"}}}},
         {{"name", "hold"}, {"description", "d"}, {"inputSchema", {{"type", "object"}}}}});
  }
  bool has(std::string_view n) const override { return n == "now" || n == "stream" || n == "hold"; }
  void call(std::string_view n, const json& args, std::shared_ptr<ToolCall> c) override {
    if (n == "now") return c->finish({args.dump(), args.size() % 2 == 1});
    if (n == "stream") {
      c->progress(0, 1, "start");
      c->progress(0.5, std::nullopt, "");
      return c->finish({"done", false});
    }
    held = c;  // finished, cancelled or dropped by the next input
  }
  std::shared_ptr<ToolCall> held;
};

std::string with_session(std::string_view in, const std::string& sid) {
  std::string out;
  const std::string_view marker = "@@SID@@";
  size_t pos = 0;
  while (pos < in.size()) {
    size_t at = in.find(marker, pos);
    if (at == std::string_view::npos) {
      out.append(in.substr(pos));
      break;
    }
    out.append(in.substr(pos, at - pos));
    out += sid;
    pos = at + marker.size();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Tools tools;
  static McpServer server(tools, McpOptions{});
  // A live session for "@@SID@@"; made again when an input ended it (DELETE, eviction).
  static std::string sid;
  auto request = [&](const std::string& body, const std::string& session) {
    HttpRequest r;
    r.method = "POST";
    r.target = "/mcp";
    r.headers = {{"Host", "127.0.0.1"}, {"Content-Type", "application/json"}};
    if (!session.empty()) r.headers.emplace_back("Mcp-Session-Id", session);
    r.body = body;
    return r;
  };
  struct Status : SinkExchange {
    int status = 0;
    void reply(int s, std::string_view ct, std::string_view b,
               std::vector<std::pair<std::string, std::string>> h) override {
      status = s;
      SinkExchange::reply(s, ct, b, std::move(h));
    }
  };
  auto ping = std::make_shared<Status>();
  if (!sid.empty())
    server.handle(request(R"({"jsonrpc":"2.0","id":0,"method":"ping"})", sid), ping);
  if (ping->status != 200) {
    server.handle(
        request(
            R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})",
            ""),
        std::make_shared<SinkExchange>());
    sid = SinkExchange::last_session;
  }
  if (size == 0) return 0;
  const size_t step = 1 + data[0] % 64;  // how the bytes arrive
  const std::string input =
      with_session(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), sid);
  RequestReader reader;
  std::string pending;
  std::vector<std::shared_ptr<SinkExchange>> exchanges;
  for (size_t i = 0; i < input.size(); i += step) {
    pending += input.substr(i, step);
    for (;;) {
      auto o = reader.feed(pending);
      if (o.consumed > pending.size()) __builtin_trap();
      pending.erase(0, o.consumed);
      if (o.state == RequestReader::State::failed) {
        if (reader.error_status() != 400 && reader.error_status() != 413 &&
            reader.error_status() != 431) {
          __builtin_trap();
        }
        return 0;
      }
      if (o.state != RequestReader::State::complete) break;
      auto ex = std::make_shared<SinkExchange>();
      exchanges.push_back(ex);
      server.handle(reader.take(), ex);
    }
  }
  // The client leaves; a held call is cancelled or, by the next input, answered late.
  if (data[0] & 0x80) {
    for (auto& ex : exchanges) ex->go_away();
  }
  if (tools.held && (data[0] & 0x40)) {
    tools.held->progress(1, 2, "late");
    tools.held->finish({"late", true});
    tools.held.reset();
  }
  return 0;
}
