// `bottle start` on the local backend, attached to a real terminal (tmux): the window
// title names the bottle while it runs. Needs root (network namespaces) and bwrap.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "orchestrator/process.h"
#include "tests/operator/tmux.h"
#include "tests/supervise/harness.h"

namespace bottle::supervise::testing {
namespace {

// A BOTTLE_HOME in a scratch directory whose bottles run `sh` as their agent, and a
// workspace `ws/`. Root (network namespaces), tmux and bwrap, or the test skips.
class StartUnderTmux : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) BOTTLE_SKIP() << "needs root (network namespaces)";
    for (const char* tool : {"tmux", "bwrap"}) {
      if (orchestrator::find_helper_binary(tool).empty()) {
        BOTTLE_SKIP() << std::string(tool) + " is needed";
      }
    }
    for (const char* d : {"/home/bottles", "/home/agents", "/ws"})
      std::filesystem::create_directories(work_.path() + d);
  }
  // A bottle without supervise, and an agent of the same name that runs `sh`.
  void add_bottle(const std::string& name) {
    write_file(home_ + "/bottles/" + name + ".md", "---\nsupervise: false\n---\n");
    write_file(home_ + "/agents/" + name + ".md",
               "---\nbottle: " + name + "\nprovider: command\ncommand: [sh]\n---\n");
  }

  ScratchDir work_;
  const std::string home_ = work_.path() + "/home";
};

// `bottle start` attached to a terminal: the window title names the bottle.
TEST_F(StartUnderTmux, TerminalTitleNamesTheBottleWhileAttached) {
  add_bottle("titled");
  const std::string ready = work_.path() + "/ws/attached";
  Tmux t(work_.path(), "env BOTTLE_HOME=" + home_ + " " + bottle_binary() +
                           " start titled --label ops-title --cwd " + work_.path() +
                           "/ws -- sh -c 'touch attached; sleep 30'");
  ASSERT_TRUE(t.ok()) << t.error();
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(ready); })) << t.screen();
  EXPECT_TRUE(eventually([&] { return t.title() == "bottle ops-title\n"; })) << t.title();
  auto stop = orchestrator::run_capture(
      {"env", "BOTTLE_HOME=" + home_, bottle_binary(), "stop", "ops-title"});
  EXPECT_TRUE(stop.ok() && stop->exit_code == 0);
  (void)orchestrator::run_capture({"env", "BOTTLE_HOME=" + home_, bottle_binary(), "cleanup"});
}

// `bottle top`'s stop key on a real bottle: `s` asks, `n` keeps it, `s` `y` stops it
// (the bottle's own `bottle start` ends, `bottle list` no longer shows it).
TEST_F(StartUnderTmux, TopStopsTheSelectedBottleOnlyWhenConfirmed) {
  add_bottle("stoppable");
  std::filesystem::create_directories(work_.path() + "/t1");
  std::filesystem::create_directories(work_.path() + "/t2");
  const std::string ready = work_.path() + "/ws/running";
  Tmux bottle(work_.path() + "/t1", "env BOTTLE_HOME=" + home_ + " " + bottle_binary() +
                                        " start stoppable --label ops-stop --cwd " + work_.path() +
                                        "/ws -- sh -c 'touch running; sleep 60'");
  ASSERT_TRUE(bottle.ok()) << bottle.error();
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(ready); })) << bottle.screen();
  auto list = [&] {
    auto r = orchestrator::run_capture({"env", "BOTTLE_HOME=" + home_, bottle_binary(), "list"});
    return r ? r->out : r.error();
  };
  ASSERT_NE(list().find("ops-stop"), std::string::npos) << list();

  Tmux top(work_.path() + "/t2", "env BOTTLE_HOME=" + home_ + " TERM=xterm-256color " +
                                     bottle_binary() + " top --interval 0.2");
  ASSERT_TRUE(top.ok()) << top.error();
  ASSERT_TRUE(top.wait_for("1 running")) << top.screen();
  top.keys("s");
  ASSERT_TRUE(top.wait_for("stop ops-stop? (y/n)")) << top.screen();
  top.keys("n");
  ASSERT_TRUE(top.wait_for("not stopped")) << top.screen();
  EXPECT_NE(list().find("ops-stop"), std::string::npos) << list();

  top.keys("s");
  ASSERT_TRUE(top.wait_for("stop ops-stop? (y/n)")) << top.screen();
  top.keys("y");
  ASSERT_TRUE(top.wait_for("0 running")) << top.screen();
  EXPECT_EQ(list().find("ops-stop"), std::string::npos) << list();
  // The attached `bottle start` ended with its bottle, long before the agent's sleep would.
  EXPECT_TRUE(eventually([&] { return !bottle.alive(); })) << bottle.screen();
  top.keys("q");
  (void)orchestrator::run_capture({"env", "BOTTLE_HOME=" + home_, bottle_binary(), "cleanup"});
}

}  // namespace
}  // namespace bottle::supervise::testing
