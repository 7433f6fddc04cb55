// bottle-init through its real binary, as PID 1 of a fresh PID namespace, with shell
// scripts (and test_daemon) as daemons. Daemons report what they saw into files in the
// test's temp dir; the test polls those files, the log and the control socket.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>
#include <sstream>

#include "tests/init/init_harness.h"
#include "tests/support/support.h"

namespace bottle::init::testing {
namespace {

using Clock = std::chrono::steady_clock;

class InitProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) BOTTLE_SKIP() << "needs root: runs bottle-init under unshare --pid";
  }
};

// One daemon entry running `script` under /bin/sh; `extra` is more YAML for the entry.
std::string daemon(const std::string& name, const std::string& script,
                   const std::string& extra = "") {
  std::string quoted;
  for (char c : script) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return "  " + name + ":\n    argv: [/bin/sh, -c, '" + quoted + "']\n    env: [PATH]\n" + extra;
}

// Installs traps first, then announces itself, so a test that waits for the marker knows
// signals are handled.
std::string idle(const std::string& marker, const std::string& traps = "") {
  return traps + "echo $$ > " + marker + "; while :; do sleep 0.05; done";
}

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

TEST_F(InitProcess, ReapsOrphanedGrandchild) {
  TempDir tmp;
  const std::string gc = tmp.path + "/grandchild";
  InitRun init({.yaml = "daemons:\n" +
                        daemon("egress", "sleep 0.3 & echo $! > " + gc + "; exit 0",
                               "    restart: never\n") +
                        daemon("supervise", idle(tmp.path + "/s")),
                .daemons = "egress,supervise"});
  ASSERT_TRUE(eventually([&] { return !read_file(gc).empty(); }));
  const std::string gc_pid = read_file(gc).substr(0, read_file(gc).find('\n'));
  ASSERT_TRUE(init.wait_log("\"event\":\"reaped_orphan\",\"level\":\"info\",\"pid\":" + gc_pid))
      << init.log();
  EXPECT_TRUE(zombie_children(init.init_pid()).empty());
  EXPECT_TRUE(init.wait_log("\"daemon_not_restarted\""));
}

// Log events of one daemon, in order, with their timestamps in ms.
std::vector<std::pair<std::string, long long>> events_of(const std::string& log,
                                                         const std::string& daemon) {
  std::vector<std::pair<std::string, long long>> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || j.value("daemon", "") != daemon || !j.contains("ts")) continue;
    std::tm tm{};
    int millis = 0;
    sscanf(j["ts"].get<std::string>().c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon,
           &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    out.emplace_back(j.value("event", ""), timegm(&tm) * 1000LL + millis);
  }
  return out;
}

TEST_F(InitProcess, RestartsCrashedDaemonWithBackoffWhileOthersKeepRunning) {
  TempDir tmp;
  InitRun init({.yaml = "daemons:\n" + daemon("gitgate", "exit 1") +
                        daemon("supervise", idle(tmp.path + "/s")),
                .daemons = "gitgate,supervise"});
  ASSERT_TRUE(eventually([&] { return file_exists(tmp.path + "/s"); }));
  const auto first = init.ctl("status");
  ASSERT_TRUE(init.wait_log("\"restarts\":4,", 10s)) << init.log();
  // Each gap from a death to the next start is the backoff: 100, 200, 400, 800 ms. The
  // upper bound only rules out runaway delays (the machine may be loaded).
  std::vector<long long> gaps;
  long long died = -1;
  for (const auto& [event, t] : events_of(init.log(), "gitgate")) {
    if (event == "daemon_exited") died = t;
    if (event == "daemon_started" && died >= 0) gaps.push_back(t - died);
  }
  ASSERT_GE(gaps.size(), 4u) << init.log();
  for (size_t i = 0; i < 4; ++i) {
    const long long want = 100LL << i;
    EXPECT_GE(gaps[i], want - 1) << "restart " << i + 1;
    EXPECT_LE(gaps[i], want * 2 + 500) << "restart " << i + 1;
  }
  EXPECT_NE(init.log().find("\"status\":\"exit 1\""), std::string::npos);
  EXPECT_NE(init.log().find("\"delay_ms\":800"), std::string::npos);
  const auto now = init.ctl("status");
  EXPECT_EQ(now["daemons"]["supervise"]["pid"], first["daemons"]["supervise"]["pid"]);
  EXPECT_EQ(now["daemons"]["supervise"]["restarts"], 0);
  EXPECT_GE(now["daemons"]["gitgate"]["restarts"].get<int>(), 4);
  EXPECT_EQ(now["daemons"]["gitgate"]["last_exit"], "exit 1");
}

