// Bad input at bottle-gitgate's sockets and command line: every refusal is a clear
// protocol-level answer (ERR packet, HTTP status), never a crash, never a mirror change.
// No upstream is contacted: the gate's upstream here is a closed loopback port.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "common/listen.h"
#include "gitgate/pkt_line.h"
#include "tests/gitgate/gate_harness.h"

namespace bottle::test {
namespace {

using namespace std::string_literals;

constexpr const char* kHostKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHPc6qDFTajfl6uR9jnS0mJ7JaAEf5ZfwIuIEQCd3YNj";

std::string offline_yaml(const ScratchDir& dir, const std::string& extra = "") {
  write_file(dir.file("key"), "not a real key\n");
  std::filesystem::permissions(
      dir.file("key"), std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return "repos:\n  - name: app\n    upstream: ssh://git@127.0.0.1:" + std::to_string(free_port()) +
         "/srv/app.git\n    host_key: \"" + kHostKey + "\"\n    key: " + dir.file("key") + "\n" +
         extra;
}

class GateInput : public ::testing::Test {
 protected:
  void SetUp() override {
    if (which("git").empty() || which("ssh").empty()) BOTTLE_SKIP() << "git and ssh are needed";
    gate_ = std::make_unique<GateProcess>(dir_.path(),
                                          offline_yaml(dir_, "timeouts: {request_ms: 300}\n"));
    ASSERT_TRUE(gate_->start()) << gate_->log();
  }
  std::string git_request(const std::string& bytes) {
    return exchange(gate_->git_port(), bytes, std::chrono::seconds(3));
  }
  std::string http(const std::string& raw) {
    return exchange(gate_->http_port(), raw, std::chrono::seconds(3));
  }

  ScratchDir dir_{"gitgate-input"};
  std::unique_ptr<GateProcess> gate_;
};

TEST_F(GateInput, UnknownReposAndTraversalGetErrPackets) {
  for (const std::string& path : std::vector<std::string>{
           "/nope.git", "/../app.git", "/app.git/../../etc", "/~root/app.git", "/a/app.git"}) {
    std::string answer = git_request(gitgate::pkt_line("git-upload-pack " + path + "\0host=x\0"s));
    EXPECT_NE(answer.find("ERR gitgate: no such repository on this gate"), std::string::npos)
        << path << ": " << answer;
  }
  auto cloned = git({"clone", gate_->git_url("nope"), dir_.file("c")});
  EXPECT_FALSE(cloned.ok());
  EXPECT_NE(cloned.err.find("remote error: gitgate: no such repository"), std::string::npos)
      << cloned.err;
  EXPECT_FALSE(std::filesystem::exists(gate_->state_dir() + "/mirrors/nope.git"));
}

TEST_F(GateInput, MalformedPktLinesGetErrPackets) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"zzzz", "bad pkt-line length"},
      {"0003", "bad pkt-line length"},
      {"ffff" + std::string(100, 'x'), "longer than 65520"},
      {"0000", "expected a git-upload-pack or git-receive-pack request"},
      {gitgate::pkt_line("git-upload-archive /app.git\0"s), "service not served"},
      {gitgate::pkt_line("hello"), "expected '<service> <path>'"},
  };
  for (const auto& [bytes, why] : cases) {
    std::string answer = git_request(bytes);
    EXPECT_EQ(answer.substr(4, 4), "ERR ") << answer;
    EXPECT_NE(answer.find(why), std::string::npos) << why << ": " << answer;
  }
  EXPECT_GE(gate_->metric("gitgate_bad_requests_total"), cases.size());
}

