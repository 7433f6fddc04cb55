// `bottle top` full screen, driven the way an operator drives it: in a real terminal
// (tmux), read with capture-pane, typed into with send-keys. Behind it a real sidecar
// (bottle-init + bottle-egress) and bottle-supervise: the agent asks for a route over
// MCP, the proposal shows up in top, one key approves it (with the editor adding
// allow_private, as the upstream is on loopback), and the agent's next request passes.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "common/files.h"
#include "orchestrator/state.h"
#include "orchestrator/terminal.h"
#include "tests/operator/tmux.h"
#include "tests/supervise/harness.h"

namespace bottle::supervise::testing {
namespace {

using nlohmann::json;

class TopUnderTmux : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"tmux", "curl", "python3"}) {
      if (orchestrator::find_helper_binary(tool).empty()) {
        BOTTLE_SKIP() << std::string(tool) + " is needed";
      }
    }
    rig_ = std::make_unique<ApprovalRig>(home_, std::vector<std::string>{"new.test"});
    ASSERT_EQ(rig_->error(), "");
    port_ = rig_->port();
    sidecar_ = &rig_->sidecar();
    supervise_ = &rig_->supervise();
    // What `bottle start` records: where top reads egress's counters.
    auto md = orchestrator::read_metadata(home_.state());
    ASSERT_TRUE(md.ok()) << md.error();
    md->admin_port = sidecar_->admin_port();
    ASSERT_TRUE(orchestrator::write_metadata(home_.state(), *md).ok());
  }

  std::string through_proxy(const std::string& host) const { return rig_->through_proxy(host); }

  BottleHome home_{"dev-top", "log: blocks\nroutes:\n  - host: api.github.com\n"};
  ScratchDir work_;
  std::unique_ptr<ApprovalRig> rig_;
  std::string port_;
  Sidecar* sidecar_ = nullptr;
  Supervise* supervise_ = nullptr;
};

TEST_F(TopUnderTmux, ProposalAppearsIsApprovedWithAKeyAndTheRouteIsLive) {
  EXPECT_EQ(through_proxy("new.test"), "403 host_not_allowed");
  const std::string editor = work_.path() + "/editor.sh";
  write_file(editor, "#!/bin/sh\nprintf '  allow_private: true\\n' >> \"$1\"\n");
  ::chmod(editor.c_str(), 0755);
  Tmux t(work_.path(), "env BOTTLE_HOME=" + home_.home() +
                           " BOTTLE_OPERATOR=olga EDITOR=" + editor + " TERM=xterm-256color " +
                           bottle_binary() + " top --interval 0.2");
  ASSERT_TRUE(t.ok()) << t.error();
  // The bottle, with the block egress counted (its /metrics), and no proposal yet.
  ASSERT_TRUE(t.wait_for("blocks by reason: host_not_allowed 1")) << t.screen();
  EXPECT_NE(t.screen().find("dev-top"), std::string::npos);
  EXPECT_NE(t.screen().find("1 running, 0 proposals pending"), std::string::npos) << t.screen();

  McpSession m(supervise_->url());
  ASSERT_TRUE(m.ok());
  auto call = m.call_background(
      "request-egress-route",
      {{"host", "new.test"}, {"port", std::stoi(port_)}, {"reason", "fetch the data"}},
      work_.path() + "/call");
  auto pending = wait_for_proposals(home_.queue(), 1);
  ASSERT_EQ(pending.size(), 1u);
  ASSERT_TRUE(t.wait_for("> " + pending[0].id)) << t.screen();
  EXPECT_NE(t.screen().find("1 running, 1 proposals pending"), std::string::npos) << t.screen();
  EXPECT_NE(t.screen().find("fetch the data"), std::string::npos) << t.screen();

  t.keys("e");  // edit (the editor adds allow_private), then approve
  ASSERT_TRUE(t.wait_for("answered " + pending[0].id + ": approve by olga")) << t.screen();
  EXPECT_EQ(call.wait(), 0);
  json r = rpc_message(parse_curl_output(read_file(work_.path() + "/call")).body);
  EXPECT_EQ(r["result"]["isError"], false) << r;
  EXPECT_NE(sidecar_->admin_get("/routes").find("host: \"new.test\""), std::string::npos);
  EXPECT_EQ(through_proxy("new.test"), "200 ");
  ASSERT_TRUE(t.wait_for("0 proposals pending")) << t.screen();

  // A second ask, rejected with a typed reason: the agent hears the reason.
  auto second = m.call_background("request-egress-route",
                                  {{"host", "other.test"}, {"reason", "just curious"}},
                                  work_.path() + "/second");
  auto again = wait_for_proposals(home_.queue(), 1);
  ASSERT_EQ(again.size(), 1u);
  ASSERT_TRUE(t.wait_for("> " + again[0].id)) << t.screen();
  t.keys("r");
  ASSERT_TRUE(t.wait_for("reason for rejecting " + again[0].id)) << t.screen();
  t.keys("not needed");
  t.keys("Enter");
  EXPECT_EQ(second.wait(), 0);
  json rejected = rpc_message(parse_curl_output(read_file(work_.path() + "/second")).body);
  EXPECT_EQ(rejected["result"]["isError"], true) << rejected;
  EXPECT_NE(result_text(rejected).find("not needed"), std::string::npos) << rejected;
  EXPECT_EQ(through_proxy("other.test"), "403 host_not_allowed");

  // The bottle's log, live, and back; then quit.
  t.keys("l");
  ASSERT_TRUE(t.wait_for("log of dev-top")) << t.screen();
  t.keys("q");
  ASSERT_TRUE(t.wait_for("j/k bottle")) << t.screen();
  t.keys("q");
  ASSERT_TRUE(eventually([&] { return t.screen().find("bottle top") == std::string::npos; }))
      << t.screen();
}

TEST(ListUnderTmux, LabelsArePaintedInTheirColourOnATerminal) {
  if (orchestrator::find_helper_binary("tmux").empty()) BOTTLE_SKIP() << "tmux is needed";
  BottleHome home("paint-me");
  ScratchDir work;
  Tmux t(work.path(), "env BOTTLE_HOME=" + home.home() + " " + bottle_binary() +
                          " list; echo list-done; sleep 30");
  ASSERT_TRUE(t.ok()) << t.error();
  ASSERT_TRUE(t.wait_for("list-done")) << t.screen();
  const std::string sgr =
      "\x1b[38;5;" + std::to_string(orchestrator::label_color("paint-me").ansi256) + "m";
  EXPECT_NE(t.screen_with_escapes().find(sgr + "paint-me"), std::string::npos)
      << t.screen_with_escapes();
}

}  // namespace
}  // namespace bottle::supervise::testing