TEST_F(InitProcess, OnFailureRestartsOnlyFailedExits) {
  TempDir tmp;
  const std::string on_failure = "    restart: on-failure\n";
  InitRun init({.yaml = "daemons:\n" +
                        daemon("egress", "echo run >> " + tmp.path + "/e; exit 0", on_failure) +
                        daemon("gitgate", "echo run >> " + tmp.path + "/g; exit 1", on_failure),
                .daemons = "egress,gitgate"});
  ASSERT_TRUE(init.wait_log("\"restarts\":2,")) << init.log();  // gitgate, twice
  EXPECT_EQ(read_file(tmp.path + "/e"), "run\n");
  EXPECT_EQ(init.ctl("status")["daemons"]["egress"]["state"], "exited");
}

TEST_F(InitProcess, LogsRestartStorm) {
  TempDir tmp;
  InitRun init({.yaml = "daemons:\n" + daemon("gitgate", "exit 2"), .daemons = "gitgate"});
  EXPECT_TRUE(init.wait_log("\"event\":\"restart_storm\"", 8s)) << init.log();
}

TEST_F(InitProcess, ForwardsSighupOnlyToReloadDaemon) {
  TempDir tmp;
  const std::string traps_e = "trap \"echo hup >> " + tmp.path + "/egress.hup\" HUP; ";
  const std::string traps_g = "trap \"echo hup >> " + tmp.path + "/gitgate.hup\" HUP; ";
  InitRun init(
      {.yaml = "daemons:\n" +
               daemon("egress", idle(tmp.path + "/e", traps_e), "    reload_signal: true\n") +
               daemon("gitgate", idle(tmp.path + "/g", traps_g)),
       .daemons = "egress,gitgate"});
  ASSERT_TRUE(
      eventually([&] { return file_exists(tmp.path + "/e") && file_exists(tmp.path + "/g"); }));
  const auto before = init.ctl("status");
  init.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return read_file(tmp.path + "/egress.hup") == "hup\n"; }));
  // ctl reload is the same forwarding; after it lands, gitgate has had time to get one too.
  const auto reply = init.ctl("reload");
  EXPECT_EQ(reply["signaled"], nlohmann::json::array({"egress"}));
  ASSERT_TRUE(eventually([&] { return read_file(tmp.path + "/egress.hup") == "hup\nhup\n"; }));
  EXPECT_FALSE(file_exists(tmp.path + "/gitgate.hup"));
  // SIGUSR1 is not a restart request (that is `ctl restart`): logged, nothing else.
  init.signal(SIGUSR1);
  EXPECT_TRUE(init.wait_log("\"signal\":\"SIGUSR1\""));
  EXPECT_EQ(init.ctl("status")["daemons"], before["daemons"]);
}

