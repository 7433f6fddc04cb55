// bottle-supervise as a process, through its real interfaces: HTTP on a loopback port
// (curl, raw sockets), the proposal queue directory, and `bottle proposals` answering.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "common/files.h"
#include "tests/supervise/harness.h"

namespace bottle::supervise::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class SuperviseServer : public ::testing::Test {
 protected:
  void SetUp() override {
    if (orchestrator::find_helper_binary("curl").empty()) BOTTLE_SKIP() << "curl is needed";
  }
  // A supervise whose routes file and init socket exist on paper only: enough for
  // proposals that are rejected, never for an approval (server_apply_test covers that).
  std::unique_ptr<Supervise> start(double answer_timeout = 30) {
    SuperviseOptions o;
    o.queue = home_.queue();
    o.routes = home_.routes();
    o.init_ctl = home_.state() + "/no-init.sock";
    o.bottle = home_.slug();
    o.answer_timeout = answer_timeout;
    auto s = std::make_unique<Supervise>(o);
    EXPECT_TRUE(s->ok()) << s->log();
    return s;
  }
  std::string out(const std::string& name) const { return work_.path() + "/" + name; }
  json reply_in(const std::string& file) const {
    return rpc_message(parse_curl_output(read_file(file)).body);
  }

  BottleHome home_;
  ScratchDir work_;
};

TEST_F(SuperviseServer, InitializeListAndPingOverRealHttp) {
  auto s = start();
  auto r = curl_post(
      s->url(),
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"8"}}})");
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(r.headers["content-type"], "application/json");
  ASSERT_EQ(r.headers["mcp-session-id"].size(), 32u);
  EXPECT_EQ(json::parse(r.body)["result"]["protocolVersion"], "2025-06-18");
  McpSession m(s->url());
  ASSERT_TRUE(m.ok());
  auto list = rpc_message(
      curl_post(s->url(), R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})", m.headers()).body);
  std::vector<std::string> names;
  for (const auto& t : list["result"]["tools"]) {
    names.push_back(t["name"]);
    EXPECT_FALSE(t["description"].get<std::string>().empty());
    EXPECT_EQ(t["inputSchema"]["type"], "object");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"list-egress-routes", "request-egress-route",
                                             "capability-block", "report-stuck"}));
  auto ping = curl_post(s->url(), R"({"jsonrpc":"2.0","id":"p","method":"ping"})", m.headers());
  EXPECT_EQ(json::parse(ping.body), json::parse(R"({"jsonrpc":"2.0","id":"p","result":{}})"));
}

