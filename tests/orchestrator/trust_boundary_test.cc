// Issue 19: a project repository and a bottle's own state are untrusted input. Every test
// drives the real `bottle` binary the way a hostile repo (or a hostile metadata.json)
// would, and checks the host was not touched.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "orchestrator/process.h"
#include "tests/orchestrator/e2e_support.h"
#include "tests/orchestrator/test_home.h"
#include "tests/support/support.h"

namespace bottle::orchestrator {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::run_bottle;
using testing::TestHome;

const char* kBottle = "---\nsupervise: false\n---\n";

// A project (.bot-bottle/ in the current directory) whose agent lists `skills`.
class HostileProject : public ::testing::Test {
 protected:
  void SetUp() override {
    h_.bottle("dev", kBottle);
    fs::create_directories(skills());
    fs::create_directories(h_.root() + "/outside");
    secret_ = h_.root() + "/outside/host-secret.txt";
    std::ofstream(secret_) << "host-only-marker-5b1f\n";
  }
  std::string skills() const { return h_.project() + "/.bot-bottle/skills"; }
  void agent_with_skill(const std::string& skill) {
    h_.project_agent("impl", "---\nbottle: dev\nprovider: command\ncommand: [\"true\"]\nskills: [" +
                                 skill + "]\n---\n");
  }
  CaptureResult bottle(const std::vector<std::string>& args) {
    return run_bottle(h_.home(), args, {}, h_.project());
  }
  TestHome h_;
  std::string secret_;
};

TEST_F(HostileProject, SymlinkedSkillIsRefused) {
  fs::create_symlink(secret_, skills() + "/leak");
  agent_with_skill("skills/leak");
  for (const char* verb : {"info", "run"}) {
    std::vector<std::string> args = {verb, "impl"};
    if (std::string(verb) == "run") args.insert(args.end(), {"--dry-run", "--", "true"});
    auto r = bottle(args);
    EXPECT_EQ(r.exit_code, 1) << verb << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("skills/leak: is a symbolic link"), std::string::npos) << r.err;
    EXPECT_EQ((r.out + r.err).find("host-only-marker"), std::string::npos);
  }
}