TEST_F(InitProcess, ScopesEnvPerDaemon) {
  TempDir tmp;
  std::string yaml = "daemons:\n";
  for (const char* d : {"egress", "gitgate", "supervise"}) {
    yaml += "  " + std::string(d) + ":\n    argv: [/bin/sh, -c, 'env > " + tmp.path + "/" + d +
            ".env; exec sleep 1000']\n    env: [\"*\"]\n";
  }
  InitRun init({.yaml = yaml,
                .daemons = "egress,gitgate,supervise",
                .env = {"EGRESS_TOKEN_1=tok1", "GIT_SSH_KEY=key", "GITGATE_DEPLOY_KEY=dk",
                        "SSH_AUTH_SOCK=/agent", "HTTPS_PROXY=http://p", "http_proxy=http://p",
                        "NO_PROXY=x", "SHARED=1"}});
  auto env_of = [&](const char* d) { return read_file(tmp.path + "/" + d + ".env"); };
  ASSERT_TRUE(eventually([&] {
    return !env_of("egress").empty() && !env_of("gitgate").empty() && !env_of("supervise").empty();
  }));
  EXPECT_NE(env_of("egress").find("EGRESS_TOKEN_1=tok1"), std::string::npos);
  for (const char* d : {"gitgate", "supervise"}) {
    EXPECT_EQ(env_of(d).find("EGRESS_TOKEN_1"), std::string::npos) << d;
  }
  for (const char* key : {"GIT_SSH_KEY=key", "GITGATE_DEPLOY_KEY=dk", "SSH_AUTH_SOCK=/agent"}) {
    EXPECT_NE(env_of("gitgate").find(key), std::string::npos) << key;
    EXPECT_EQ(env_of("egress").find(key), std::string::npos) << key;
    EXPECT_EQ(env_of("supervise").find(key), std::string::npos) << key;
  }
  for (const char* d : {"egress", "gitgate", "supervise"}) {
    EXPECT_NE(env_of(d).find("SHARED=1"), std::string::npos) << d;
    for (const char* proxy : {"HTTPS_PROXY", "http_proxy", "NO_PROXY"}) {
      EXPECT_EQ(env_of(d).find(proxy), std::string::npos) << d << " " << proxy;
    }
  }
}

TEST_F(InitProcess, GracefulStopWithinGraceExitsZero) {
  TempDir tmp;
  InitRun init({.yaml = "daemons:\n" + daemon("egress", idle(tmp.path + "/e")) +
                        daemon("gitgate", idle(tmp.path + "/g")),
                .daemons = "egress,gitgate",
                .args = {"--grace-ms", "5000"}});
  ASSERT_TRUE(
      eventually([&] { return file_exists(tmp.path + "/e") && file_exists(tmp.path + "/g"); }));
  const auto t0 = Clock::now();
  init.signal(SIGTERM);
  EXPECT_EQ(init.wait_exit(5s), 0) << init.log();
  EXPECT_LT(ms_since(t0), 2000);
  EXPECT_EQ(init.log().find("grace_expired"), std::string::npos);
}

TEST_F(InitProcess, KillsDaemonThatIgnoresTermAfterGrace) {
  TempDir tmp;
  InitRun init({.yaml = "daemons:\n" + daemon("egress", idle(tmp.path + "/e", "trap \"\" TERM; ")),
                .daemons = "egress",
                .args = {"--grace-ms", "300"}});
  ASSERT_TRUE(eventually([&] { return file_exists(tmp.path + "/e"); }));
  const auto t0 = Clock::now();
  init.signal(SIGTERM);
  EXPECT_EQ(init.wait_exit(5s), 128 + SIGKILL) << init.log();
  EXPECT_GE(ms_since(t0), 300);
  EXPECT_LT(ms_since(t0), 2000);
  EXPECT_NE(init.log().find("\"event\":\"grace_expired\""), std::string::npos);
}

TEST_F(InitProcess, CtlRestartKillsDaemonThatIgnoresTermAfterGrace) {
  TempDir tmp;
  // Only the first instance ignores TERM.
  const std::string first = tmp.path + "/first";
  const std::string script = "if [ ! -e " + first + " ]; then touch " + first +
                             "; trap \"\" TERM; fi; " + idle(tmp.path + "/e");
  InitRun init({.yaml = "daemons:\n" + daemon("egress", script),
                .daemons = "egress",
                .args = {"--grace-ms", "300"}});
  ASSERT_TRUE(eventually([&] { return file_exists(tmp.path + "/e"); }));
  const auto t0 = Clock::now();
  const auto reply = init.ctl("restart egress");
  EXPECT_EQ(reply["ok"], true) << reply.dump();
  EXPECT_GE(ms_since(t0), 300);
  EXPECT_NE(init.log().find("\"event\":\"grace_expired\""), std::string::npos);
  EXPECT_EQ(init.ctl("status")["daemons"]["egress"]["last_exit"], "signal SIGKILL");
  // The operator asked for that restart: its KILL is not the failure init exits with.
  init.signal(SIGINT);
  EXPECT_EQ(init.wait_exit(5s), 0) << init.log();
}