TEST_F(SuperviseServer, BadInputGetsProtocolErrorsAndNeverStopsTheServer) {
  auto s = start();
  McpSession m(s->url());
  ASSERT_TRUE(m.ok());
  auto bad_json = curl_post(s->url(), "{\"jsonrpc\":", m.headers());
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(json::parse(bad_json.body)["error"]["code"], -32700);
  auto big = curl_post(s->url(), std::string(2 << 20, ' '), m.headers());
  EXPECT_EQ(big.status, 413) << big.error;
  auto method = curl_post(s->url(), R"({"jsonrpc":"2.0","id":1,"method":"sampling/createMessage"})",
                          m.headers());
  EXPECT_EQ(json::parse(method.body)["error"]["code"], -32601);
  auto tool = m.call("rm-rf", json::object());
  EXPECT_EQ(tool["error"]["code"], -32602);
  EXPECT_EQ(tool["error"]["message"], "Unknown tool: rm-rf (tools/list shows the tools)");
  auto no_session = curl_post(s->url(), R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  EXPECT_EQ(no_session.status, 400);
  auto old_session = curl_post(s->url(), R"({"jsonrpc":"2.0","id":1,"method":"ping"})",
                               {"Mcp-Session-Id: 00000000000000000000000000000000"});
  EXPECT_EQ(old_session.status, 404);
  auto rebinding = curl_post(s->url(), R"({"jsonrpc":"2.0","id":1,"method":"ping"})",
                             {"Host: evil.example.com"});
  EXPECT_EQ(rebinding.status, 403);
  // Raw bytes: a chunked body over the cap, a TLS hello, a smuggling shape.
  std::string chunked =
      "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 17; ++i) chunked += "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
  EXPECT_EQ(raw_exchange(s->port(), chunked).substr(0, 12), "HTTP/1.1 413");
  EXPECT_EQ(raw_exchange(s->port(), std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11))
                .substr(0, 12),
            "HTTP/1.1 400");
  EXPECT_EQ(raw_exchange(s->port(),
                         "POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                .substr(0, 12),
            "HTTP/1.1 400");
  EXPECT_EQ(
      raw_exchange(s->port(), "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
          .substr(0, 12),
      "HTTP/1.1 405");
  // Still serving the session after all that.
  auto ping = curl_post(s->url(), R"({"jsonrpc":"2.0","id":9,"method":"ping"})", m.headers());
  EXPECT_EQ(ping.status, 200);
  EXPECT_EQ(s->stop(), 0) << s->log();
  EXPECT_EQ(s->log().find("\"level\":\"error\""), std::string::npos) << s->log();
}

TEST_F(SuperviseServer, InvalidToolArgumentsAreToolErrorsTheModelCanFix) {
  auto s = start();
  McpSession m(s->url());
  auto r = m.call("request-egress-route", {{"host", "pypi.org"}});
  EXPECT_EQ(r["result"]["isError"], true);
  EXPECT_EQ(result_text(r),
            "Invalid request-egress-route arguments: 'reason' is required (a non-empty string)");
  auto auth = m.call("request-egress-route",
                     {{"host", "pypi.org"}, {"reason", "x"}, {"allow_private", true}});
  EXPECT_NE(result_text(auth).find("unknown argument 'allow_private'"), std::string::npos) << auth;
  auto bad = m.call(
      "request-egress-route",
      {{"host", "pypi.org"}, {"reason", "x"}, {"matches", json::array({{{"methd", "GET"}}})}});
  EXPECT_EQ(result_text(bad),
            "Invalid request-egress-route arguments: route: unknown key 'methd' in match (did you "
            "mean 'method'?)");
  auto cap = m.call("capability-block", {{"what", ""}, {"reason", "r"}});
  EXPECT_EQ(cap["result"]["isError"], true);
  EXPECT_TRUE(ProposalQueue(home_.queue()).scan(true).entries.empty()) << "nothing was proposed";
}

TEST_F(SuperviseServer, CapabilityBlockReturnsTheOperatorsAnswerFromBottleProposals) {
  auto s = start();
  McpSession m(s->url());
  auto call = m.call_background(
      "capability-block", {{"what", "psql"}, {"reason", "the tests need a database"}}, out("cap"));
  auto pending = wait_for_proposals(home_.queue(), 1);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].kind, ProposalKind::capability);
  EXPECT_EQ(pending[0].bottle, home_.slug());
  EXPECT_EQ(pending[0].request["what"], "psql");
  auto list = home_.bottle({"proposals", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find(pending[0].id), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("psql -- the tests need a database"), std::string::npos) << list.out;
  auto answer = home_.bottle({"proposals", "answer", pending[0].id, "use sqlite instead"},
                             {"BOTTLE_OPERATOR=alice"});
  EXPECT_EQ(answer.exit_code, 0) << answer.err;
  EXPECT_NE(answer.out.find("done: answered"), std::string::npos) << answer.out;
  EXPECT_EQ(call.wait(), 0);
  json r = reply_in(out("cap"));
  EXPECT_EQ(r["result"]["isError"], false);
  EXPECT_EQ(result_text(r), "Answer from alice: use sqlite instead");
  auto all = ProposalQueue(home_.queue()).scan(true);
  ASSERT_EQ(all.entries.size(), 1u);
  EXPECT_TRUE(all.entries[0].archived);
  EXPECT_EQ(all.entries[0].response->text, "use sqlite instead");
}

TEST_F(SuperviseServer, RejectedRouteIsAToolErrorWithTheReason) {
  auto s = start();
  McpSession m(s->url());
  auto call = m.call_background("request-egress-route",
                                {{"host", "pypi.org"}, {"reason", "pip install"}}, out("route"));
  auto pending = wait_for_proposals(home_.queue(), 1);
  ASSERT_EQ(pending.size(), 1u);
  auto show = home_.bottle({"proposals", "show", pending[0].id});
  EXPECT_NE(show.out.find("+  - host: pypi.org"), std::string::npos) << show.out;
  auto reject = home_.bottle({"proposals", "reject", pending[0].id, "--reason", "use the mirror"},
                             {"BOTTLE_OPERATOR=bob"});
  EXPECT_EQ(reject.exit_code, 0) << reject.err;
  EXPECT_EQ(call.wait(), 0);
  json r = reply_in(out("route"));
  EXPECT_EQ(r["result"]["isError"], true);
  EXPECT_EQ(result_text(r), "Rejected by bob: use the mirror");
  EXPECT_EQ(read_file(home_.routes()), "log: blocks\nroutes:\n  - host: api.github.com\n");
}

TEST_F(SuperviseServer, UnansweredRequestTimesOutWithASyntheticAnswerInTheArchive) {
  auto s = start(1);
  McpSession m(s->url());
  auto started = std::chrono::steady_clock::now();
  auto r = m.call("capability-block", {{"what", "x"}, {"reason", "y"}});
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r["result"]["isError"], true);
  EXPECT_NE(result_text(r).find("No answer from the operator within 1 s"), std::string::npos) << r;
  EXPECT_LT(took, std::chrono::seconds(5));
  auto all = ProposalQueue(home_.queue()).scan(true);
  ASSERT_EQ(all.entries.size(), 1u);
  ASSERT_TRUE(all.entries[0].response);
  EXPECT_EQ(all.entries[0].response->by, "bottle-supervise");
  EXPECT_EQ(all.entries[0].response->text, "no answer within 1 s");
  EXPECT_FALSE(all.entries[0].outcome->ok);
}

