// End-to-end `bottle run` on the local backend (SPEC §9.4, §10): real bottle-init,
// real bottle-egress, a real network namespace and bubblewrap. Skipped (with the
// reason) when not root or when the sidecar binaries are not built; under CI=true that
// is a failure.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/sha256.h"
#include "orchestrator/process.h"
#include "orchestrator/state.h"
#include "tests/orchestrator/e2e_support.h"
#include "tests/orchestrator/test_home.h"
#include "tests/support/support.h"

namespace bottle::orchestrator {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::EchoUpstream;
using testing::run_bottle;
using testing::TestHome;

constexpr const char* kToken = "e2e-tok-7f3a9c1d5e";

std::string sidecar_binary(const std::string& name) {
  fs::path dir = fs::path(testing::bottle_binary()).parent_path();
  for (const char* rel : {"", "../proxy/", "../init/"}) {
    fs::path p = dir / (std::string(rel) + name);
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

using ::bottle::test::eventually;  // tests/support
using ::bottle::test::read_file;

class LocalE2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) {
      skip_ = "needs root (network namespaces)";
    } else if (sidecar_binary("bottle-egress").empty()) {
      skip_ = "bottle-egress is not built next to bottle";
    } else if (sidecar_binary("bottle-init").empty()) {
      skip_ = "bottle-init is not built next to bottle";
    } else if (find_helper_binary("bwrap").empty() || find_helper_binary("curl").empty()) {
      skip_ = "bwrap and curl are needed";
    } else {
      upstream_ = new EchoUpstream();
      if (!upstream_->ok()) skip_ = "could not start the python3 echo upstream";
    }
  }
  static void TearDownTestSuite() {
    delete upstream_;
    upstream_ = nullptr;
  }

  void SetUp() override {
    if (!skip_.empty()) BOTTLE_SKIP() << skip_;
    const std::string p = std::to_string(upstream_->port());
    // tls.demo points at the plain-HTTP upstream: the agent-side TLS (bumped with the
    // bottle CA) succeeds, the upstream TLS handshake cannot.
    // token.demo carries a token on plain HTTP: egress must refuse it (SPEC §4.2.10);
    // the token over TLS is HttpsThroughTheBumpWithTheTokenInjected.
    home_.bottle("e2e",
                 "---\nsupervise: false\negress:\n  log: blocks\n  resolve: [\"upstream.demo:" + p +
                     ":127.0.0.1\", \"second.demo:" + p + ":127.0.0.1\", \"tls.demo:" + p +
                     ":127.0.0.1\", \"token.demo:" + p +
                     ":127.0.0.1\"]\n  routes:\n"
                     "    - host: upstream.demo\n      port: " +
                     p +
                     "\n      allow_private: true\n"
                     "    - host: token.demo\n      port: " +
                     p +
                     "\n      allow_private: true\n"
                     "      auth: {scheme: Bearer, token_ref: E2E_UPSTREAM_TOKEN}\n"
                     "    - host: tls.demo\n      port: " +
                     p + "\n      allow_private: true\n---\n");
    home_.agent(
        "e2e",
        "---\nbottle: e2e\nprovider: command\ncommand: [\"true\"]\n---\nsecret-free prompt\n");
    workspace_ = home_.home() + "/../ws";
    fs::create_directories(workspace_);
    workspace_ = fs::canonical(workspace_).string();
  }

  std::string url(const std::string& host, const std::string& path = "/") const {
    return "http://" + host + ":" + std::to_string(upstream_->port()) + path;
  }

  // `bottle run e2e -- bash -c script`, with the real token in bottle's environment.
  CaptureResult run_script(const std::string& script, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"run", "e2e", "--cwd", workspace_};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--", "bash", "-c", script});
    return run_bottle(home_.home(), args, {std::string("E2E_UPSTREAM_TOKEN=") + kToken});
  }

  // Starts `bottle run --label <label> e2e -- bash -c script` in the background.
  ChildProcess start_background(const std::string& label, const std::string& script,
                                const std::string& log) {
    SpawnOptions so;
    so.argv = {"env",
               "BOTTLE_HOME=" + home_.home(),
               std::string("E2E_UPSTREAM_TOKEN=") + kToken,
               testing::bottle_binary(),
               "run",
               "--label",
               label,
               "e2e",
               "--cwd",
               workspace_,
               "--",
               "bash",
               "-c",
               script};
    so.stdout_file = so.stderr_file = log;
    so.stdin_null = true;
    auto c = spawn(so);
    EXPECT_TRUE(c.ok()) << c.error();
    return c ? std::move(*c) : ChildProcess();
  }

  std::string state(const std::string& slug) const { return home_.home() + "/state/" + slug; }
  // Labels become namespace names, which are global: keep parallel runs apart.
  static std::string label(const std::string& base) {
    return base + "-" + std::to_string(::getpid());
  }

  TestHome home_;
  std::string workspace_;
  static inline std::string skip_;
  static inline EchoUpstream* upstream_ = nullptr;
};

TEST_F(LocalE2e, AllowedRequestPassesAndThePlaceholderIsForwardedAsIs) {
  auto r = run_script("curl -sS -H 'Authorization: Bearer agent-made-this-up' " +
                      url("upstream.demo", "/ok"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"path\": \"/ok\""), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(kToken), std::string::npos) << r.out;
}

TEST_F(LocalE2e, TokenRouteOverPlainHttpIsRefusedNotInjected) {
  auto r = run_script("curl -sS -H 'Authorization: Bearer agent-made-this-up' " +
                      url("token.demo", "/clear"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"error\":\"egress: cleartext_credential\""), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(kToken), std::string::npos) << r.out;
}