TEST_F(InitProcess, ExitsWithFirstNonZeroChildStatus) {
  TempDir tmp;
  InitRun init({.yaml = "daemons:\n" +
                        daemon("egress", idle(tmp.path + "/e", "trap \"exit 3\" TERM; ")) +
                        daemon("gitgate", idle(tmp.path + "/g")),
                .daemons = "egress,gitgate"});
  ASSERT_TRUE(
      eventually([&] { return file_exists(tmp.path + "/e") && file_exists(tmp.path + "/g"); }));
  init.signal(SIGINT);
  EXPECT_EQ(init.wait_exit(5s), 3) << init.log();
}

TEST_F(InitProcess, CtlRestartsOneDaemonAndOthersKeepTheirPids) {
  TempDir tmp;
  InitRun init({.yaml = "daemons:\n" + daemon("egress", idle(tmp.path + "/e")) +
                        daemon("gitgate", idle(tmp.path + "/g")) +
                        daemon("supervise", idle(tmp.path + "/s")),
                .daemons = "egress,gitgate,supervise"});
  ASSERT_TRUE(eventually([&] { return init.ctl("status")["ready"] == true; }));
  const auto before = init.ctl("status")["daemons"];
  const auto reply = init.ctl("restart gitgate");
  ASSERT_EQ(reply["ok"], true) << reply.dump();
  EXPECT_NE(reply["pid"], before["gitgate"]["pid"]);
  const auto after = init.ctl("status")["daemons"];
  EXPECT_EQ(after["gitgate"]["pid"], reply["pid"]);
  EXPECT_EQ(after["gitgate"]["restarts"], 1);
  EXPECT_EQ(after["egress"], before["egress"]);
  EXPECT_EQ(after["supervise"], before["supervise"]);
  EXPECT_EQ(init.ctl("restart nope")["ok"], false);
  struct stat st {};
  ASSERT_EQ(stat(init.ctl_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(InitProcess, CtlRestartRevivesADaemonThatExitedForGood) {
  TempDir tmp;
  InitRun init(
      {.yaml = "daemons:\n" +
               daemon("egress", "echo run >> " + tmp.path + "/runs", "    restart: never\n") +
               daemon("gitgate", idle(tmp.path + "/g")),
       .daemons = "egress,gitgate"});
  ASSERT_TRUE(init.wait_log("\"daemon_not_restarted\""));
  EXPECT_EQ(init.ctl("status")["daemons"]["egress"]["state"], "exited");
  const auto reply = init.ctl("restart egress");
  EXPECT_EQ(reply["ok"], true) << reply.dump();
  EXPECT_TRUE(eventually([&] { return read_file(tmp.path + "/runs") == "run\nrun\n"; }));
}

TEST_F(InitProcess, NoFdLeakAcrossTwentyRestarts) {
  TempDir tmp;
  InitRun init({.yaml = "daemons:\n" + daemon("egress", "echo out; echo err >&2; exec sleep 1000") +
                        daemon("gitgate", idle(tmp.path + "/g")),
                .daemons = "egress,gitgate"});
  ASSERT_TRUE(eventually([&] { return init.ctl("status")["ready"] == true; }));
  const pid_t pid = init.init_pid();
  // Let the first start's output drain so its pipes are in a steady state.
  ASSERT_TRUE(init.wait_log("\"line\":\"err\""));
  const int baseline = count_fds(pid);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(init.ctl("restart egress")["ok"], true) << i;
  // <=, not ==: the baseline may include a ctl connection init is just closing.
  EXPECT_TRUE(eventually([&] { return count_fds(pid) <= baseline; }))
      << "before " << baseline << " after " << count_fds(pid);
}

TEST_F(InitProcess, HandsInheritedSocketToDaemonAsFd3) {
  TempDir tmp;
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 8), 0);
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string report = tmp.path + "/report";
  InitRun init({.yaml = "daemons:\n  egress:\n    argv: [" + std::string(TEST_DAEMON_BIN) +
                        ", accept-fd3, " + report + "]\n    inherit_fds: [7]\n",
                .daemons = "egress",
                .pass_fd = listener,
                .pass_fd_as = 7});
  close(listener);
  const int c = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  char buf[256] = {};
  const ssize_t n = read(c, buf, sizeof buf - 1);
  close(c);
  ASSERT_GT(n, 0) << init.log();
  EXPECT_NE(std::string(buf).find("listen_fds=1 listen_pid_ok=1"), std::string::npos) << buf;
  EXPECT_EQ(std::string(buf), read_file(report));
}

TEST_F(InitProcess, DaemonGetsNoFdItWasNotHandedExplicitly) {
  TempDir tmp;
  const int stray = open("/dev/null", O_RDONLY);  // init gets it as fd 9, unlisted
  InitRun init(
      {.yaml = "daemons:\n" + daemon("egress", "exec ls /proc/self/fd > " + tmp.path + "/fds"),
       .daemons = "egress",
       .pass_fd = stray,
       .pass_fd_as = 9});
  close(stray);
  ASSERT_TRUE(eventually([&] { return !read_file(tmp.path + "/fds").empty(); })) << init.log();
  EXPECT_EQ(read_file(tmp.path + "/fds"), "0\n1\n2\n3\n");  // 3: ls's own listing
}

// A listening socket on 127.0.0.1 (port from the kernel) handed to test_daemon http-fd3.
struct HttpDaemon {
  explicit HttpDaemon(const std::string& status) : status(status) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd, 8);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~HttpDaemon() { close(fd); }
  std::string yaml(const std::string& name) const {
    return "  " + name + ":\n    argv: [" + std::string(TEST_DAEMON_BIN) + ", http-fd3, '" +
           status +
           "']\n    inherit_fds: [7]\n    ready: {http: \"127.0.0.1:" + std::to_string(port) +
           "/healthz\"}\n";
  }
  std::string status;
  int fd;
  int port;
};