TEST_F(SuperviseServer, ProgressIsStreamedWhileTheCallWaits) {
  auto s = start(1);
  McpSession m(s->url());
  auto body = m.call_body("capability-block", {{"what", "x"}, {"reason", "y"}}, 4, "tok-1");
  auto r = curl_post(s->url(), body.dump(), m.headers(true));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/event-stream");
  EXPECT_EQ(r.headers["transfer-encoding"], "chunked");
  std::vector<json> events;
  std::istringstream in(r.body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("data: ", 0) == 0) events.push_back(json::parse(line.substr(6)));
  }
  ASSERT_GE(events.size(), 4u) << r.body;  // 0 at once, then every 0.2 s for 1 s, then the result
  double last = -1;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    EXPECT_EQ(events[i]["method"], "notifications/progress");
    EXPECT_EQ(events[i]["params"]["progressToken"], "tok-1");
    EXPECT_EQ(events[i]["params"]["total"], 1.0);
    EXPECT_GT(events[i]["params"]["progress"].get<double>(), last);
    last = events[i]["params"]["progress"];
  }
  EXPECT_NE(
      events[0]["params"]["message"].get<std::string>().find("bottle proposals approve|reject"),
      std::string::npos);
  EXPECT_EQ(events.back()["id"], 4);
  EXPECT_EQ(events.back()["result"]["isError"], true);
}

TEST_F(SuperviseServer, AClientThatGoesAwayWithdrawsItsProposal) {
  auto s = start();
  McpSession m(s->url());
  {
    auto call = m.call_background("request-egress-route", {{"host", "a.example"}, {"reason", "r"}},
                                  out("gone"));
    ASSERT_EQ(wait_for_proposals(home_.queue(), 1).size(), 1u);
    call.terminate(std::chrono::seconds(5));  // curl killed: the connection closes
  }
  ASSERT_TRUE(eventually([&] { return ProposalQueue(home_.queue()).scan().entries.empty(); }));
  auto all = ProposalQueue(home_.queue()).scan(true);
  ASSERT_EQ(all.entries.size(), 1u);
  EXPECT_EQ(all.entries[0].response->by, "bottle-supervise");
  EXPECT_EQ(all.entries[0].response->text, "the agent's call ended before an answer");
  // The operator is told, not misled, when they answer afterwards.
  auto late = home_.bottle({"proposals", "approve", all.entries[0].proposal.id});
  EXPECT_EQ(late.exit_code, 1);
  EXPECT_NE(late.out.find("already answered: reject by bottle-supervise"), std::string::npos)
      << late.out;
}