TEST_F(GateInput, HttpRefusalsCarryTheirStatus) {
  const std::string ct = "Content-Type: application/x-git-upload-pack-request\r\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"GET /nope.git/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: g\r\n\r\n",
       "HTTP/1.1 404"},
      {"GET /../app.git/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: g\r\n\r\n",
       "HTTP/1.1 404"},
      {"GET /app.git/info/refs HTTP/1.1\r\nHost: g\r\n\r\n", "HTTP/1.1 403"},
      {"POST /app.git/git-upload-pack HTTP/1.1\r\nHost: g\r\n" + ct +
           "Content-Length: 2000000\r\n\r\n",
       "HTTP/1.1 413"},
      {"POST /app.git/git-upload-pack HTTP/1.1\r\nHost: g\r\n" + ct + "Content-Length: 12x\r\n\r\n",
       "HTTP/1.1 400"},
      {"POST /app.git/git-upload-pack HTTP/1.1\r\nHost: g\r\n" + ct + "\r\n", "HTTP/1.1 400"},
      {"POST /app.git/git-upload-pack HTTP/1.1\r\nHost: g\r\nContent-Length: 1\r\n\r\nx",
       "HTTP/1.1 415"},
      {"DELETE /app.git/git-upload-pack HTTP/1.1\r\nHost: g\r\n\r\n", "HTTP/1.1 405"},
      {"GARBAGE\r\n\r\n", "HTTP/1.1 400"},
      {"GET / HTTP/1.1\r\nHost: g\r\n" + std::string(70000, 'x') + ": y\r\n\r\n", "HTTP/1.1 431"},
  };
  for (const auto& [raw, want] : cases) {
    std::string answer = http(raw);
    EXPECT_EQ(answer.rfind(want, 0), 0u) << raw.substr(0, 80) << "\n=> " << answer.substr(0, 200);
    EXPECT_NE(answer.find("Content-Type: text/plain"), std::string::npos) << answer.substr(0, 200);
  }
  // git shows the text/plain body of a refusal.
  auto cloned = git({"clone", gate_->http_url("nope"), dir_.file("c")});
  EXPECT_FALSE(cloned.ok());
  EXPECT_NE(cloned.err.find("no such repository"), std::string::npos) << cloned.err;
}

TEST_F(GateInput, KeepAliveServesPipelinedRequestsInOrder) {
  // receive-pack's advertisement needs no upstream: both answers come from the mirror.
  const std::string one =
      "GET /app.git/info/refs?service=git-receive-pack HTTP/1.1\r\nHost: g\r\n\r\n";
  std::string answer = http(
      one + one + "GET /nope.git/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: g\r\n\r\n");
  size_t first = answer.find("HTTP/1.1 200 OK");
  size_t second = answer.find("HTTP/1.1 200 OK", first + 1);
  size_t third = answer.find("HTTP/1.1 404", second == std::string::npos ? 0 : second + 1);
  EXPECT_NE(first, std::string::npos) << answer;
  EXPECT_NE(second, std::string::npos) << answer;
  EXPECT_NE(third, std::string::npos) << answer;
  EXPECT_NE(answer.find("Content-Type: application/x-git-receive-pack-advertisement"),
            std::string::npos);
  EXPECT_NE(answer.find("# service=git-receive-pack"), std::string::npos);
}

TEST_F(GateInput, AGitFailureIsAnAnswerNotASilentHangUp) {
  std::filesystem::remove_all(gate_->state_dir() + "/mirrors/app.git");
  std::string answer = git_request(gitgate::pkt_line("git-receive-pack /app.git\0host=x\0"s));
  EXPECT_NE(answer.find("ERR gitgate: git failed on the gate"), std::string::npos) << answer;
  EXPECT_EQ(answer.find(gate_->state_dir()), std::string::npos)
      << answer;  // host paths stay in the log
  std::string http_answer =
      http("GET /app.git/info/refs?service=git-receive-pack HTTP/1.1\r\nHost: g\r\n\r\n");
  EXPECT_EQ(http_answer.rfind("HTTP/1.1 500", 0), 0u) << http_answer;
  EXPECT_NE(gate_->log().find("\"event\":\"gitgate_child_stderr\""), std::string::npos);
}