TEST_F(HostileProject, SymlinkNestedInASkillIsRefused) {
  fs::create_directories(skills() + "/review/deeper");
  std::ofstream(skills() + "/review/SKILL.md") << "fine\n";
  fs::create_symlink(secret_, skills() + "/review/deeper/leak.md");
  agent_with_skill("skills/review");
  auto r = bottle({"info", "impl"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("skills/review/deeper/leak.md: is a symbolic link"), std::string::npos)
      << r.err;
}

TEST_F(HostileProject, SymlinkedSkillsDirectoryIsRefused) {
  fs::remove_all(skills());
  fs::create_directories(h_.root() + "/outside/review");
  std::ofstream(h_.root() + "/outside/review/SKILL.md") << "host-only-marker-5b1f\n";
  fs::create_symlink(h_.root() + "/outside", skills());
  agent_with_skill("skills/review");
  auto r = bottle({"info", "impl"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("skills: is a symbolic link"), std::string::npos) << r.err;
}

TEST_F(HostileProject, SkillFilesMustBeRegularAndAtMostOneMiB) {
  fs::create_directories(skills() + "/review");
  ASSERT_EQ(::mkfifo((skills() + "/review/pipe").c_str(), 0644), 0);
  agent_with_skill("skills/review");
  auto fifo = run_bottle(h_.home(), {"info", "impl"}, {}, h_.project());
  EXPECT_EQ(fifo.exit_code, 1);
  EXPECT_NE(fifo.err.find("skills/review/pipe: not a regular file"), std::string::npos) << fifo.err;

  fs::remove(skills() + "/review/pipe");
  std::ofstream(skills() + "/review/big.md") << std::string((1 << 20) + 1, 'x');
  auto big = bottle({"info", "impl"});
  EXPECT_EQ(big.exit_code, 1);
  EXPECT_NE(big.err.find("skills/review/big.md: larger than 1 MiB"), std::string::npos) << big.err;
}

TEST_F(HostileProject, ARefusedSkillLeavesNoState) {
  fs::create_symlink(secret_, skills() + "/leak");
  agent_with_skill("skills/leak");
  auto r = bottle({"run", "impl", "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is a symbolic link"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(h_.home() + "/state")) << "a failed start must not leave state";
}

// Agent files are read whole: a FIFO would hang, /dev/zero would eat memory.
TEST_F(HostileProject, AgentFileMustBeARegularFileOfAtMostOneMiB) {
  const std::string agent = h_.project_agent_path("impl");
  ASSERT_EQ(::mkfifo(agent.c_str(), 0644), 0);
  // timeout(1) bounds the hang this test exists to catch.
  auto r = run_capture({"timeout", "10", "env", "-C", h_.project(), "BOTTLE_HOME=" + h_.home(),
                        testing::bottle_binary(), "info", "impl"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1) << "124 means it hung on the FIFO";
  EXPECT_NE(r->err.find(agent + ": not a regular file"), std::string::npos) << r->err;

  fs::remove(agent);
  fs::create_symlink("/dev/zero", agent);
  // An address-space cap keeps a regression from eating the machine's memory; ASan's
  // shadow memory cannot live under one, so there only the time bounds it.
#if defined(__SANITIZE_ADDRESS__)
  std::vector<std::string> argv = {"timeout", "3"};
#else
  std::vector<std::string> argv = {"timeout", "10", "prlimit", "--as=1073741824"};
#endif
  argv.insert(argv.end(), {"env", "-C", h_.project(), "BOTTLE_HOME=" + h_.home(),
                           testing::bottle_binary(), "info", "impl"});
  auto zero = run_capture(argv);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->exit_code, 1);
  EXPECT_NE(zero->err.find(agent + ": not a regular file"), std::string::npos) << zero->err;

  fs::remove(agent);
  std::ofstream(agent) << "---\nbottle: dev\nprovider: command\n---\n" << std::string(1 << 20, 'p');
  auto big = bottle({"info", "impl"});
  EXPECT_EQ(big.exit_code, 1);
  EXPECT_NE(big.err.find(agent + ": larger than 1 MiB"), std::string::npos) << big.err;
}

TEST_F(HostileProject, ProjectAgentShadowingTheOperatorsAgentIsWarned) {
  h_.agent("impl", "---\nbottle: dev\nprovider: command\ncommand: [\"true\"]\n---\n");
  agent_with_skill("");
  auto r = bottle({"info", "impl"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("warning:   project agent " + h_.project_agent_path("impl") +
                       " shadows your agent " + h_.agent_path("impl")),
            std::string::npos)
      << r.out;
}

TEST_F(HostileProject, DryRunShowsWhereEachCredentialComesFrom) {
  h_.bottle("dev",
            "---\nsupervise: false\negress:\n  routes:\n    - host: api.github.com\n"
            "      auth: {scheme: token, token_ref: GH_TOKEN}\n---\n");
  h_.project_agent("impl",
                   "---\nbottle: dev\nprovider: claude\nauth_token: AWS_SECRET_ACCESS_KEY\n---\n");
  auto r = bottle({"run", "impl", "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("credential: $AWS_SECRET_ACCESS_KEY -> api.anthropic.com (chosen by "
                       "project agent " +
                       h_.project_agent_path("impl") + ":4:"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("credential: $GH_TOKEN -> api.github.com (chosen by bottle " +
                       h_.bottle_path("dev") + ":5:"),
            std::string::npos)
      << r.out;
}

TEST_F(HostileProject, PreflightEscapesControlCharacters) {
  // ESC sequences that would clear the screen and retitle the terminal, a CR that would
  // overwrite the line, a newline that would fake a preflight line, and a bidi override.
  h_.project_agent("impl",
                   "---\nbottle: dev\nprovider: command\ncommand: [\"true\", "
                   "\"\\e[2J\\e]0;pwned\\a\", \"a\\rb\", \"x\\nwarning:   none\", "
                   "\"\\u202Egnp.exe\"]\n---\n");
  auto r = bottle({"run", "impl", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (char c : {'\x1b', '\a', '\r'}) {
    EXPECT_EQ(r.out.find(c), std::string::npos) << "raw control character " << int(c);
  }
  EXPECT_EQ(r.out.find("\xE2\x80\xAE"), std::string::npos) << "raw bidi override";
  EXPECT_EQ(r.out.find("\nwarning:   none"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("true \\e[2J\\e]0;pwned\\a a\\rb x\\nwarning:   none \\u202egnp.exe"),
            std::string::npos)
      << r.out;
}

// --- state written by a bottle is not trusted by cleanup / stop ----------------------

class ForgedState : public ::testing::Test {
 protected:
  // state/<dir>/metadata.json with whatever a hostile process wrote into it.
  void forge(const std::string& dir, const std::string& json) {
    fs::create_directories(h_.home() + "/state/" + dir);
    std::ofstream(h_.home() + "/state/" + dir + "/metadata.json") << json;
  }
  // An unrelated process that merely got a pid a bottle once had.
  ChildProcess bystander() {
    SpawnOptions so;
    so.argv = {"sleep", "60"};
    so.stdin_null = true;
    auto c = spawn(so);
    EXPECT_TRUE(c.ok());
    return c ? std::move(*c) : ChildProcess();
  }
  TestHome h_;
};

TEST_F(ForgedState, CleanupDoesNotSignalARecycledPid) {
  ChildProcess victim = bystander();
  // The recorded init pid is now someone else's: the start time does not match.
  forge("gone",
        "{\"slug\":\"gone\",\"status\":\"running\",\"pids\":{\"orchestrator\":0,"
        "\"init\":" +
            std::to_string(victim.pid()) + "},\"pid_start_times\":{\"init\":1}}");
  auto r = run_bottle(h_.home(), {"cleanup"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::this_thread::sleep_for(100ms);  // a SIGTERM, had one been sent, lands at once
  EXPECT_FALSE(victim.poll().has_value()) << "cleanup killed an unrelated process";
  EXPECT_FALSE(fs::exists(h_.home() + "/state/gone"));
}

TEST_F(ForgedState, StopDoesNotSignalARecycledPid) {
  ChildProcess victim = bystander();
  forge("gone", "{\"slug\":\"gone\",\"status\":\"running\",\"pids\":{\"orchestrator\":" +
                    std::to_string(victim.pid()) + "},\"pid_start_times\":{\"orchestrator\":1}}");
  auto r = run_bottle(h_.home(), {"stop", "gone"});
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(victim.poll().has_value()) << "stop killed an unrelated process: " << r.err;
}

TEST_F(ForgedState, CleanupUsesTheDirectoryNameNotTheRecordedSlug) {
  const std::string victim = h_.root() + "/victim";
  fs::create_directories(victim);
  std::ofstream(victim + "/keep.txt") << "operator data\n";
  std::string ns;
  if (::geteuid() == 0) {
    ns = "bottle-victim-" + std::to_string(::getpid());
    ASSERT_EQ(run_capture({"ip", "netns", "add", ns})->exit_code, 0);
  }
  forge("evil", "{\"slug\":\"../../victim\",\"status\":\"exited\",\"netns\":\"" + ns + "\"}");
  auto r = run_bottle(h_.home(), {"cleanup"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(victim + "/keep.txt")) << "cleanup deleted outside the state dir";
  EXPECT_FALSE(fs::exists(h_.home() + "/state/evil"));
  if (!ns.empty()) {
    EXPECT_TRUE(fs::exists("/run/netns/" + ns)) << "cleanup deleted a namespace it was told to";
    (void)run_capture({"ip", "netns", "delete", ns});
  }
  // A directory whose name is not a slug is not a bottle: left alone.
  fs::create_directories(h_.home() + "/state/Not_A_Slug");
  std::ofstream(h_.home() + "/state/Not_A_Slug/metadata.json") << "{\"slug\":\"x\"}";
  EXPECT_EQ(run_bottle(h_.home(), {"cleanup"}).exit_code, 0);
  EXPECT_TRUE(fs::exists(h_.home() + "/state/Not_A_Slug"));
  if (::geteuid() != 0) BOTTLE_SKIP() << "the namespace half needs root";
}

}  // namespace
}  // namespace bottle::orchestrator