TEST_F(SuperviseServer, ConcurrentProposalsAreAnsweredEachOnItsOwn) {
  auto s = start();
  McpSession m(s->url());
  constexpr int kCalls = 6;
  std::vector<ChildProcess> calls;
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(m.call_background("capability-block",
                                      {{"what", "tool-" + std::to_string(i)}, {"reason", "r"}},
                                      out("c" + std::to_string(i))));
  }
  auto pending = wait_for_proposals(home_.queue(), kCalls);
  ASSERT_EQ(pending.size(), static_cast<size_t>(kCalls));
  // Answer in reverse order, each with the name of what it asked for.
  for (auto it = pending.rbegin(); it != pending.rend(); ++it) {
    std::string what = it->request["what"];
    ProposalQueue q(home_.queue());
    Response r{it->id,  Decision::answer, "answer for " + what,
               "alice", now_iso8601(),    std::nullopt};
    ASSERT_EQ(*q.answer(r), ProposalQueue::AnswerResult::recorded);
  }
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_EQ(calls[i].wait(), 0);
    EXPECT_EQ(result_text(reply_in(out("c" + std::to_string(i)))),
              "Answer from alice: answer for tool-" + std::to_string(i));
  }
  EXPECT_TRUE(eventually([&] { return ProposalQueue(home_.queue()).scan().entries.empty(); }));
}

TEST_F(SuperviseServer, TwoOperatorsApprovingAtOnceYieldOneResult) {
  auto s = start();
  McpSession m(s->url());
  auto call = m.call_background("capability-block", {{"what", "x"}, {"reason", "y"}}, out("two"));
  auto pending = wait_for_proposals(home_.queue(), 1);
  ASSERT_EQ(pending.size(), 1u);
  auto a =
      home_.bottle_background({"proposals", "approve", pending[0].id, "--reason", "from alice"},
                              out("alice.log"), {"BOTTLE_OPERATOR=alice"});
  auto b = home_.bottle_background({"proposals", "approve", pending[0].id, "--reason", "from bob"},
                                   out("bob.log"), {"BOTTLE_OPERATOR=bob"});
  EXPECT_EQ(a.wait(), 0);
  EXPECT_EQ(b.wait(), 0);  // approving what is approved is no error
  std::string alice = read_file(out("alice.log")), bob = read_file(out("bob.log"));
  const bool alice_won = alice.find("approved " + pending[0].id) != std::string::npos;
  const bool bob_won = bob.find("approved " + pending[0].id) != std::string::npos;
  EXPECT_NE(alice_won, bob_won) << alice << "\n" << bob;
  const std::string& loser = alice_won ? bob : alice;
  EXPECT_NE(loser.find("already answered: approve by " + std::string(alice_won ? "alice" : "bob")),
            std::string::npos)
      << loser;
  EXPECT_EQ(call.wait(), 0);
  EXPECT_EQ(result_text(reply_in(out("two"))),
            alice_won ? "Approved by alice: from alice" : "Approved by bob: from bob");
}

TEST_F(SuperviseServer, ReportStuckReturnsAtOnceAndIsArchivedWhenAcknowledged) {
  auto s = start();
  McpSession m(s->url());
  auto r = m.call("report-stuck", {{"reason", "tests fail in a loop"}});
  EXPECT_EQ(r["result"]["isError"], false);
  EXPECT_NE(result_text(r).find("The operator has been notified (proposal "), std::string::npos);
  auto pending = wait_for_proposals(home_.queue(), 1);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].kind, ProposalKind::stuck);
  auto ack = home_.bottle({"proposals", "answer", pending[0].id, "looking now"});
  EXPECT_EQ(ack.exit_code, 0) << ack.err;
  EXPECT_NE(ack.out.find("done: acknowledged"), std::string::npos) << ack.out;
}

