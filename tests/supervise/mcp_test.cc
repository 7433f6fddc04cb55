// McpServer without sockets: the JSON-RPC and Streamable HTTP rules, table-like. The
// wire (real sockets, real clients) is covered by server_test and sdk_test.
#include "supervise/mcp.h"

#include <gtest/gtest.h>

namespace bottle::supervise {
namespace {

using nlohmann::json;

// Records what McpServer writes.
class RecordingExchange : public Exchange {
 public:
  int status = 0;
  std::string content_type, body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<json> events;
  bool streaming = false, ended = false, aborted = false;
  bool is_open = true;
  std::function<void()> close_fn;

  void reply(int s, std::string_view ct, std::string_view b,
             std::vector<std::pair<std::string, std::string>> h) override {
    status = s;
    content_type = ct;
    body = b;
    headers = std::move(h);
  }
  void start_events(std::vector<std::pair<std::string, std::string>>) override {
    streaming = true;
    status = 200;
  }
  void event(const json& m) override { events.push_back(m); }
  void end_events() override { ended = true; }
  void abort() override {
    aborted = true;
    is_open = false;
  }
  bool open() const override { return is_open; }
  void on_close(std::function<void()> fn) override { close_fn = std::move(fn); }

  json json_body() const { return json::parse(body); }
  std::string header(const std::string& name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "";
  }
  void client_goes_away() {
    is_open = false;
    if (close_fn) close_fn();
  }
};

// "echo" answers at once; "wait" keeps the call until the test finishes it.
class FakeTools : public ToolHost {
 public:
  std::shared_ptr<ToolCall> waiting;
  json last_args;
  bool cancelled = false;

