// The approve path end to end on real parts: bottle-supervise writes routes.yaml, asks a
// real bottle-init to reload a real bottle-egress, and answers the agent only once
// egress's admin shows the new table. Requests go through the real proxy with curl.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/files.h"
#include "tests/supervise/harness.h"

namespace bottle::supervise::testing {
namespace {

using nlohmann::json;

constexpr const char* kRoutes = "log: blocks\nroutes:\n  - host: api.github.com\n";

class ApplyRoute : public ::testing::Test {
 protected:
  void SetUp() override {
    if (orchestrator::find_helper_binary("curl").empty() ||
        orchestrator::find_helper_binary("python3").empty()) {
      BOTTLE_SKIP() << "curl and python3 are needed";
    }
    rig_ = std::make_unique<ApprovalRig>(home_, std::vector<std::string>{"new.test", "bad.test"});
    ASSERT_EQ(rig_->error(), "");
    port_ = rig_->port();
    sidecar_ = &rig_->sidecar();
    supervise_ = &rig_->supervise();
  }

  std::string through_proxy(const std::string& host) const { return rig_->through_proxy(host); }
  std::string out(const std::string& name) const { return work_.path() + "/" + name; }
  json reply_in(const std::string& file) const {
    return rpc_message(parse_curl_output(read_file(file)).body);
  }

  BottleHome home_{"dev-apply", kRoutes};
  ScratchDir work_;
  std::unique_ptr<ApprovalRig> rig_;
  std::string port_;
  Sidecar* sidecar_ = nullptr;
  Supervise* supervise_ = nullptr;
};

TEST_F(ApplyRoute, ApprovedRouteIsLiveInEgressWhenTheCallReturns) {
  EXPECT_EQ(through_proxy("new.test"), "403 host_not_allowed");
  McpSession m(supervise_->url());
  auto call = m.call_background(
      "request-egress-route",
      {{"host", "new.test"}, {"port", std::stoi(port_)}, {"reason", "fetch the data"}},
      out("call"));
  auto pending = wait_for_proposals(home_.queue(), 1);
  ASSERT_EQ(pending.size(), 1u);
  // The upstream is on loopback: the operator adds allow_private while approving.
  const std::string editor = work_.path() + "/editor.sh";
  write_file(editor, "#!/bin/sh\nprintf '  allow_private: true\\n' >> \"$1\"\n");
  ::chmod(editor.c_str(), 0755);
  auto approve = home_.bottle({"proposals", "approve", pending[0].id, "--edit", "--reason", "ok"},
                              {"EDITOR=" + editor, "BOTTLE_OPERATOR=alice"});
  EXPECT_EQ(approve.exit_code, 0) << approve.out << approve.err;
  EXPECT_NE(approve.out.find("+    allow_private: true"), std::string::npos) << approve.out;
  EXPECT_NE(approve.out.find("done: added route new.test:" + port_ + "; live in egress (reload 1)"),
            std::string::npos)
      << approve.out << supervise_->log();
  EXPECT_EQ(call.wait(), 0);
  json r = reply_in(out("call"));
  EXPECT_EQ(r["result"]["isError"], false) << r;
  EXPECT_EQ(result_text(r), "Approved by alice (edited): added route new.test:" + port_ +
                                ". The route is live in the egress proxy now; retry your "
                                "request.\nOperator's note: ok");
  // Live, not just written: the admin page shows it and the proxy lets the request pass.
  EXPECT_NE(sidecar_->admin_get("/routes").find("host: \"new.test\""), std::string::npos);
  EXPECT_NE(read_file(home_.routes())
                .find("  - host: new.test\n    port: " + port_ + "\n    allow_private: true\n"),
            std::string::npos)
      << read_file(home_.routes());
  EXPECT_EQ(through_proxy("new.test"), "200 ");
}

TEST_F(ApplyRoute, EgressRefusingTheNewTableLeavesRoutesYamlAsItWas) {
  McpSession m(supervise_->url());
  auto call = m.call_background("request-egress-route", {{"host", "bad.test"}, {"reason", "r"}},
                                out("bad"));
  auto pending = wait_for_proposals(home_.queue(), 1);
  ASSERT_EQ(pending.size(), 1u);
  // An edited route naming a token slot egress has no value for: valid YAML, refused by
  // egress at reload (this test answers through the queue, past the CLI's slot check).
  Response a{pending[0].id,
             Decision::approve,
             "",
             "alice",
             now_iso8601(),
             json{{"host", "bad.test"},
                  {"auth", {{"scheme", "Bearer"}, {"token_env", "EGRESS_TOKEN_9"}}}}};
  ASSERT_EQ(*ProposalQueue(home_.queue()).answer(a), ProposalQueue::AnswerResult::recorded);
  EXPECT_EQ(call.wait(), 0);
  json r = reply_in(out("bad"));
  EXPECT_EQ(r["result"]["isError"], true);
  // The agent reads egress's own reason, with the line of the routes.yaml egress refused.
  const std::string text = result_text(r);
  EXPECT_NE(text.find("egress refused the new routes: " + home_.routes() + ":"), std::string::npos)
      << text;
  EXPECT_NE(text.find("EGRESS_TOKEN_9"), std::string::npos) << text;
  EXPECT_NE(text.find("; " + home_.routes() + " restored"), std::string::npos) << text;
  EXPECT_EQ(read_file(home_.routes()), kRoutes);
  EXPECT_EQ(sidecar_->admin_get("/routes").find("bad.test"), std::string::npos);
  auto all = ProposalQueue(home_.queue()).scan(true);
  ASSERT_EQ(all.entries.size(), 1u);
  EXPECT_FALSE(all.entries[0].outcome->ok);
  EXPECT_EQ(through_proxy("new.test"), "403 host_not_allowed") << "egress still serves";
}

TEST_F(ApplyRoute, AnAlreadyAllowedHostIsApprovedWithoutAReload) {
  const std::string before = sidecar_->admin_get("/metrics");
  McpSession m(supervise_->url());
  auto call = m.call_background("request-egress-route",
                                {{"host", "api.github.com"},
                                 {"matches", json::array({{{"method", "GET"}}})},
                                 {"reason", "r"}},
                                out("same"));
  auto pending = wait_for_proposals(home_.queue(), 1);
  auto show = home_.bottle({"proposals", "show", pending.at(0).id});
  EXPECT_NE(show.out.find("approving changes nothing: already allowed by route api.github.com"),
            std::string::npos)
      << show.out;
  EXPECT_EQ(home_.bottle({"proposals", "approve", pending[0].id}).exit_code, 0);
  EXPECT_EQ(call.wait(), 0);
  EXPECT_NE(result_text(reply_in(out("same"))).find("already allowed by route api.github.com"),
            std::string::npos);
  EXPECT_NE(sidecar_->admin_get("/metrics").find("egress_reloads_total 0\n"), std::string::npos);
  EXPECT_EQ(read_file(home_.routes()), kRoutes);
}

TEST_F(ApplyRoute, ListEgressRoutesShowsWhatEgressRuns) {
  McpSession m(supervise_->url());
  auto r = m.call("list-egress-routes", json::object());
  const std::string text = result_text(r);
  EXPECT_EQ(text.rfind("# Effective egress routes (tokens omitted)\n", 0), 0u) << text;
  EXPECT_NE(text.find("host: \"api.github.com\""), std::string::npos) << text;
}

}  // namespace
}  // namespace bottle::supervise::testing