TEST_F(SuperviseServer, ARestartSettlesWhatTheLastRunLeftBehind) {
  ProposalQueue q(home_.queue());
  auto make = [&](const std::string& id, ProposalKind kind) {
    Proposal p{id, kind, now_iso8601(), home_.slug(), "left over", json::object()};
    if (kind == ProposalKind::egress_route) p.request = {{"route", {{"host", "x.example"}}}};
    if (kind == ProposalKind::capability) p.request = {{"what", "w"}};
    ASSERT_TRUE(q.create(p).ok());
  };
  make("1-route", ProposalKind::egress_route);
  make("2-cap", ProposalKind::capability);
  make("3-stuck", ProposalKind::stuck);
  make("4-gitleaks", ProposalKind::gitleaks_allow);
  ASSERT_TRUE(
      q.answer({"2-cap", Decision::answer, "ok", "alice", now_iso8601(), std::nullopt}).ok());
  write_file(home_.queue() + "/junk.json", "{");
  auto s = start();
  // The route request lost its caller: withdrawn. The answered capability: archived.
  // The stuck report waits for the operator; gitleaks-allow belongs to gitgate.
  ASSERT_TRUE(eventually([&] { return q.scan().entries.size() == 2; }));
  std::vector<std::string> left;
  for (const auto& e : q.scan().entries) left.push_back(e.proposal.id);
  EXPECT_EQ(left, (std::vector<std::string>{"3-stuck", "4-gitleaks"}));
  auto all = q.scan(true);
  for (const auto& e : all.entries) {
    if (e.proposal.id == "1-route") {
      EXPECT_EQ(e.response->by, "bottle-supervise");
    }
    if (e.proposal.id == "2-cap") {
      EXPECT_EQ(e.response->by, "alice");
    }
  }
  EXPECT_NE(s->log().find("queue_file_skipped"), std::string::npos);
  EXPECT_NE(s->log().find("junk.json"), std::string::npos);
}

TEST_F(SuperviseServer, ListEgressRoutesReadsTheRoutesFileWithoutAnEgressAdmin) {
  write_file(
      home_.routes(),
      "routes:\n  - host: api.github.com\n    auth: {scheme: Bearer, token_env: EGRESS_TOKEN_0}\n");
  auto s = start();
  McpSession m(s->url());
  auto r = m.call("list-egress-routes", json::object());
  EXPECT_EQ(r["result"]["isError"], false) << r;
  std::string text = result_text(r);
  EXPECT_NE(text.find("host: \"api.github.com\""), std::string::npos) << text;
  EXPECT_NE(text.find("token_env: EGRESS_TOKEN_0"), std::string::npos) << text;
}

TEST_F(SuperviseServer, StopsCleanlyOnSigtermWithdrawingWaitingCalls) {
  auto s = start();
  McpSession m(s->url());
  auto call = m.call_background("capability-block", {{"what", "x"}, {"reason", "y"}}, out("stop"));
  ASSERT_EQ(wait_for_proposals(home_.queue(), 1).size(), 1u);
  EXPECT_EQ(s->stop(), 0);
  call.wait();
  EXPECT_TRUE(ProposalQueue(home_.queue()).scan().entries.empty());
  EXPECT_NE(s->log().find("supervise_exiting"), std::string::npos);
}