TEST_F(LocalE2e, BlockedHostGetsTheEgress403) {
  auto r = run_script("curl -sS -o /dev/stderr -w '%{http_code}' " + url("blocked.demo"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "403");
  EXPECT_NE(r.err.find("\"error\":\"egress: host_not_allowed\""), std::string::npos) << r.err;
}

TEST_F(LocalE2e, AgentExitCodeIsReturned) {
  auto r = run_script("exit 7");
  EXPECT_EQ(r.exit_code, 7) << r.err;
}

TEST_F(LocalE2e, DirectTcpToANonLoopbackAddressFailsImmediately) {
  // No route at all in the namespace: the kernel refuses before any packet is sent.
  auto r = run_script(
      "start=$(date +%s%N); (exec 3<>/dev/tcp/10.255.255.1/80) 2>&1; "
      "echo rc=$?; echo ms=$(( ($(date +%s%N) - start) / 1000000 ))");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Network is unreachable"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out;
  int ms = std::atoi(r.out.substr(r.out.find("ms=") + 3).c_str());
  EXPECT_LT(ms, 1000) << r.out;
}

TEST_F(LocalE2e, BumpedTlsIsTrustedThroughTheProvisionedCaBundle) {
  // curl verifies egress's leaf against CURL_CA_BUNDLE (system roots + bottle CA); an
  // HTTP status at all means the bump handshake was trusted (upstream TLS then fails).
  auto r = run_script("curl -sS -o /dev/null -w 'code=%{http_code}' " +
                      std::string("https://tls.demo:") + std::to_string(upstream_->port()) +
                      "/; echo \" exit=$?\"");
  EXPECT_EQ(r.out.find("exit=60"), std::string::npos)
      << "certificate not trusted: " << r.out << r.err;
  EXPECT_NE(r.out.find("exit=0"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(r.out.find("code=000"), std::string::npos) << r.out;
}

TEST_F(LocalE2e, HttpsThroughTheBumpWithTheTokenInjected) {
  // A loopback HTTPS upstream with its own self-signed certificate, trusted by egress
  // through the bottle's egress.upstream_ca; the agent trusts egress via the bottle CA.
  const std::string dir = home_.home() + "/../tls";
  fs::create_directories(dir);
  auto gen = run_capture({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:P-256", "-nodes", "-keyout", dir + "/key.pem", "-out",
                          dir + "/cert.pem", "-days", "1", "-subj", "/CN=tls-up.demo", "-addext",
                          "subjectAltName=DNS:tls-up.demo"});
  if (!gen || gen->exit_code != 0) BOTTLE_SKIP() << "openssl could not make a test certificate";
  EchoUpstream tls_upstream(dir + "/cert.pem", dir + "/key.pem");
  ASSERT_TRUE(tls_upstream.ok());
  const std::string p = std::to_string(tls_upstream.port());
  home_.bottle("tls", "---\nsupervise: false\negress:\n  upstream_ca: " + dir +
                          "/cert.pem\n  resolve: [\"tls-up.demo:" + p +
                          ":127.0.0.1\"]\n  routes:\n    - host: tls-up.demo\n      port: " + p +
                          "\n      allow_private: true\n"
                          "      auth: {scheme: Bearer, token_ref: E2E_UPSTREAM_TOKEN}\n---\n");
  home_.agent("tls", "---\nbottle: tls\nprovider: command\n---\n");
  auto r = run_bottle(home_.home(),
                      {"run", "tls", "--cwd", workspace_, "--", "curl", "-sS",
                       "https://tls-up.demo:" + p + "/secure"},
                      {std::string("E2E_UPSTREAM_TOKEN=") + kToken});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("\"authorization\": \"Bearer " + std::string(kToken) + "\""),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\"path\": \"/secure\""), std::string::npos) << r.out;
}

TEST_F(LocalE2e, StartAttachesTheTerminalAndAsksForPromptValues) {
  if (find_helper_binary("script").empty()) BOTTLE_SKIP() << "script(1) is needed for a pty";
  home_.bottle("ask", "---\nsupervise: false\nenv: {ASKED: \"?prompt\"}\n---\n");
  home_.agent("ask", "---\nbottle: ask\nprovider: command\n---\n");
  // script(1) gives `bottle start` a pseudo-terminal; the answer arrives on it.
  const std::string cmd = "env BOTTLE_HOME=" + home_.home() + " " + testing::bottle_binary() +
                          " start ask --cwd " + workspace_ +
                          " -- sh -c 'test -t 0 && test -t 1 && echo tty=yes; "
                          "echo asked=$ASKED; exit 4'";
  auto r = run_capture({"script", "-qec", cmd, "/dev/null"}, "answer-42\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 4) << r->out << r->err;
  EXPECT_NE(r->out.find("tty=yes"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("asked=answer-42"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("value for ASKED"), std::string::npos) << r->out;

  // Ctrl-C belongs to the agent: `bottle start` ignores SIGINT, the agent must not.
  const std::string interrupt = "env BOTTLE_HOME=" + home_.home() + " " + testing::bottle_binary() +
                                " start ask --cwd " + workspace_ +
                                " -- sh -c 'kill -INT $$; echo surv$((1))ived'";
  auto i = run_capture({"script", "-qec", interrupt, "/dev/null"}, "x\n");
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(i->out.find("surv1ived"), std::string::npos) << i->out;
  EXPECT_EQ(i->exit_code, 130) << i->out << i->err;
}

TEST_F(LocalE2e, HostLoopbackServicesAreUnreachable) {
  // The upstream listens on the host's 127.0.0.1; the bottle's loopback is its own.
  auto r = run_script("curl -sS --noproxy '*' --max-time 3 http://127.0.0.1:" +
                      std::to_string(upstream_->port()) + "/; echo \"exit=$?\"");
  EXPECT_NE(r.out.find("exit=7"), std::string::npos) << r.out << r.err;  // connection refused
}

TEST_F(LocalE2e, DnsFails) {
  auto r = run_script(
      "getent hosts example.com; echo rc=$?; "
      "curl -sS --noproxy '*' --max-time 3 http://example.com/ >/dev/null 2>&1; echo curl=$?");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("rc=2"), std::string::npos) << r.out;  // getent: key not found
  EXPECT_EQ(r.out.find("curl=0"), std::string::npos) << r.out;
}

TEST_F(LocalE2e, AgentCannotReadTheToken) {
  // "[t]" keeps the pattern from matching the script's own command line.
  const std::string pattern = std::string(kToken).substr(0, 17) + "[" + kToken[17] + "]";
  auto r = run_script(
      "{ env; cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline; "
      "grep -rasI . /run/bottle /home /tmp \"$PWD\" /root 2>/dev/null; } 2>/dev/null "
      "| grep -ac '" +
      pattern +
      "'; "
      "echo pids=$(ls -d /proc/[0-9]* | wc -l); "
      "echo placeholder-check; test -r /run/bottle/ca-bundle.pem && echo bundle=ok; "
      "echo proxy=$HTTPS_PROXY");
  EXPECT_NE(r.out.find("0\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.rfind("0\n", 0), 0u) << "matches of the token inside the agent: " << r.out;
  EXPECT_NE(r.out.find("bundle=ok"), std::string::npos) << r.out;
  // Also run against the vm backend (CMakeLists.txt), where the guest has its own kernel
  // and processes and reaches egress at the forwarded address.
  const char* backend = std::getenv("BOTTLE_BACKEND");
  const bool vm = backend && std::string(backend) == "vm";
  EXPECT_NE(r.out.find(vm ? "proxy=http://10.0.2.100:9099" : "proxy=http://127.0.0.1:9099"),
            std::string::npos)
      << r.out;
  // Only the sandbox's own processes are visible (no bottle-init, no egress).
  int pids = std::atoi(r.out.substr(r.out.find("pids=") + 5).c_str());
  if (!vm) {
    EXPECT_LE(pids, 6) << r.out;
  }
  // And nothing on disk in the state dir holds it either (the sidecar gets it by env).
  for (const auto& e : fs::recursive_directory_iterator(home_.home() + "/state")) {
    if (e.is_regular_file()) {
      EXPECT_EQ(read_file(e.path()).find(kToken), std::string::npos) << e.path();
    }
  }
}

TEST_F(LocalE2e, HostSecretsAndSidecarFilesAreNotMounted) {
  auto r = run_script(
      "for f in /etc/shadow /etc/ssh /root/.bot-bottle " + home_.home() +
      " /run/netns; do "
      "  if [ -e \"$f\" ]; then echo \"visible $f\"; fi; done; "
      "cat /etc/passwd >/dev/null && echo passwd=ok; touch /usr/x 2>/dev/null || echo usr=ro; "
      "echo home=$HOME; touch $HOME/x && echo home=rw");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("visible"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("passwd=ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("usr=ro"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("home=/home/agent\nhome=rw"), std::string::npos) << r.out;
}

TEST_F(LocalE2e, ClaudeProviderGetsPlaceholdersCaAndSkills) {
  fs::create_directories(home_.home() + "/skills/review");
  std::ofstream(home_.home() + "/skills/review/SKILL.md") << "review skill\n";
  home_.agent("claude",
              "---\nbottle: e2e\nprovider: claude\nauth_token: E2E_UPSTREAM_TOKEN\n"
              "skills: [skills/review]\n---\nBe brief.\n");
  auto r = run_bottle(
      home_.home(),
      {"run", "claude", "--cwd", workspace_, "--", "sh", "-c",
       "cat /home/agent/.claude/skills/review/SKILL.md; echo token=$CLAUDE_CODE_OAUTH_TOKEN; "
       "cat $BOTTLE_PROMPT_FILE; grep -c BEGIN $NODE_EXTRA_CA_CERTS; "
       "touch /home/agent/.claude/skills/review/x 2>/dev/null || echo skills=ro"},
      {std::string("E2E_UPSTREAM_TOKEN=") + kToken});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("review skill"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("token=egress-placeholder"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Be brief."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n1\n"), std::string::npos) << "exactly the bottle CA: " << r.out;
  EXPECT_NE(r.out.find("skills=ro"), std::string::npos) << r.out;
}

TEST_F(LocalE2e, RoutesApplyTakesEffectWithoutRestart) {
  const std::string L = label("e2e-routes");
  const std::string log = home_.home() + "/../routes-run.log";
  const std::string script = "curl -s -o /dev/null -w 'before=%{http_code}\\n' " +
                             url("second.demo") +
                             "; touch ready; "
                             // Bounded by time, not by turns: a loaded TCG guest takes
                             // far longer per turn than the host's steps below.
                             "end=$(( $(date +%s) + 180 )); "
                             "while [ ! -e go ] && [ $(date +%s) -lt $end ]; do sleep 0.1; done; "
                             "curl -sS -w '\\nafter=%{http_code}\\n' " +
                             url("second.demo", "/after");
  ChildProcess bg = start_background(L, script, log);
  // Generous: against the vm backend a guest boots first (TCG on CI).
  ASSERT_TRUE(eventually([&] { return fs::exists(workspace_ + "/ready"); }, 90s))
      << read_file(log);
  const std::string p = std::to_string(upstream_->port());
  const std::string routes = home_.home() + "/../new-routes.yaml";
  std::ofstream(routes) << "log: blocks\nroutes:\n"
                           "  - host: upstream.demo\n    port: " +
                               p +
                               "\n    allow_private: true\n"
                               "    auth: {scheme: Bearer, token_env: EGRESS_TOKEN_0}\n"
                               "  - host: second.demo\n    port: " +
                               p + "\n    allow_private: true\n";
  auto bad = run_bottle(home_.home(), {"routes", "apply", L, "/dev/null/nope"});
  EXPECT_EQ(bad.exit_code, 1);
  const std::string bad_slot = home_.home() + "/../bad-slot.yaml";
  std::ofstream(bad_slot)
      << "routes:\n  - host: x.demo\n    auth: {scheme: Bearer, token_env: EGRESS_TOKEN_9}\n";
  auto slot = run_bottle(home_.home(), {"routes", "apply", L, bad_slot});
  EXPECT_EQ(slot.exit_code, 1);
  EXPECT_NE(slot.err.find(
                "token_env EGRESS_TOKEN_9 has no value in this bottle (available: EGRESS_TOKEN_0)"),
            std::string::npos)
      << slot.err;
  const std::string invalid = home_.home() + "/../invalid.yaml";
  std::ofstream(invalid) << "routes:\n  - hots: x.demo\n";
  auto inv = run_bottle(home_.home(), {"routes", "apply", L, invalid});
  EXPECT_EQ(inv.exit_code, 1);
  EXPECT_NE(inv.err.find(invalid + ":2:"), std::string::npos) << inv.err;
  // Valid for the CLI, refused by egress (it knows its detector ids): egress's own error,
  // and routes.yaml as it was.
  const std::string before = run_bottle(home_.home(), {"routes", "show", L}).out;
  const std::string refused = home_.home() + "/../refused.yaml";
  std::ofstream(refused) << "dlp:\n  detectors:\n    secret.no_such_kind: warn\nroutes:\n"
                            "  - host: x.demo\n";
  auto no = run_bottle(home_.home(), {"routes", "apply", L, refused});
  EXPECT_EQ(no.exit_code, 1);
  EXPECT_NE(no.err.find("bottle: routes apply: egress refused the new routes: "),
            std::string::npos)
      << no.err;
  EXPECT_NE(no.err.find("routes.yaml:3:"), std::string::npos) << no.err;
  EXPECT_NE(no.err.find("secret.no_such_kind"), std::string::npos) << no.err;
  EXPECT_NE(no.err.find("routes.yaml restored"), std::string::npos) << no.err;
  EXPECT_EQ(run_bottle(home_.home(), {"routes", "show", L}).out, before);
  // When apply returns, egress runs the new file: no waiting on the admin API.
  auto apply = run_bottle(home_.home(), {"routes", "apply", L, routes});
  EXPECT_EQ(apply.exit_code, 0) << apply.err;
  EXPECT_NE(apply.err.find("routes applied to " + L + ": egress runs them (reload "),
            std::string::npos)
      << apply.err;
  EXPECT_NE(apply.err.find(", sha256 " + sha256_hex(read_file(routes)).substr(0, 12) + ")"),
            std::string::npos)
      << apply.err;
  auto show = run_bottle(home_.home(), {"routes", "show", L});
  EXPECT_NE(show.out.find("second.demo"), std::string::npos) << show.out;
  auto md = read_metadata(state(L));
  ASSERT_TRUE(md.ok()) << md.error();
  const std::string admin = "http://127.0.0.1:" + std::to_string(md->admin_port) + "/routes";
  auto live = run_capture({"curl", "-s", "--noproxy", "*", admin});
  ASSERT_TRUE(live.ok()) << live.error();
  EXPECT_NE(live->out.find("second.demo"), std::string::npos) << live->out;
  // `routes edit` runs $EDITOR on a copy and applies it the same way.
  auto edited = run_bottle(home_.home(), {"routes", "edit", L},
                           {"EDITOR=sed -i -e s/log:.blocks/log:\\ full/"});
  EXPECT_EQ(edited.exit_code, 0) << edited.err;
  EXPECT_NE(run_bottle(home_.home(), {"routes", "show", L}).out.find("log: full"),
            std::string::npos);
  std::ofstream(workspace_ + "/go") << "";
  EXPECT_EQ(bg.wait(), 0) << read_file(log);
  std::string out = read_file(log);
  EXPECT_NE(out.find("before=403"), std::string::npos) << out;
  EXPECT_NE(out.find("after=200"), std::string::npos) << out;
  EXPECT_NE(out.find("\"path\": \"/after\""), std::string::npos) << out;
}

TEST_F(LocalE2e, StopLeavesNoProcessMountOrNamespace) {
  const std::string L = label("e2e-stop");
  const std::string log = home_.home() + "/../stop-run.log";
  ChildProcess bg = start_background(L, "touch ready; exec sleep 120", log);
  // Generous: against the vm backend a guest boots first (TCG on CI).
  ASSERT_TRUE(eventually([&] { return fs::exists(workspace_ + "/ready"); }, 90s))
      << read_file(log);
  auto md = read_metadata(state(L));
  ASSERT_TRUE(md.ok()) << md.error();
  ASSERT_TRUE(process_alive(md->pids.init));
  ASSERT_TRUE(fs::exists("/run/netns/bottle-" + L));
  auto listed = run_bottle(home_.home(), {"list"});
  EXPECT_NE(listed.out.find(L), std::string::npos) << listed.out;
  // The CA key: 0600 in a 0700 directory, and gone once the bottle stops.
  const std::string key = state(L) + "/ca/ca-key.pem";
  EXPECT_EQ(fs::status(state(L) + "/ca").permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(key).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  // `logs --follow` streams while the bottle runs and ends when it stops.
  const std::string follow_log = home_.home() + "/../follow.log";
  SpawnOptions fo;
  fo.argv = {"env", "BOTTLE_HOME=" + home_.home(), testing::bottle_binary(), "logs", "--follow", L};
  fo.stdout_file = fo.stderr_file = follow_log;
  auto follower = spawn(fo);
  ASSERT_TRUE(follower.ok()) << follower.error();
  EXPECT_TRUE(
      eventually([&] { return read_file(follow_log).find("all_ready") != std::string::npos; }));

  auto stop = run_bottle(home_.home(), {"stop", L});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  int code = bg.wait();
  EXPECT_NE(code, 0) << "the agent was killed, not finished";
  EXPECT_FALSE(process_alive(md->pids.init));
  EXPECT_FALSE(process_alive(md->pids.agent));
  EXPECT_FALSE(process_alive(md->pids.orchestrator));
  EXPECT_FALSE(fs::exists("/run/netns/bottle-" + L));
  EXPECT_FALSE(fs::exists(key));
  EXPECT_TRUE(eventually([&] { return follower->poll().has_value(); }, 5s))
      << "logs --follow did not end";
  EXPECT_NE(read_file(follow_log).find("\"event\":\"shutdown\""), std::string::npos)
      << read_file(follow_log);
  // No process anywhere still runs from this bottle's state dir (egress, init) ...
  const std::string dir = state(L);
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string cmd = read_file(e.path().string() + "/cmdline");
    EXPECT_EQ(cmd.find(dir), std::string::npos) << e.path() << " still runs: " << cmd;
  }
  // ... and no mount refers to it.
  EXPECT_EQ(read_file("/proc/self/mountinfo").find(dir), std::string::npos);
  auto after = run_bottle(home_.home(), {"list"});
  EXPECT_EQ(after.out.find(L), std::string::npos) << after.out;
  auto logs = run_bottle(home_.home(), {"logs", L});
  EXPECT_EQ(logs.exit_code, 0);
  EXPECT_NE(logs.out.find("\"component\":\"init\""), std::string::npos) << logs.out;
  auto cleanup = run_bottle(home_.home(), {"cleanup"});
  EXPECT_EQ(cleanup.exit_code, 0) << cleanup.err;
  EXPECT_FALSE(fs::exists(dir));
}

TEST_F(LocalE2e, ReusedLabelStartsClean) {
  const std::string L = label("e2e-reuse");
  auto first = run_script("true", {"--label", L});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  // What the dead bottle left must not count for the next one (a stale ready file would
  // let the agent start before egress listens).
  std::ofstream(state(L) + "/ready") << "stale";
  std::ofstream(state(L) + "/leftover") << "x";
  auto second = run_script("curl -sS " + url("upstream.demo", "/again"), {"--label", L});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("\"path\": \"/again\""), std::string::npos) << second.out;
  EXPECT_FALSE(fs::exists(state(L) + "/leftover"));
}

TEST_F(LocalE2e, KeepLeavesTheSidecarUpUntilStop) {
  const std::string L = label("e2e-keep");
  auto r = run_script("true", {"--label", L, "--keep"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto md = read_metadata(state(L));
  ASSERT_TRUE(md.ok()) << md.error();
  EXPECT_EQ(md->status, "kept");
  EXPECT_TRUE(process_alive(md->pids.init));
  EXPECT_TRUE(fs::exists("/run/netns/bottle-" + L));
  EXPECT_NE(run_bottle(home_.home(), {"list"}).out.find(L), std::string::npos);
  // Still serving: a request made inside the namespace reaches egress.
  auto inside = run_capture({"ip", "netns", "exec", "bottle-" + L, "curl", "-sS", "-x",
                             "http://127.0.0.1:9099", url("upstream.demo", "/kept")});
  ASSERT_TRUE(inside.ok());
  EXPECT_NE(inside->out.find("\"path\": \"/kept\""), std::string::npos)
      << inside->out << inside->err;
  auto stop = run_bottle(home_.home(), {"stop", L});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_FALSE(process_alive(md->pids.init));
  EXPECT_FALSE(fs::exists("/run/netns/bottle-" + L));
}

bool has_access_acl(const std::string& path) {
  return ::getxattr(path.c_str(), "system.posix_acl_access", nullptr, 0) >= 0;
}

// Issue 10 item 2: as plain root, the agent is a bottle uid that gets the (root-owned)
// workspace through ACL entries; nothing it leaves there is root's or setuid.
TEST_F(LocalE2e, AgentFilesAreNeitherRootOwnedNorSetuidOnTheHost) {
  std::ofstream(workspace_ + "/existing.txt") << "before\n";
  ::chmod((workspace_ + "/existing.txt").c_str(), 0644);
  fs::create_directories(workspace_ + "/sub");
  auto r = run_script(
      "echo uid=$(id -u) user=$(whoami); "
      "cp /bin/true suid-true && chmod 4755 suid-true; echo chmod=$?; "
      "cp /bin/true sgid-true && chmod g+s sgid-true; echo chmodg=$?; "
      "python3 -c \"import os; os.open('made-setuid', os.O_CREAT | os.O_WRONLY, 0o4755)\" "
      "2>/dev/null; echo open=$?; "
      "touch newfile; mkdir newdir; echo after > existing.txt; echo edit=$?; touch sub/deep; "
      "awk -v ws=\"$PWD\" '$5 == ws {print \"mount=\" $6}' /proc/self/mountinfo");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("uid=1000 user=agent"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("chmod=1"), std::string::npos) << "chmod 4755 must fail: " << r.out;
  EXPECT_NE(r.out.find("chmodg=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("open=1"), std::string::npos) << "open(O_CREAT, 04755) must fail: " << r.out;
  EXPECT_NE(r.out.find("edit=0"), std::string::npos)
      << "the workspace must stay writable: " << r.out;
  const std::string mount = r.out.substr(r.out.find("mount=") + 6);
  EXPECT_NE(mount.find("nosuid"), std::string::npos) << mount;
  EXPECT_NE(mount.find("nodev"), std::string::npos) << mount;

  struct stat st {};
  for (const char* f : {"suid-true", "sgid-true", "newfile", "newdir", "sub/deep"}) {
    ASSERT_EQ(::lstat((workspace_ + "/" + f).c_str(), &st), 0) << f;
    EXPECT_NE(st.st_uid, 0u) << f << " belongs to host root";
    EXPECT_NE(st.st_gid, 0u) << f << " belongs to host root's group";
    EXPECT_EQ(st.st_mode & 06000, 0u) << f << " is setuid/setgid on the host";
  }
  EXPECT_FALSE(fs::exists(workspace_ + "/made-setuid"));
  // The grant is gone again: the workspace is as the operator left it.
  EXPECT_EQ(read_file(workspace_ + "/existing.txt"), "after\n");
  ASSERT_EQ(::stat((workspace_ + "/existing.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  for (const char* f : {"", "/existing.txt", "/sub"})
    EXPECT_FALSE(has_access_acl(workspace_ + f)) << "ACL left on " << workspace_ + f;
}

// The agent cannot make user namespaces of its own: no capabilities to regain inside
// one, and none of the kernel surface that only a user namespace opens.
TEST_F(LocalE2e, TheAgentCannotCreateUserNamespaces) {
  auto r = run_script(
      "unshare --user true 2>/dev/null; echo unshare=$?; "
      "python3 -c \"import os; os.unshare(os.CLONE_NEWUSER)\" 2>/dev/null; echo py=$?");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("unshare=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("py=1"), std::string::npos) << r.out;
}

TEST_F(LocalE2e, UnderSudoTheAgentIsTheOperator) {
  ASSERT_EQ(::chown(workspace_.c_str(), 4242, 4242), 0);
  auto r =
      run_bottle(home_.home(),
                 {"run", "e2e", "--cwd", workspace_, "--", "sh", "-c",
                  "id -u; touch mine; cp /bin/true t; chmod 4755 t; echo chmod=$?"},
                 {std::string("E2E_UPSTREAM_TOKEN=") + kToken, "SUDO_UID=4242", "SUDO_GID=4242"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("uid 4242 (the operator, from SUDO_UID)"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("chmod=1"), std::string::npos) << r.out;
  struct stat st {};
  ASSERT_EQ(::stat((workspace_ + "/mine").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 4242u);
  EXPECT_EQ(st.st_gid, 4242u);
  ASSERT_EQ(::stat((workspace_ + "/t").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 06000, 0u);
  EXPECT_FALSE(has_access_acl(workspace_)) << "the operator's own uid needs no grant";
}

// Issue 10 item 3: the agent tries every way to make the operator's git run a command
// on the host; then the operator runs `git status` there, as root.
TEST_F(LocalE2e, GitSetUpInsideNeverRunsCodeOnTheHost) {
  ASSERT_EQ(run_capture({"git", "-C", workspace_, "init", "-q"})->exit_code, 0);
  ASSERT_EQ(run_capture({"git", "-C", workspace_, "-c", "user.name=op", "-c", "user.email=op@x",
                         "commit", "-q", "--allow-empty", "-m", "operator"})
                ->exit_code,
            0);
  const std::string marker = home_.root() + "/git-ran-this";
  auto r = run_script(
      "M=" + marker +
      "; git status --short >/dev/null && echo status=ok; "
      "git -c user.name=a -c user.email=a@b commit -q --allow-empty -m agent && echo commit=ok; "
      "git config core.fsmonitor \"touch $M\" 2>/dev/null; echo config=$?; "
      "echo \"[core] fsmonitor = touch $M\" >> .git/config 2>/dev/null; echo append=$?; "
      "printf '#!/bin/sh\\ntouch %s\\n' \"$M\" > .git/hooks/post-checkout 2>/dev/null; "
      "echo hook=$?; "
      "mv .git .git-away 2>/dev/null; echo mv=$?; "
      "mkdir -p evil/objects evil/refs && cp .git/HEAD evil/ && "
      "printf '[core]\\n\\tfsmonitor = touch %s\\n' \"$M\" > evil/config && "
      "printf '../evil\\n' > .git/commondir; echo commondir=$?; "
      "i=0; while [ -e .git/commondir ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; "
      "[ -e .git/commondir ] || echo commondir=gone; "
      "git init -q nested && git -C nested config core.fsmonitor \"touch $M\" && echo nested=ok");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("status=ok"), std::string::npos) << "git must work inside: " << r.out;
  EXPECT_NE(r.out.find("commit=ok"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("config=0"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("append=0"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("hook=0"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("mv=0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("commondir=gone"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nested=ok"), std::string::npos) << r.out;
  // The exit report names what the agent left for the host's git.
  EXPECT_NE(r.err.find("the agent created .git/commondir"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the agent added something your host's git would run: "
                       "nested/.git/config: core.fsmonitor = touch " +
                       marker),
            std::string::npos)
      << r.err;

  // The operator's git, as root, in the workspace and in the agent's nested repository.
  for (const std::string& dir : {workspace_, workspace_ + "/nested"}) {
    auto st = run_capture({"git", "-C", dir, "status"});
    ASSERT_TRUE(st.ok());
  }
  EXPECT_FALSE(fs::exists(marker)) << "the host's git ran a command the agent planted";
  auto log = run_capture({"git", "-C", workspace_, "log", "--format=%s"});
  EXPECT_EQ(log->out, "agent\noperator\n") << "the agent's commit reaches the host";

  // Reusing the workspace: warned before anything runs.
  auto again = run_script("true");
  EXPECT_NE(again.err.find("warning: git in this workspace runs commands on your host: "
                           "nested/.git/config: core.fsmonitor = touch " +
                           marker),
            std::string::npos)
      << again.err;
  EXPECT_FALSE(fs::exists(marker));
}

// The operator's terminal, played by a pseudo-terminal the test opens itself.
class OperatorTerminal {
 public:
  OperatorTerminal() {
    master_.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    char name[128];
    if (!master_ || ::grantpt(master_.get()) != 0 || ::unlockpt(master_.get()) != 0 ||
        ::ptsname_r(master_.get(), name, sizeof name) != 0)
      return;
    slave_.reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    resize(30, 100);
  }
  bool ok() const { return static_cast<bool>(slave_); }
  // Runs argv with this terminal as its stdin/stdout/stderr and controlling terminal.
  ChildProcess run(const std::vector<std::string>& argv) {
    SpawnOptions so;
    so.argv = argv;
    so.stdio = {slave_.get(), slave_.get(), slave_.get()};
    so.new_session = true;
    so.controlling_terminal = true;
    auto c = spawn(so);
    EXPECT_TRUE(c.ok()) << c.error();
    return c ? std::move(*c) : ChildProcess();
  }
  // The kernel sends SIGWINCH to the terminal's foreground process group.
  void resize(unsigned short rows, unsigned short cols) {
    winsize ws{rows, cols, 0, 0};
    ::ioctl(master_.get(), TIOCSWINSZ, &ws);
  }
  void type(const std::string& text) { (void)!::write(master_.get(), text.data(), text.size()); }
  // Everything shown so far, read until `marker` appears (bounded).
  bool wait_for(const std::string& marker, std::chrono::milliseconds limit = 20s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (screen_.find(marker) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd pfd{master_.get(), POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[4096];
      ssize_t n = ::read(master_.get(), buf, sizeof buf);
      if (n <= 0) return screen_.find(marker) != std::string::npos;
      screen_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  const std::string& screen() const { return screen_; }
  termios modes() const {
    termios t{};
    ::tcgetattr(slave_.get(), &t);
    return t;
  }

 private:
  UniqueFd master_, slave_;
  std::string screen_;
};

// Issue 10 item 1: the agent pushes a command into its terminal with TIOCSTI (and tries
// the TIOCLINUX paste). The operator's shell, which reads the terminal after `bottle
// start` returns, must not run it.
TEST_F(LocalE2e, TerminalInjectionNeverReachesTheOperatorsShell) {
  OperatorTerminal tty;
  ASSERT_TRUE(tty.ok());
  home_.bottle("tty", "---\nsupervise: false\n---\n");
  home_.agent("tty", "---\nbottle: tty\nprovider: command\n---\n");
  const std::string marker = home_.root() + "/pwned";
  std::ofstream(workspace_ + "/inject.py")
      << "import fcntl, sys, termios\n"
         "pushed = 0\n"
         "for c in 'touch "
      << marker
      << "\\n':\n"
         "    try:\n"
         "        fcntl.ioctl(0, termios.TIOCSTI, c.encode()); pushed += 1\n"
         "    except OSError:\n"
         "        pass\n"
         "try:\n"
         "    fcntl.ioctl(0, 0x541C, bytes([3]))  # TIOCLINUX, TIOCL_PASTESEL\n"
         "    print('tioclinux=pasted')\n"
         "except OSError as e:\n"
         "    print('tioclinux=refused', e.errno)\n"
         "print('pushed', pushed, 'bytes into its own terminal', flush=True)\n";
  const termios before = tty.modes();
  ChildProcess shell =
      tty.run({"sh", "-c",
               "env BOTTLE_HOME=" + home_.home() + " " + testing::bottle_binary() +
                   " start tty --cwd " + workspace_ +
                   " -- python3 inject.py; echo bottle-exited; IFS= read -r line; eval \"$line\"; "
                   "echo outer-done"});
  ASSERT_TRUE(tty.wait_for("bottle-exited")) << tty.screen();
  EXPECT_NE(tty.screen().find("tioclinux=refused"), std::string::npos) << tty.screen();
  EXPECT_NE(tty.screen().find("pushed "), std::string::npos) << "the attack did not run";
  // Whatever TIOCSTI pushed, the outer shell reads only what the operator types now.
  tty.type("echo clean\n");
  EXPECT_TRUE(tty.wait_for("outer-done")) << tty.screen();
  shell.wait();
  EXPECT_FALSE(fs::exists(marker)) << "the injected command ran in the operator's shell:\n"
                                   << tty.screen();
  // And the terminal is back the way it was (raw mode undone).
  const termios after = tty.modes();
  EXPECT_EQ(after.c_lflag, before.c_lflag);
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  EXPECT_EQ(after.c_oflag, before.c_oflag);
}

// The agent draws on the operator's terminal but cannot make it act: an OSC 52 clipboard
// write or read, a tmux passthrough and a kitty graphics read of a host file never reach
// the terminal, while colours and titles do.
TEST_F(LocalE2e, ClipboardAndPassthroughSequencesNeverReachTheOperatorsTerminal) {
  OperatorTerminal tty;
  ASSERT_TRUE(tty.ok());
  home_.bottle("tty", "---\nsupervise: false\n---\n");
  home_.agent("tty", "---\nbottle: tty\nprovider: command\n---\n");
  ChildProcess bottle = tty.run(
      {"env", "BOTTLE_HOME=" + home_.home(), testing::bottle_binary(), "start", "tty", "--cwd",
       workspace_, "--", "printf",
       "\\033[31mred\\033[0m \\033]2;agent-title\\007"
       "\\033]52;c;Y3VybCBldmlsIHwgc2g=\\007\\033]52;c;?\\033\\\\"
       "\\033Ptmux;\\033\\033]52;c;aGk=\\007\\033\\\\\\033_Gf=100,t=f;L2V0Yy9zaGFkb3c=\\033\\\\"
       "drawn-%s\\n",
       "done"});
  ASSERT_TRUE(tty.wait_for("drawn-done")) << tty.screen();
  EXPECT_EQ(bottle.wait(), 0);
  // What the agent drew: after bottle's own lines, which show the command escaped.
  std::string screen = tty.screen();
  screen = screen.substr(std::min(screen.size(), screen.find("\n", screen.find("running agent"))));
  EXPECT_NE(screen.find("\x1b[31mred\x1b[0m"), std::string::npos) << screen;
  EXPECT_NE(screen.find("\x1b]2;agent-title\x07"), std::string::npos) << screen;
  EXPECT_EQ(screen.find("]52;"), std::string::npos) << ::testing::PrintToString(screen);
  EXPECT_EQ(screen.find("tmux;"), std::string::npos) << ::testing::PrintToString(screen);
  EXPECT_EQ(screen.find("\x1b_G"), std::string::npos) << ::testing::PrintToString(screen);
}

TEST_F(LocalE2e, TerminalResizesReachTheAgent) {
  OperatorTerminal tty;
  ASSERT_TRUE(tty.ok());
  home_.bottle("tty", "---\nsupervise: false\n---\n");
  home_.agent("tty", "---\nbottle: tty\nprovider: command\n---\n");
  ChildProcess bottle = tty.run(
      {"env", "BOTTLE_HOME=" + home_.home(), testing::bottle_binary(), "start", "tty", "--cwd",
       workspace_, "--", "sh", "-c",
       "echo size=$(stty size); i=0; "
       "while [ \"$(stty size)\" != '40 120' ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); "
       "done; echo now=$(stty size); exit 3"});
  // Also run as vm.LocalE2e...: a TCG guest boots first, then forwards the resize.
  ASSERT_TRUE(tty.wait_for("size=30 100", 120s)) << tty.screen();
  tty.resize(40, 120);
  EXPECT_TRUE(tty.wait_for("now=40 120", 60s)) << tty.screen();
  EXPECT_EQ(bottle.wait(), 3) << tty.screen();
}

// The CLI killed outright (no handler runs): its crash guard tears the bottle down, and
// bottle-init, which holds the real token, dies with its parent in any case.
TEST_F(LocalE2e, SigkillOfTheCliTearsTheBottleDown) {
  const std::string L = label("e2e-sigkill");
  const std::string log = home_.home() + "/../sigkill-run.log";
  ChildProcess bg = start_background(L, "touch ready; exec sleep 120", log);
  // Generous: against the vm backend a guest boots first (TCG on CI).
  ASSERT_TRUE(eventually([&] { return fs::exists(workspace_ + "/ready"); }, 90s))
      << read_file(log);
  auto md = read_metadata(state(L));
  ASSERT_TRUE(md.ok()) << md.error();
  ASSERT_EQ(md->pids.orchestrator.pid, bg.pid()) << "env execs bottle, so the pid is bottle's";
  ASSERT_TRUE(process_alive(md->pids.init));
  ::kill(bg.pid(), SIGKILL);
  bg.wait();
  EXPECT_TRUE(eventually([&] { return !process_alive(md->pids.init); }, 20s))
      << "bottle-init (and the token in egress) outlived the CLI";
  EXPECT_TRUE(eventually([&] { return !fs::exists("/run/netns/bottle-" + L); }, 20s))
      << "the namespace outlived the CLI";
  EXPECT_TRUE(eventually(
      [&] {
        auto now = read_metadata(state(L));
        return now && now->status == "exited";
      },
      20s));
  EXPECT_FALSE(fs::exists(state(L) + "/ca/ca-key.pem"));
  EXPECT_FALSE(process_alive(md->pids.agent));
  EXPECT_FALSE(has_access_acl(workspace_)) << "the workspace grant outlived the CLI";
  EXPECT_EQ(run_bottle(home_.home(), {"list"}).out.find(L), std::string::npos);
}

// `bottle run ... 2>&1 | head -c1`: head exits after one byte, so every later write of
// bottle's (progress lines during teardown) meets a closed pipe. SIGPIPE must not cut
// the teardown short.
TEST_F(LocalE2e, AClosedOutputPipeDoesNotCutTheTeardownShort) {
  const std::string L = label("e2e-pipe");
  const std::string cmd = "env BOTTLE_HOME=" + home_.home() + " E2E_UPSTREAM_TOKEN=" + kToken +
                          " " + testing::bottle_binary() + " run --label " + L + " e2e --cwd " +
                          workspace_ + " -- sh -c 'touch ran; yes | head -c 100000; sleep 1' " +
                          "2>&1 | head -c1";
  auto r = run_capture({"sh", "-c", cmd});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.size(), 1u) << r->out;
  // The pipeline returns when head exits; bottle goes on (and must finish) without it.
  EXPECT_TRUE(eventually(
      [&] {
        auto md = read_metadata(state(L));
        return md && md->status == "exited";
      },
      30s))
      << "teardown never finished: " << read_file(state(L) + "/metadata.json");
  EXPECT_TRUE(eventually([&] { return !fs::exists("/run/netns/bottle-" + L); }, 5s));
  auto md = read_metadata(state(L));
  ASSERT_TRUE(md.ok());
  EXPECT_TRUE(fs::exists(workspace_ + "/ran")) << "the agent never ran";
  EXPECT_FALSE(process_alive(md->pids.init));
  EXPECT_FALSE(fs::exists(state(L) + "/ca/ca-key.pem"));
}

TEST_F(LocalE2e, ListShowsLeftoversAndCleanupRemovesThem) {
  const std::string L = label("e2e-crash");
  const std::string log = home_.home() + "/../crash-run.log";
  ChildProcess bg = start_background(L, "touch ready; exec sleep 120", log);
  // Generous: against the vm backend a guest boots first (TCG on CI).
  ASSERT_TRUE(eventually([&] { return fs::exists(workspace_ + "/ready"); }, 90s))
      << read_file(log);
  auto md = read_metadata(state(L));
  ASSERT_TRUE(md.ok()) << md.error();
  // Leftovers need more than a dead CLI: its crash guard must be gone too.
  nlohmann::json raw = nlohmann::json::parse(read_file(state(L) + "/metadata.json"));
  const int guard = raw["pids"].value("crash_guard", 0);
  ASSERT_GT(guard, 0) << raw.dump();
  ::kill(guard, SIGKILL);
  ::kill(bg.pid(), SIGKILL);
  bg.wait();
  EXPECT_TRUE(eventually([&] { return !process_alive(md->pids.agent); }, 5s));
  ASSERT_TRUE(fs::exists("/run/netns/bottle-" + L));
  auto listed = run_bottle(home_.home(), {"list"});
  EXPECT_NE(listed.out.find(L), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("orphaned"), std::string::npos) << listed.out;

  auto cleanup = run_bottle(home_.home(), {"cleanup"});
  EXPECT_EQ(cleanup.exit_code, 0) << cleanup.err;
  EXPECT_NE(cleanup.err.find("removed state of " + L), std::string::npos) << cleanup.err;
  EXPECT_FALSE(process_alive(md->pids.init));
  EXPECT_FALSE(fs::exists("/run/netns/bottle-" + L));
  EXPECT_FALSE(fs::exists(state(L)));
  EXPECT_EQ(run_bottle(home_.home(), {"list"}).out.find(L), std::string::npos);
}

}  // namespace
}  // namespace bottle::orchestrator