TEST_F(InitProcess, WritesReadyFileWhenEveryDaemonIsReady) {
  TempDir tmp;
  HttpDaemon http("200");
  InitRun init(
      {.yaml = "daemons:\n" + http.yaml("egress") + daemon("gitgate", idle(tmp.path + "/g")),
       .daemons = "egress,gitgate",
       .pass_fd = http.fd,
       .pass_fd_as = 7});
  ASSERT_TRUE(eventually([&] { return file_exists(init.ready_path()); })) << init.log();
  EXPECT_EQ(read_file(init.ready_path()), "ready\n");
  EXPECT_NE(init.log().find("\"event\":\"all_ready\""), std::string::npos);
  const auto status = init.ctl("status");
  EXPECT_EQ(status["ready"], true);
  EXPECT_EQ(status["daemons"]["egress"]["ready"], true);
}

TEST_F(InitProcess, NotReadyWhileHealthCheckFails) {
  TempDir tmp;
  HttpDaemon http("503");
  InitRun init({.yaml = "daemons:\n" + http.yaml("egress"),
                .daemons = "egress",
                .pass_fd = http.fd,
                .pass_fd_as = 7});
  ASSERT_TRUE(init.wait_log("\"event\":\"daemon_started\""));
  // Several 100 ms check rounds pass; none may turn a 503 into ready.
  EXPECT_FALSE(eventually([&] { return init.ctl("status")["ready"] == true; }, 600ms));
  EXPECT_FALSE(file_exists(init.ready_path()));
  EXPECT_EQ(init.log().find("all_ready"), std::string::npos);
}

TEST_F(InitProcess, TcpReadinessWaitsForAListener) {
  TempDir tmp;
  // Bound but not listening: connects are refused until the test calls listen().
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string probe =
      "    ready: {tcp: \"127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "\"}\n";
  InitRun init({.yaml = "daemons:\n" + daemon("gitgate", idle(tmp.path + "/g"), probe),
                .daemons = "gitgate"});
  ASSERT_TRUE(eventually([&] { return file_exists(tmp.path + "/g"); }));
  EXPECT_FALSE(eventually([&] { return init.ctl("status")["ready"] == true; }, 300ms));
  ASSERT_EQ(listen(fd, 8), 0);
  EXPECT_TRUE(eventually([&] { return file_exists(init.ready_path()); })) << init.log();
  close(fd);
}