// Kubernetes: the routes are a ConfigMap the operator's side applies before it answers
// (through `bottle-supervise queue answer` in the pod); supervise only tells the agent.
TEST_F(SuperviseServer, RoutesByOperatorAsksAndTellsTheAgentWithoutWritingRoutes) {
  SuperviseOptions o;
  o.queue = home_.queue();
  o.bottle = home_.slug();
  o.routes_by_operator = true;
  Supervise s(o);
  ASSERT_TRUE(s.ok()) << s.log();
  McpSession m(s.url());
  auto call = m.call_background("request-egress-route",
                                {{"host", "pypi.org"}, {"reason", "pip install"}}, out("route"));
  auto pending = wait_for_proposals(home_.queue(), 1);
  ASSERT_EQ(pending.size(), 1u);
  auto scan = orchestrator::run_capture(
      {supervise_binary(), "queue", "scan", "--dir", home_.queue()});
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->exit_code, 0) << scan->err;
  auto parsed = ProposalQueue::scan_from_json(json::parse(scan->out), "scan");
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  ASSERT_EQ(parsed->entries.size(), 1u);
  EXPECT_EQ(parsed->entries[0].proposal.id, pending[0].id);
  Response r{pending[0].id, Decision::approve, "ok", "alice", "2026-01-01T00:00:00Z", std::nullopt};
  auto answer = orchestrator::run_capture(
      {supervise_binary(), "queue", "answer", "--dir", home_.queue()}, to_json(r).dump());
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->out, "{\"result\":\"recorded\"}\n") << answer->err;
  EXPECT_EQ(call.wait(), 0);
  json reply = reply_in(out("route"));
  EXPECT_EQ(reply["result"]["isError"], false) << reply;
  EXPECT_EQ(result_text(reply),
            "Approved by alice: the operator applied the route to the egress proxy before "
            "answering; retry your request.\nOperator's note: ok");
  EXPECT_EQ(read_file(home_.routes()), "log: blocks\nroutes:\n  - host: api.github.com\n");
  auto all = ProposalQueue(home_.queue()).scan(true);
  ASSERT_EQ(all.entries.size(), 1u);
  ASSERT_TRUE(all.entries[0].outcome);
  EXPECT_EQ(all.entries[0].outcome->detail, "applied by the operator");
  // A second answer loses, and says so.
  auto late = orchestrator::run_capture(
      {supervise_binary(), "queue", "answer", "--dir", home_.queue()}, to_json(r).dump());
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->exit_code, 1);
  EXPECT_NE(late->err.find("bottle-supervise: answer: "), std::string::npos) << late->err;
}

TEST(SuperviseCli, UsageErrorsExit2AndRuntimeErrors1) {
  auto run = [](std::vector<std::string> args) {
    args.insert(args.begin(), supervise_binary());
    auto r = orchestrator::run_capture(args);
    return r ? *r : CaptureResult{};
  };
  EXPECT_EQ(run({"--version"}).exit_code, 0);
  EXPECT_EQ(run({"--help"}).exit_code, 0);
  auto missing = run({});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err.rfind("bottle-supervise: usage: ", 0), 0u) << missing.err;
  auto half = run({"--queue", "/tmp", "--routes", "/tmp/r.yaml"});
  EXPECT_EQ(half.exit_code, 2);
  EXPECT_EQ(half.err,
            "bottle-supervise: usage: --routes and --init-ctl go together (one writes, the other "
            "reloads)\n");
  auto no_queue = run({"--queue", "/nonexistent/q"});
  EXPECT_EQ(no_queue.exit_code, 1);
  EXPECT_EQ(no_queue.err, "bottle-supervise: queue: /nonexistent/q: No such file or directory\n");
  auto bad_listen = run({"--queue", "/tmp", "--listen", "nowhere"});
  EXPECT_EQ(bad_listen.exit_code, 2);
  auto both = run({"--queue", "/tmp", "--routes-by-operator", "--routes", "/tmp/r.yaml",
                   "--init-ctl", "/tmp/s"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_EQ(both.err,
            "bottle-supervise: usage: --routes-by-operator and --routes exclude each other\n");
  EXPECT_EQ(run({"queue"}).exit_code, 2);
  EXPECT_EQ(run({"queue", "scan"}).exit_code, 2);
  auto empty = run({"queue", "scan", "--dir", "/nonexistent/q"});
  EXPECT_EQ(empty.exit_code, 0);
  EXPECT_EQ(empty.out, "{\"entries\":[],\"problems\":[]}\n");
  auto garbage = orchestrator::run_capture(
      {supervise_binary(), "queue", "answer", "--dir", "/tmp"}, "not json");
  ASSERT_TRUE(garbage.ok());
  EXPECT_EQ(garbage->exit_code, 1);
  EXPECT_EQ(garbage->err.rfind("bottle-supervise: answer: stdin: ", 0), 0u) << garbage->err;
}

}  // namespace
}  // namespace bottle::supervise::testing