TEST_F(GateInput, ABadGzipBodyIs400) {
  const std::string body = "\x1f\x8b\x08\x00garbage-not-deflate";
  std::string answer = http(
      "POST /app.git/git-upload-pack HTTP/1.1\r\nHost: g\r\nContent-Type: "
      "application/x-git-upload-pack-request\r\nContent-Encoding: gzip\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
}

TEST_F(GateInput, StalledClientsAreClosed) {
  // Connects and says nothing: closed once request_ms (300 ms here) passes.
  for (uint16_t port : {gate_->git_port(), gate_->http_port()}) {
    const auto start = std::chrono::steady_clock::now();
    std::string answer = exchange(port, "", std::chrono::seconds(5));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3)) << port;
  }
  // Half a request head: 408.
  EXPECT_EQ(http("GET /app.git/info/refs?serv").rfind("HTTP/1.1 408", 0), 0u);
  // Half a pkt-line: closed without an answer.
  EXPECT_EQ(git_request("003"), "");
  EXPECT_GE(gate_->metric("gitgate_timeouts_total"), 3u);
}

TEST_F(GateInput, TheUpstreamBeingUnreachableIsTheReadsErrorNotAHang) {
  auto ls = git({"ls-remote", gate_->git_url("app")});
  EXPECT_FALSE(ls.ok());
  EXPECT_NE(ls.err.find("fetch from the upstream failed"), std::string::npos) << ls.err;
  auto http_ls = git({"ls-remote", gate_->http_url("app")});
  EXPECT_FALSE(http_ls.ok());
  EXPECT_NE(http_ls.err.find("fetch from the upstream failed"), std::string::npos) << http_ls.err;
}

TEST_F(GateInput, AdminServesHealthAndMetrics) {
  EXPECT_EQ(http_get(gate_->admin_port(), "/healthz"), "ok\n");
  EXPECT_NE(
      http_get(gate_->admin_port(), "/metrics").find("gitgate_requests_total{protocol=\"git\"}"),
      std::string::npos);
  EXPECT_EQ(http_get(gate_->admin_port(), "/routes"), "");  // the gate has no routes page
}

// --- the command line ---------------------------------------------------------------------

