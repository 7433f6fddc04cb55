// Official MCP clients against bottle-supervise: the TypeScript SDK client (sdk_client.mjs)
// calls every tool while this test plays the operator, and the official conformance suite
// runs with the baseline of scenarios that need capabilities supervise does not offer.
// The npm packages come from tests/supervise/package-lock.json (scripts/install-deps).
#include <gtest/gtest.h>

#include <filesystem>

#include "common/files.h"
#include "tests/supervise/harness.h"

namespace bottle::supervise::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class OfficialClients : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = orchestrator::find_helper_binary("node");
    if (node_.empty()) BOTTLE_SKIP() << "node (Node.js 20) is needed";
    if (!fs::exists(node_dir() + "/node_modules/@modelcontextprotocol/sdk") ||
        !fs::exists(node_dir() + "/node_modules/@modelcontextprotocol/conformance")) {
      BOTTLE_SKIP() << "npm packages missing: run scripts/install-deps (npm ci in tests/supervise)";
    }
  }
  std::string node_;
  BottleHome home_;
  ScratchDir work_;
};

TEST_F(OfficialClients, TypeScriptSdkClientListsAndCallsEveryTool) {
  SuperviseOptions o;
  o.queue = home_.queue();
  o.routes = home_.routes();
  o.init_ctl = home_.state() + "/no-init.sock";  // nothing here is approved
  Supervise s(o);
  ASSERT_TRUE(s.ok()) << s.log();
  orchestrator::SpawnOptions so;
  so.argv = {node_, node_dir() + "/sdk_client.mjs", s.url()};
  so.stdout_file = so.stderr_file = work_.path() + "/node.log";
  so.stdin_null = true;
  auto node = orchestrator::spawn(so);
  ASSERT_TRUE(node.ok()) << node.error();
  // The operator: answers each proposal as it shows up, until the client is done. (The
  // first progress notification goes out when the proposal is made, before any answer.)
  ProposalQueue q(home_.queue());
  std::optional<int> code;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!(code = node->poll()) && std::chrono::steady_clock::now() < deadline) {
    for (const auto& e : q.scan().entries) {
      if (e.response) continue;
      Response r{e.proposal.id, Decision::reject, "", "sdk-operator", now_iso8601(), std::nullopt};
      if (e.proposal.kind == ProposalKind::egress_route) r.text = "not from the SDK test";
      if (e.proposal.kind == ProposalKind::capability) {
        r.decision = Decision::answer;
        r.text = "use sqlite";
      }
      if (e.proposal.kind == ProposalKind::stuck) {
        r.decision = Decision::answer;
        r.text = "seen";
      }
      (void)q.answer(r);
    }
    struct timespec ts {
      0, 20'000'000
    };
    ::nanosleep(&ts, nullptr);
  }
  if (!code) code = node->terminate(std::chrono::seconds(5));
  const std::string out = read_file(work_.path() + "/node.log");
  ASSERT_EQ(*code, 0) << out << s.log();
  json result = json::parse(out.substr(out.rfind("{\"ok\"")), nullptr, false);
  ASSERT_TRUE(result.is_object()) << out;
  EXPECT_EQ(result["findings"]["protocol"], "2025-11-25");
  EXPECT_EQ(result["findings"]["route"], "Rejected by sdk-operator: not from the SDK test");
  EXPECT_GE(result["findings"]["progress"].get<int>(), 1);
  EXPECT_EQ(result["findings"]["unknownTool"], -32602);
  EXPECT_NE(s.log().find("mcp_session_ended"), std::string::npos) << "DELETE ends the session";
}

TEST_F(OfficialClients, ConformanceSuiteFailsOnlyWhereACapabilityIsNotOffered) {
  SuperviseOptions o;
  o.queue = home_.queue();
  Supervise s(o);
  ASSERT_TRUE(s.ok()) << s.log();
  auto r = orchestrator::run_capture(
      {node_, node_dir() + "/node_modules/@modelcontextprotocol/conformance/dist/index.js",
       "server", "--url", s.url(), "--suite", "all", "--expected-failures",
       node_dir() + "/conformance-baseline.yaml"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->exit_code, 0) << r->out << r->err;
  for (const char* passing : {"server-initialize", "ping", "tools-list", "server-sse-polling",
                              "server-sse-multiple-streams", "dns-rebinding-protection"}) {
    EXPECT_NE(r->out.find(std::string("✓ ") + passing + ":"), std::string::npos) << passing << "\n"
                                                                                 << r->out;
  }
  EXPECT_NE(r->out.find("Baseline check passed"), std::string::npos) << r->out;
}

}  // namespace
}  // namespace bottle::supervise::testing