  json list() const override {
    return json::array(
        {{{"name", "echo"}, {"description", "d"}, {"inputSchema", {{"type", "object"}}}},
         {{"name", "wait"}, {"description", "d"}, {"inputSchema", {{"type", "object"}}}}});
  }
  bool has(std::string_view n) const override { return n == "echo" || n == "wait"; }
  void call(std::string_view n, const json& args, std::shared_ptr<ToolCall> c) override {
    last_args = args;
    if (n == "echo") return c->finish({args.dump(), false});
    waiting = c;
    c->on_cancel([this] { cancelled = true; });
  }
};

class Mcp : public ::testing::Test {
 protected:
  HttpRequest post(const json& body, const std::string& session = "",
                   std::vector<std::pair<std::string, std::string>> extra = {}) const {
    HttpRequest r;
    r.method = "POST";
    r.target = "/mcp";
    r.headers = {{"Host", "127.0.0.1:9100"},
                 {"Content-Type", "application/json"},
                 {"Accept", "application/json, text/event-stream"}};
    if (!session.empty()) r.headers.emplace_back("Mcp-Session-Id", session);
    for (auto& h : extra) r.headers.push_back(std::move(h));
    r.body = body.is_string() ? body.get<std::string>() : body.dump();
    return r;
  }
  std::shared_ptr<RecordingExchange> send(const HttpRequest& r) {
    auto ex = std::make_shared<RecordingExchange>();
    server_.handle(r, ex);
    return ex;
  }
  std::string initialize(const std::string& version = "2025-11-25") {
    auto ex = send(post({{"jsonrpc", "2.0"},
                         {"id", 1},
                         {"method", "initialize"},
                         {"params",
                          {{"protocolVersion", version},
                           {"capabilities", json::object()},
                           {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}}));
    EXPECT_EQ(ex->status, 200) << ex->body;
    return ex->header("Mcp-Session-Id");
  }
  static json call(const std::string&, const json& id, const std::string& tool, json extra = {}) {
    json params{{"name", tool}, {"arguments", {{"x", 1}}}};
    for (auto& [k, v] : extra.items()) params[k] = v;
    return {{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"}, {"params", params}};
  }

  FakeTools tools_;
  McpServer server_{tools_, McpOptions{}};
};

TEST_F(Mcp, InitializeNegotiatesCurrentOrPreviousVersionAndMintsASession) {
  for (auto [asked, answered] :
       std::vector<std::pair<std::string, std::string>>{{"2025-11-25", "2025-11-25"},
                                                        {"2025-06-18", "2025-06-18"},
                                                        {"2025-03-26", "2025-11-25"},
                                                        {"1999-01-01", "2025-11-25"}}) {
    auto ex = send(post({{"jsonrpc", "2.0"},
                         {"id", "init"},
                         {"method", "initialize"},
                         {"params", {{"protocolVersion", asked}}}}));
    ASSERT_EQ(ex->status, 200);
    json j = ex->json_body();
    EXPECT_EQ(j["id"], "init");
    EXPECT_EQ(j["result"]["protocolVersion"], answered) << asked;
    EXPECT_EQ(j["result"]["serverInfo"]["name"], "bottle-supervise");
    EXPECT_EQ(j["result"]["capabilities"]["tools"]["listChanged"], false);
    EXPECT_EQ(ex->header("Mcp-Session-Id").size(), 32u);
  }
  EXPECT_EQ(server_.session_count(), 4u);
}

TEST_F(Mcp, InitializeWithoutAVersionIsInvalidParams) {
  auto ex = send(
      post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"}, {"params", json::object()}}));
  EXPECT_EQ(ex->json_body()["error"]["code"], kInvalidParams);
  EXPECT_EQ(server_.session_count(), 0u);
}

TEST_F(Mcp, RequestsNeedAKnownSession) {
  json ping{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "ping"}};
  auto none = send(post(ping));
  EXPECT_EQ(none->status, 400);
  EXPECT_EQ(none->json_body()["error"]["code"], kSessionRequired);
  EXPECT_EQ(none->json_body()["id"], 2);
  auto unknown = send(post(ping, "0123456789abcdef0123456789abcdef"));
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(unknown->json_body()["error"]["code"], kSessionNotFound);
  auto ok = send(post(ping, initialize()));
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->json_body()["result"], json::object());
}

TEST_F(Mcp, BadJsonBatchesAndNonRpcAreRefusedWithTheRightCodes) {
  const std::string sid = initialize();
  struct Case {
    json body;
    int status;
    int code;
  };
  for (const auto& c : std::vector<Case>{
           {json("{\"jsonrpc\":"), 400, kParseError},
           {json(""), 400, kParseError},
           {json::array({{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}}), 400,
            kInvalidRequest},
           {json{{"jsonrpc", "1.0"}, {"id", 1}, {"method", "ping"}}, 400, kInvalidRequest},
           {json{{"jsonrpc", "2.0"}, {"id", 1.5}, {"method", "ping"}}, 400, kInvalidRequest},
           {json{{"jsonrpc", "2.0"}, {"id", nullptr}, {"method", "ping"}}, 400, kInvalidRequest},
           {json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", 7}}, 400, kInvalidRequest},
           {json{{"jsonrpc", "2.0"}}, 400, kInvalidRequest},
           {json(42), 400, kInvalidRequest}}) {
    auto ex = send(post(c.body, sid));
    EXPECT_EQ(ex->status, c.status) << c.body.dump();
    EXPECT_EQ(ex->json_body()["error"]["code"], c.code) << c.body.dump();
  }
}

TEST_F(Mcp, UnknownMethodsAndToolsAreJsonRpcErrors) {
  const std::string sid = initialize();
  auto m = send(post({{"jsonrpc", "2.0"}, {"id", 3}, {"method", "resources/list"}}, sid));
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(m->json_body()["error"]["code"], kMethodNotFound);
  auto t = send(post(call(sid, 4, "no-such-tool"), sid));
  EXPECT_EQ(t->json_body()["error"]["code"], kInvalidParams);
  EXPECT_EQ(t->json_body()["error"]["message"],
            "Unknown tool: no-such-tool (tools/list shows the tools)");
  auto args = send(post({{"jsonrpc", "2.0"},
                         {"id", 5},
                         {"method", "tools/call"},
                         {"params", {{"name", "echo"}, {"arguments", json::array()}}}},
                        sid));
  EXPECT_EQ(args->json_body()["error"]["code"], kInvalidParams);
  auto noname = send(post({{"jsonrpc", "2.0"}, {"id", 6}, {"method", "tools/call"}}, sid));
  EXPECT_EQ(noname->json_body()["error"]["code"], kInvalidParams);
}

TEST_F(Mcp, NotificationsAndResponsesGet202WithoutABody) {
  const std::string sid = initialize();
  auto n = send(post({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, sid));
  EXPECT_EQ(n->status, 202);
  EXPECT_TRUE(n->body.empty());
  auto r = send(post({{"jsonrpc", "2.0"}, {"id", 9}, {"result", json::object()}}, sid));
  EXPECT_EQ(r->status, 202);
}

TEST_F(Mcp, ToolsListAndAnImmediateCallAnswerAsJson) {
  const std::string sid = initialize();
  auto list = send(post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/list"}}, sid));
  EXPECT_EQ(list->json_body()["result"]["tools"].size(), 2u);
  auto c = send(post(call(sid, "c1", "echo"), sid));
  EXPECT_EQ(c->status, 200);
  EXPECT_EQ(c->content_type, "application/json");
  json result = c->json_body()["result"];
  EXPECT_EQ(result["isError"], false);
  EXPECT_EQ(result["content"][0]["type"], "text");
  EXPECT_EQ(result["content"][0]["text"], "{\"x\":1}");
}

TEST_F(Mcp, ProgressTurnsAWaitingCallIntoAnEventStream) {
  const std::string sid = initialize();
  auto ex = send(post(call(sid, 7, "wait", {{"_meta", {{"progressToken", "tok"}}}}), sid));
  ASSERT_TRUE(tools_.waiting);
  EXPECT_EQ(ex->status, 0) << "nothing written before progress";
  tools_.waiting->progress(0, 10, "waiting");
  tools_.waiting->progress(0, 10, "not growing: dropped");
  tools_.waiting->progress(2.5, 10, "");
  tools_.waiting->finish({"done", true});
  tools_.waiting->finish({"twice", false});
  ASSERT_TRUE(ex->streaming);
  ASSERT_EQ(ex->events.size(), 3u);
  EXPECT_EQ(ex->events[0]["method"], "notifications/progress");
  EXPECT_EQ(ex->events[0]["params"]["progressToken"], "tok");
  EXPECT_EQ(ex->events[0]["params"]["total"], 10);
  EXPECT_EQ(ex->events[1]["params"]["progress"], 2.5);
  EXPECT_FALSE(ex->events[1]["params"].contains("message"));
  EXPECT_EQ(ex->events[2]["id"], 7);
  EXPECT_EQ(ex->events[2]["result"]["isError"], true);
  EXPECT_TRUE(ex->ended);
}

TEST_F(Mcp, WithoutTokenOrEventStreamAcceptTheWaitEndsInOneJsonAnswer) {
  const std::string sid = initialize();
  auto no_token = send(post(call(sid, 1, "wait"), sid));
  tools_.waiting->progress(1, std::nullopt, "dropped");
  tools_.waiting->finish({"ok", false});
  EXPECT_FALSE(no_token->streaming);
  EXPECT_EQ(no_token->json_body()["result"]["content"][0]["text"], "ok");
  auto json_only = post(call(sid, 2, "wait", {{"_meta", {{"progressToken", 5}}}}), sid);
  json_only.headers[2].second = "application/json";
  auto ex = send(json_only);
  tools_.waiting->progress(1, std::nullopt, "dropped");
  tools_.waiting->finish({"ok", false});
  EXPECT_FALSE(ex->streaming);
  EXPECT_EQ(ex->json_body()["id"], 2);
}

TEST_F(Mcp, ClientGoingAwayCancelsTheCall) {
  const std::string sid = initialize();
  auto ex = send(post(call(sid, 1, "wait"), sid));
  ex->client_goes_away();
  EXPECT_TRUE(tools_.cancelled);
  EXPECT_TRUE(tools_.waiting->cancelled());
  tools_.waiting->finish({"late", false});
  EXPECT_EQ(ex->status, 0);
}

TEST_F(Mcp, CancelledNotificationEndsTheCallWithoutAResponse) {
  const std::string sid = initialize();
  auto ex = send(post(call(sid, "r1", "wait"), sid));
  auto n = send(post({{"jsonrpc", "2.0"},
                      {"method", "notifications/cancelled"},
                      {"params", {{"requestId", "r1"}, {"reason", "user"}}}},
                     sid));
  EXPECT_EQ(n->status, 202);
  EXPECT_TRUE(tools_.cancelled);
  EXPECT_TRUE(ex->aborted);
  EXPECT_TRUE(ex->body.empty());
}

TEST_F(Mcp, ARequestIdInUseIsRefusedWhileItsCallWaits) {
  const std::string sid = initialize();
  auto first = send(post(call(sid, 5, "wait"), sid));
  auto again = send(post(call(sid, 5, "echo"), sid));
  EXPECT_EQ(again->json_body()["error"]["code"], kInvalidParams);
  tools_.waiting->finish({"ok", false});
  auto after = send(post(call(sid, 5, "echo"), sid));
  EXPECT_TRUE(after->json_body().contains("result"));
}

TEST_F(Mcp, DeleteEndsTheSessionAndCancelsItsCalls) {
  const std::string sid = initialize();
  auto ex = send(post(call(sid, 1, "wait"), sid));
  HttpRequest del = post(json(""), sid);
  del.method = "DELETE";
  EXPECT_EQ(send(del)->status, 200);
  EXPECT_TRUE(tools_.cancelled);
  EXPECT_EQ(send(post({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "ping"}}, sid))->status, 404);
  EXPECT_EQ(send(del)->status, 404);
}

TEST_F(Mcp, HostAndOriginMustBeLoopbackNames) {
  json init{{"jsonrpc", "2.0"},
            {"id", 1},
            {"method", "initialize"},
            {"params", {{"protocolVersion", "2025-11-25"}}}};
  struct Case {
    std::string host, origin;
    int status;
  };
  for (const auto& c : std::vector<Case>{{"127.0.0.1:9100", "", 200},
                                         {"localhost", "http://localhost:3000", 200},
                                         {"[::1]:9100", "", 200},
                                         {"evil.example.com", "", 403},
                                         {"127.0.0.1:9100", "http://evil.example.com", 403},
                                         {"127.0.0.1:9100", "null", 403},
                                         {"127.0.0.1.evil.com", "", 403},
                                         {"[::1", "", 403}}) {
    HttpRequest r = post(init);
    r.headers[0].second = c.host;
    if (!c.origin.empty()) r.headers.emplace_back("Origin", c.origin);
    EXPECT_EQ(send(r)->status, c.status) << c.host << " " << c.origin;
  }
  HttpRequest no_host = post(init);
  no_host.headers.erase(no_host.headers.begin());
  EXPECT_EQ(send(no_host)->status, 403);
}

TEST_F(Mcp, ExtraAllowedHostsAreAccepted) {
  McpOptions o;
  o.allowed_hosts.push_back("Supervise");
  McpServer s(tools_, o);
  HttpRequest r = post({{"jsonrpc", "2.0"},
                        {"id", 1},
                        {"method", "initialize"},
                        {"params", {{"protocolVersion", "2025-11-25"}}}});
  r.headers[0].second = "supervise:9100";
  auto ex = std::make_shared<RecordingExchange>();
  s.handle(r, ex);
  EXPECT_EQ(ex->status, 200);
}

TEST_F(Mcp, HttpShapeErrors) {
  const std::string sid = initialize();
  json ping{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}};
  HttpRequest get = post(ping, sid);
  get.method = "GET";
  auto g = send(get);
  EXPECT_EQ(g->status, 405);
  EXPECT_EQ(g->header("Allow"), "POST, DELETE");
  HttpRequest path = post(ping, sid);
  path.target = "/other";
  EXPECT_EQ(send(path)->status, 404);
  HttpRequest root = post(ping, sid);
  root.target = "/?x=1";
  EXPECT_EQ(send(root)->status, 200);
  HttpRequest ct = post(ping, sid);
  ct.headers[1].second = "text/plain";
  EXPECT_EQ(send(ct)->status, 415);
  HttpRequest ct_params = post(ping, sid);
  ct_params.headers[1].second = "application/json; charset=utf-8";
  EXPECT_EQ(send(ct_params)->status, 200);
  HttpRequest accept = post(ping, sid);
  accept.headers[2].second = "text/html";
  EXPECT_EQ(send(accept)->status, 406);
  auto version = send(post(ping, sid, {{"MCP-Protocol-Version", "2024-11-05"}}));
  EXPECT_EQ(version->status, 400);
  for (const char* v : {"2025-11-25", "2025-06-18", "2025-03-26"}) {
    EXPECT_EQ(send(post(ping, sid, {{"MCP-Protocol-Version", v}}))->status, 200) << v;
  }
}

TEST_F(Mcp, SessionsAreCappedAndTheLeastRecentlyUsedIdleOneGoes) {
  McpOptions o;
  o.max_sessions = 2;
  McpServer s(tools_, o);
  auto init = [&] {
    auto ex = std::make_shared<RecordingExchange>();
    s.handle(post({{"jsonrpc", "2.0"},
                   {"id", 1},
                   {"method", "initialize"},
                   {"params", {{"protocolVersion", "2025-11-25"}}}}),
             ex);
    return ex->header("Mcp-Session-Id");
  };
  auto ping = [&](const std::string& sid) {
    auto ex = std::make_shared<RecordingExchange>();
    s.handle(post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}}, sid), ex);
    return ex->status;
  };
  std::string a = init(), b = init();
  EXPECT_EQ(ping(a), 200);  // b is now the least recently used
  std::string c = init();
  EXPECT_EQ(s.session_count(), 2u);
  EXPECT_EQ(ping(b), 404);
  EXPECT_EQ(ping(a), 200);
  EXPECT_EQ(ping(c), 200);
}

TEST_F(Mcp, AToolThatDropsItsCallStillAnswers500) {
  class Dropper : public ToolHost {
   public:
    json list() const override { return json::array(); }
    bool has(std::string_view) const override { return true; }
    void call(std::string_view, const json&, std::shared_ptr<ToolCall>) override {}
  } dropper;
  McpServer s(dropper, McpOptions{});
  auto init = std::make_shared<RecordingExchange>();
  s.handle(post({{"jsonrpc", "2.0"},
                 {"id", 1},
                 {"method", "initialize"},
                 {"params", {{"protocolVersion", "2025-11-25"}}}}),
           init);
  const std::string sid = init->header("Mcp-Session-Id");
  auto ex = std::make_shared<RecordingExchange>();
  s.handle(post(call(sid, 1, "x"), sid), ex);
  EXPECT_EQ(ex->status, 500);
  EXPECT_EQ(ex->json_body()["error"]["code"], kInternalError);
}

}  // namespace
}  // namespace bottle::supervise