gitgate::CommandResult run_gate(std::vector<std::string> args, std::vector<std::string> env = {}) {
  gitgate::SpawnSpec spec;
  spec.argv = {gitgate_binary()};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin"};
  spec.env.insert(spec.env.end(), env.begin(), env.end());
  auto r = gitgate::run_command(spec, 30'000);
  return r.ok() ? *r : gitgate::CommandResult{};
}

TEST(GitgateCli, HelpVersionAndUsageErrors) {
  auto help = run_gate({"--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("--listen-git"), std::string::npos);
  auto version = run_gate({"--version"});
  EXPECT_EQ(version.status, 0);
  EXPECT_EQ(version.out.rfind("bottle-gitgate 0.1.0 (commit ", 0), 0u) << version.out;
  auto bad = run_gate({"--config", "x", "--bogus"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_EQ(bad.err.rfind("bottle-gitgate: usage: ", 0), 0u) << bad.err;
  auto no_state = run_gate({"--config", "x"});
  EXPECT_EQ(no_state.status, 2);
}

TEST(GitgateCli, CheckValidatesTheConfigWithFileLineAndColumn) {
  ScratchDir dir("gitgate-cli");
  write_file(dir.file("good.yaml"), offline_yaml(dir));
  auto good = run_gate({"--config", dir.file("good.yaml"), "--check"});
  EXPECT_EQ(good.status, 0) << good.err;
  EXPECT_NE(good.out.find("ok (1 repos)"), std::string::npos);
  write_file(dir.file("bad.yaml"),
             "repos:\n  - name: app\n    upstream: ssh://h/x.git\n    key: /k\n");
  auto bad = run_gate({"--config", dir.file("bad.yaml"), "--check"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_EQ(bad.err, "bottle-gitgate: config: " + dir.file("bad.yaml") +
                         ":2:5: repo 'app' is missing 'host_key' (the upstream's pinned ssh host "
                         "key; the gate never "
                         "trusts a key on first use)\n");
  write_file(dir.file("env.yaml"),
             offline_yaml(dir, "dlp: {known_secrets_env: [GITGATE_SECRET_0]}\n"));
  auto unset = run_gate({"--config", dir.file("env.yaml"), "--check"});
  EXPECT_EQ(unset.status, 1);
  EXPECT_NE(unset.err.find("environment variable GITGATE_SECRET_0 is not set"), std::string::npos)
      << unset.err;
}

// dlp.detectors ids are checked against the engine's catalog, as egress checks routes.yaml.
TEST(GitgateCli, CheckRefusesAnUnknownDetectorId) {
  ScratchDir dir("gitgate-cli");
  write_file(dir.file("ok.yaml"),
             offline_yaml(dir, "dlp: {detectors: {secret.aws_access_key_id: warn}}\n"));
  auto ok = run_gate({"--config", dir.file("ok.yaml"), "--check"});
  EXPECT_EQ(ok.status, 0) << ok.err;
  write_file(dir.file("typo.yaml"), offline_yaml(dir, "dlp: {detectors: {secret.awz: warn}}\n"));
  auto typo = run_gate({"--config", dir.file("typo.yaml"), "--check"});
  EXPECT_EQ(typo.status, 1);
  EXPECT_EQ(typo.err.rfind("bottle-gitgate: config: " + dir.file("typo.yaml") + ":", 0), 0u)
      << typo.err;
  EXPECT_NE(typo.err.find("secret.awz"), std::string::npos) << typo.err;
}

TEST(GitgateCli, ListenersAreRequiredAndAStateProblemIsARuntimeError) {
  ScratchDir dir("gitgate-cli");
  write_file(dir.file("g.yaml"), offline_yaml(dir));
  auto none = run_gate({"--config", dir.file("g.yaml"), "--state", dir.file("s")});
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.err.find("--listen-git and --listen-http are required"), std::string::npos)
      << none.err;
  write_file(dir.file("file"), "");
  auto state = run_gate({"--config", dir.file("g.yaml"), "--state", dir.file("file"),
                         "--listen-git", "127.0.0.1:0", "--listen-http", "127.0.0.1:0"});
  EXPECT_EQ(state.status, 1);
  EXPECT_EQ(state.err.rfind("bottle-gitgate: state: ", 0), 0u) << state.err;
  auto port = run_gate({"--config", dir.file("g.yaml"), "--state", dir.file("s"), "--listen-git",
                        "nonsense", "--listen-http", "127.0.0.1:0"});
  EXPECT_EQ(port.status, 2);
}

TEST(GitgateCli, ListenFdsNamedGitAndHttpAreUsed) {
  ScratchDir dir("gitgate-cli");
  write_file(dir.file("g.yaml"), offline_yaml(dir));
  ListenSpec any;
  any.host = "127.0.0.1";
  auto git_fd = open_listener(any), http_fd = open_listener(any);
  ASSERT_TRUE(git_fd.ok() && http_fd.ok());
  const uint16_t git_port = local_port(*git_fd), http_port = local_port(*http_fd);
  gitgate::SpawnSpec spec;
  // Handed over in the order http, git: the names decide.
  spec.argv = {gitgate_binary(), "--config", dir.file("g.yaml"), "--state", dir.file("s")};
  spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LISTEN_FDS=2", "LISTEN_FDNAMES=http:git"};
  spec.pass_fds = {*http_fd, *git_fd};
  auto p = gitgate::Subprocess::start(spec);
  ASSERT_TRUE(p.ok()) << p.error();
  close(*git_fd);
  close(*http_fd);
  EXPECT_TRUE(eventually([&] {
    return exchange(git_port, gitgate::pkt_line("git-upload-pack /nope.git\0"s),
                    std::chrono::seconds(1))
               .find("ERR gitgate: no such repository") != std::string::npos;
  })) << p->captured_stderr();
  EXPECT_EQ(exchange(http_port, "GET /nope.git/info/refs?service=git-upload-pack HTTP/1.1\r\n\r\n")
                .rfind("HTTP/1.1 404", 0),
            0u);
}

}  // namespace
}  // namespace bottle::test