TEST_F(InitProcess, RelaysChildOutputAsJsonLines) {
  TempDir tmp;
  const std::string script =
      "echo plain; echo \"{\\\"event\\\":\\\"own\\\",\\\"daemon\\\":\\\"spoof\\\"}\"; "
      "printf \"bad \\377 utf8\\n\"; echo oops >&2; head -c 20000 /dev/zero | tr \"\\0\" x; "
      "echo $$ > " +
      tmp.path + "/e; exec sleep 1000";
  InitRun init({.yaml = "daemons:\n" + daemon("egress", script), .daemons = "egress"});
  ASSERT_TRUE(eventually([&] { return file_exists(tmp.path + "/e"); }));
  init.signal(SIGTERM);
  ASSERT_EQ(init.wait_exit(5s), 0);
  std::vector<nlohmann::json> lines;
  std::istringstream log(init.log());
  for (std::string line; std::getline(log, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    if (j.value("daemon", "") == "egress" && j.value("event", "") != "daemon_started")
      lines.push_back(j);
  }
  auto find = [&](auto pred) {
    return std::find_if(lines.begin(), lines.end(), pred) != lines.end();
  };
  EXPECT_TRUE(
      find([](auto& j) { return j.value("line", "") == "plain" && j["stream"] == "stdout"; }));
  EXPECT_TRUE(
      find([](auto& j) { return j.value("line", "") == "oops" && j["stream"] == "stderr"; }));
  EXPECT_TRUE(find([](auto& j) { return j.value("event", "") == "own"; }));
  EXPECT_TRUE(find([](auto& j) { return j.value("line", "") == "bad \xEF\xBF\xBD utf8"; }));
  EXPECT_TRUE(find([](auto& j) { return j.value("line", "").size() == 16384; }));
  EXPECT_TRUE(find([](auto& j) { return j.value("line", "").size() == 20000 - 16384; }));
}

TEST_F(InitProcess, ChattyDaemonDoesNotStarveOthers) {
  TempDir tmp;
  InitRun init({.yaml = "daemons:\n" + daemon("egress", "exec yes spam spam") +
                        daemon("gitgate", idle(tmp.path + "/g")),
                .daemons = "egress,gitgate",
                .args = {"--grace-ms", "300"}});
  ASSERT_TRUE(init.wait_log("spam spam"));
  // While egress floods its pipe, gitgate's restart and output still go through.
  const auto t0 = Clock::now();
  const auto reply = init.ctl("restart gitgate");
  EXPECT_EQ(reply["ok"], true) << reply.dump();
  EXPECT_LT(ms_since(t0), 5000);  // starvation would hang here; the bound allows ASan
  EXPECT_TRUE(init.wait_log("\"restarts\":1,"));
  init.signal(SIGTERM);
  EXPECT_EQ(init.wait_exit(5s), 0);
}

TEST_F(InitProcess, ReportsExecFailureAndRetries) {
  InitRun init(
      {.yaml = "daemons:\n  egress: {argv: [/nonexistent/daemon]}\n", .daemons = "egress"});
  EXPECT_TRUE(init.wait_log("\"error\":\"exec /nonexistent/daemon: No such file or directory\""))
      << init.log();
  EXPECT_TRUE(init.wait_log("\"consecutive_failures\":2"));
  EXPECT_EQ(init.ctl("status")["daemons"]["egress"]["ready"], false);
  const auto reply = init.ctl("restart egress");
  EXPECT_EQ(reply["ok"], false);
  EXPECT_NE(reply.value("error", "").find("No such file or directory"), std::string::npos)
      << reply.dump();
}

TEST_F(InitProcess, IdlesWithNoDaemonsSelected) {
  InitRun init({.yaml = "daemons:\n  egress: {argv: [/bin/true]}\n", .daemons = ""});
  ASSERT_TRUE(init.wait_log("\"event\":\"idle\""));
  const auto status = init.ctl("status");
  EXPECT_EQ(status["ok"], true);
  EXPECT_TRUE(status["daemons"].empty());
  init.signal(SIGTERM);
  EXPECT_EQ(init.wait_exit(5s), 0);
}

// Runs bottle-init directly; it must refuse to start with exit 1 and one stderr line
// "bottle-init: config: ..." containing `message`.
void expect_start_failure(const std::string& yaml, const std::string& daemons,
                          const std::string& message) {
  InitRun init({.yaml = yaml, .daemons = daemons, .pid_namespace = false});
  EXPECT_EQ(init.wait_exit(5s), 1);
  const std::string log = init.log();
  EXPECT_EQ(log.rfind("bottle-init: config: ", 0), 0u) << log;
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
  EXPECT_NE(log.find(message), std::string::npos) << log;
}

TEST_F(InitProcess, AnUnwatchableReloadDirectoryFailsTheStart) {
  InitRun init({.yaml = "daemons:\n  a:\n    argv: [/bin/sleep, '30']\n"
                        "    reload_on_change: /nonexistent-bottle-dir\n",
                .daemons = "a",
                .pid_namespace = false});
  EXPECT_EQ(init.wait_exit(5s), 1);
  const std::string log = init.log();
  EXPECT_NE(log.find("bottle-init: daemon 'a' reload_on_change /nonexistent-bottle-dir: No such "
                     "file or directory\n"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("daemon_started"), std::string::npos) << "nothing starts";
}

TEST_F(InitProcess, BadConfigFailsWithLineAndColumn) {
  expect_start_failure("daemons:\n  egress:\n    argv: [/bin/true]\n    argz: 1\n", "egress",
                       "/init.yaml:4:5: unknown key 'argz' in daemon 'egress'");
}

TEST_F(InitProcess, UnknownDaemonNameFailsAtStart) {
  expect_start_failure("daemons:\n  egress: {argv: [/bin/true]}\n", "egress,gitgate",
                       "BOTTLE_DAEMONS: unknown daemon 'gitgate'");
}

TEST_F(InitProcess, MissingInheritedFdFailsAtStart) {
  expect_start_failure("daemons:\n  egress: {argv: [/bin/true], inherit_fds: [9]}\n", "egress",
                       "inherit_fds 9 is not an open fd");
}

TEST_F(InitProcess, ControlSocketPathComesFromEnvWhenNoFlag) {
  InitRun init({.yaml = "daemons: {}\n", .daemons = "", .ctl_via_env = true});
  ASSERT_TRUE(init.wait_log("\"event\":\"idle\""));
  EXPECT_NE(init.log().find("\"ctl\":\"" + init.ctl_path() + "\""), std::string::npos);
  // The client reads the same variable.
  const int status = std::system(
      ("BOTTLE_INIT_CTL=" + init.ctl_path() + " " + BOTTLE_INIT_BIN + " ctl status >/dev/null")
          .c_str());
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(InitProcess, CtlClientFailsClearlyWithoutAServer) {
  TempDir tmp;
  const std::string err = tmp.path + "/err";
  const int status = std::system(
      (std::string(BOTTLE_INIT_BIN) + " ctl status --socket " + tmp.path + "/none.sock 2>" + err)
          .c_str());
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_EQ(read_file(err),
            "bottle-init: ctl: " + tmp.path + "/none.sock: No such file or directory\n");
}

// The sidecar image's HEALTHCHECK: healthy only once every started daemon is ready.
TEST_F(InitProcess, CtlHealthIsZeroOnlyWhenEveryDaemonIsReady) {
  TempDir tmp;
  // A tcp probe on a port nobody listens on: supervise runs but never becomes ready.
  const int closed = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(closed, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::getsockname(closed, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  InitRun init({.yaml = "daemons:\n" + daemon("egress", idle(tmp.path + "/e")) +
                        daemon("supervise", idle(tmp.path + "/s"),
                               "    ready: {tcp: \"127.0.0.1:" +
                                   std::to_string(ntohs(addr.sin_port)) + "\"}\n"),
                .daemons = "egress,supervise"});
  auto health = [&] {
    const int status = std::system((std::string(BOTTLE_INIT_BIN) + " ctl health --socket " +
                                    init.ctl_path() + " >/dev/null 2>&1")
                                       .c_str());
    return WEXITSTATUS(status);
  };
  ASSERT_TRUE(eventually([&] { return file_exists(tmp.path + "/s"); }));
  ASSERT_EQ(init.ctl("status")["daemons"]["egress"]["ready"], true);
  EXPECT_EQ(health(), 1);
  ::close(closed);
  // The same init with every daemon ready.
  InitRun ready(
      {.yaml = "daemons:\n" + daemon("egress", idle(tmp.path + "/e2")), .daemons = "egress"});
  ASSERT_TRUE(eventually([&] { return ready.ctl("status")["ready"] == true; }));
  const int status = std::system(
      (std::string(BOTTLE_INIT_BIN) + " ctl health --socket " + ready.ctl_path() + " >/dev/null")
          .c_str());
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace bottle::init::testing
