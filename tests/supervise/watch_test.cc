// `bottle proposals watch`: line mode when stdout is not a terminal, and the live list on
// a real pseudo-terminal (bell on arrival, one-key approve, reject with a typed reason).
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/files.h"
#include "tests/supervise/harness.h"

namespace bottle::supervise::testing {
namespace {

using nlohmann::json;

Proposal proposal(const std::string& id, const std::string& what) {
  return {id,         ProposalKind::capability, now_iso8601(),
          "dev-test", "needs " + what,          json{{"what", what}}};
}

TEST(ProposalsWatch, LineModePrintsPendingNewAndAnsweredProposals) {
  BottleHome home;
  ScratchDir work;
  ProposalQueue q(home.queue());
  ASSERT_TRUE(q.create(proposal("100-first", "psql")).ok());
  const std::string log = work.path() + "/watch.log";
  ChildProcess watch = home.bottle_background({"proposals", "watch"}, log);
  ASSERT_TRUE(eventually([&] {
    return read_file(log).find("pending 100-first") != std::string::npos;
  })) << read_file(log);
  ASSERT_TRUE(q.create(proposal("200-second", "gdb")).ok());
  ASSERT_TRUE(
      eventually([&] { return read_file(log).find("new 200-second") != std::string::npos; }));
  ASSERT_TRUE(
      q.answer({"200-second", Decision::answer, "ok", "alice", now_iso8601(), std::nullopt}).ok());
  ASSERT_TRUE(eventually([&] {
    return read_file(log).find("answered 200-second: answer by alice") != std::string::npos;
  })) << read_file(log);
  EXPECT_EQ(read_file(log).find('\a'), std::string::npos) << "no bell without a terminal";
  EXPECT_EQ(watch.terminate(std::chrono::seconds(5)), 0);
  EXPECT_NE(read_file(log).find("new 200-second dev-test capability gdb -- needs gdb"),
            std::string::npos)
      << read_file(log);
}

// The watcher on a pseudo-terminal: the test is its keyboard and its screen.
class Terminal {
 public:
  explicit Terminal(const BottleHome& home) {
    pid_ = ::forkpty(&master_, nullptr, nullptr, nullptr);
    if (pid_ == 0) {
      const std::string env_home = "BOTTLE_HOME=" + home.home();
      const std::string bin = bottle_binary();
      ::execlp("env", "env", env_home.c_str(), "BOTTLE_OPERATOR=carol", "TERM=xterm", bin.c_str(),
               "proposals", "watch", static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~Terminal() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) ::close(master_);
  }
  bool ok() const { return pid_ > 0; }
  // Reads the screen until `text` shows up (bounded).
  bool wait_for(const std::string& text) {
    return eventually([&] {
      pollfd p{master_, POLLIN, 0};
      while (::poll(&p, 1, 0) > 0) {
        char buf[4096];
        ssize_t n = ::read(master_, buf, sizeof buf);
        if (n <= 0) break;
        screen_.append(buf, static_cast<size_t>(n));
      }
      return screen_.find(text) != std::string::npos;
    });
  }
  void type(const std::string& keys) { (void)!::write(master_, keys.data(), keys.size()); }
  int wait_exit() {
    int status = 0;
    eventually([&] {
      wait_for("");
      return ::waitpid(pid_, &status, WNOHANG) == pid_;
    });
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  const std::string& screen() const { return screen_; }
  void forget() { screen_.clear(); }

 private:
  int master_ = -1;
  pid_t pid_ = -1;
  std::string screen_;
};

TEST(ProposalsWatch, TerminalRingsOnArrivalAndAnswersWithOneKey) {
  BottleHome home;
  ProposalQueue q(home.queue());
  ASSERT_TRUE(q.create(proposal("100-first", "psql")).ok());
  Terminal t(home);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.wait_for("100-first")) << t.screen();
  EXPECT_EQ(t.screen().find('\a'), std::string::npos) << "no bell for what was there at start";
  t.forget();
  ASSERT_TRUE(q.create(proposal("200-second", "gdb")).ok());
  ASSERT_TRUE(t.wait_for("200-second")) << t.screen();
  EXPECT_NE(t.screen().find('\a'), std::string::npos) << "bell on arrival";
  t.type("a");  // approve the selected (first) proposal
  ASSERT_TRUE(eventually([&] {
    auto r = q.response("100-first");
    return r && *r && (*r)->decision == Decision::approve && (*r)->by == "carol";
  })) << t.screen();
  t.type("r");  // reject the next one, typing the reason
  ASSERT_TRUE(t.wait_for("reason for rejecting 200-second: ")) << t.screen();
  t.type("not now\n");
  ASSERT_TRUE(eventually([&] {
    auto r = q.response("200-second");
    return r && *r && (*r)->decision == Decision::reject && (*r)->text == "not now";
  })) << t.screen();
  t.type("q");
  EXPECT_EQ(t.wait_exit(), 0) << t.screen();
}

TEST(ProposalsWatch, AgentTextCannotDriveTheOperatorsTerminal) {
  BottleHome home;
  ProposalQueue q(home.queue());
  Proposal p = proposal("300-evil", "x");
  p.reason =
      "hi \x1b]0;owned\x07\x1b[2J \xc2\x9b"
      "31m there";
  ASSERT_TRUE(q.create(p).ok());
  auto list = home.bottle({"proposals", "list"});
  EXPECT_EQ(list.out.find('\x1b'), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find('\a'), std::string::npos);
  EXPECT_NE(list.out.find("hi \\e]0;owned\\a\\e[2J \\u009b31m there"), std::string::npos) << list.out;
  auto show = home.bottle({"proposals", "show", "300-evil"});
  EXPECT_EQ(show.out.find('\x1b'), std::string::npos) << show.out;
}

}  // namespace
}  // namespace bottle::supervise::testing
