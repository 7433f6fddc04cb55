// The whole loop in a live bottle on the local backend (issue 12): the agent's curl to a
// new host gets 403, the agent asks over MCP with request-egress-route, the operator runs
// `bottle proposals approve` (or reject), the call returns, and the agent's next curl
// passes (or still gets 403). Real bottle, bottle-init, bottle-egress, bottle-supervise,
// network namespace and bubblewrap; the agent speaks MCP with curl.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "tests/orchestrator/e2e_support.h"
#include "tests/supervise/harness.h"

namespace bottle::supervise::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using orchestrator::testing::EchoUpstream;

class BottleLoop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) BOTTLE_SKIP() << "needs root (network namespaces)";
    for (const char* tool : {"bwrap", "curl", "python3"}) {
      if (orchestrator::find_helper_binary(tool).empty()) {
        BOTTLE_SKIP() << tool << " is needed";
      }
    }
    upstream_ = std::make_unique<EchoUpstream>();
    ASSERT_TRUE(upstream_->ok());
    port_ = std::to_string(upstream_->port());
    fs::create_directories(home() + "/bottles");
    fs::create_directories(home() + "/agents");
    fs::create_directories(workspace());
    write_file(home() + "/bottles/loop.md",
               "---\nsupervise: true\negress:\n  log: blocks\n  resolve: [\"known.demo:" + port_ +
                   ":127.0.0.1\", \"new.demo:" + port_ +
                   ":127.0.0.1\"]\n  routes:\n"
                   "    - host: known.demo\n      port: " +
                   port_ + "\n      allow_private: true\n---\n");
    write_file(home() + "/agents/loop.md",
               "---\nbottle: loop\nprovider: command\ncommand: [\"true\"]\n---\nprompt\n");
  }

  std::string home() const { return dir_.path() + "/home"; }
  std::string workspace() const { return dir_.path() + "/ws"; }

  // The agent: a blocked curl, then MCP over curl (initialize, initialized, the tool call),
  // then the same curl again. Each result on its own marked line.
  std::string agent_script() const {
    const std::string url = "http://127.0.0.1:9100/mcp";
    const std::string h = "-H 'Content-Type: application/json' -H 'Accept: application/json'";
    const std::string target = "http://new.demo:" + port_ + "/";
    return "first=$(curl -s -o /dev/null -w '%{http_code}' " + target +
           "); echo \"FIRST=$first\"\n"
           "sid=$(curl -s --noproxy '*' -D - -o /dev/null " +
           h +
           " --data '"
           R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"agent","version":"1"}}})"
           "' " +
           url +
           " | tr -d '\\r' | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p')\n"
           "echo \"SESSION=$sid\"\n"
           "curl -s --noproxy '*' " +
           h +
           " -H \"Mcp-Session-Id: $sid\" --data '"
           R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
           "' " +
           url +
           "\n"
           "call=$(curl -s --noproxy '*' --max-time 60 " +
           h +
           " -H \"Mcp-Session-Id: $sid\" --data '"
           R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"request-egress-route","arguments":{"host":"new.demo","port":)" +
           port_ +
           R"(,"reason":"the build downloads from new.demo"}}})"
           "' " +
           url +
           ")\n"
           "echo \"CALL=$call\"\n"
           "second=$(curl -s -o /dev/null -w '%{http_code}' " +
           target + "); echo \"SECOND=$second\"\n";
  }

  ChildProcess start(const std::string& label, const std::string& log) const {
    orchestrator::SpawnOptions so;
    so.argv = {"env",           "BOTTLE_HOME=" + home(),
               bottle_binary(), "run",
               "--label",       label,
               "loop",          "--cwd",
               workspace(),     "--",
               "bash",          "-c",
               agent_script()};
    so.stdout_file = so.stderr_file = log;
    so.stdin_null = true;
    auto c = orchestrator::spawn(so);
    EXPECT_TRUE(c.ok()) << c.error();
    return c ? std::move(*c) : ChildProcess();
  }

  CaptureResult bottle(const std::vector<std::string>& args,
                       const std::vector<std::string>& env = {}) const {
    std::vector<std::string> argv = {"env", "BOTTLE_HOME=" + home()};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.push_back(bottle_binary());
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = orchestrator::run_capture(argv);
    return r ? *r : CaptureResult{-1, "", r.error()};
  }

  // The pending proposal of the bottle, once the agent asked.
  json wait_for_proposal(const std::string& label) const {
    json found;
    eventually(
        [&] {
          auto r = bottle({"proposals", "list", "--json"});
          json all = json::parse(r.out, nullptr, false);
          if (!all.is_array()) return false;
          for (const auto& p : all) {
            if (p.value("label", "") == label) found = p;
          }
          return found.is_object();
        },
        std::chrono::seconds(40));
    return found;
  }

  static std::string marked(const std::string& log, const std::string& key) {
    size_t at = log.find("\n" + key + "=");
    if (at == std::string::npos) return "";
    size_t start = at + key.size() + 2;
    return log.substr(start, log.find('\n', start) - start);
  }

  static std::string label(const std::string& base) {
    return base + "-" + std::to_string(::getpid());
  }

  ScratchDir dir_;
  std::unique_ptr<EchoUpstream> upstream_;
  std::string port_;
};

TEST_F(BottleLoop, ApprovedRouteLetsTheAgentsNextRequestThrough) {
  const std::string L = label("sv-approve");
  const std::string log = dir_.path() + "/approve.log";
  ChildProcess run = start(L, log);
  json p = wait_for_proposal(L);
  ASSERT_TRUE(p.is_object()) << read_file(log);
  EXPECT_EQ(p["kind"], "egress-route");
  EXPECT_EQ(p["bottle"], L);
  EXPECT_EQ(p["request"]["route"]["host"], "new.demo");
  // The upstream is on loopback, so the operator allows private addresses while approving.
  const std::string editor = dir_.path() + "/editor.sh";
  write_file(editor, "#!/bin/sh\nprintf '  allow_private: true\\n' >> \"$1\"\n");
  ::chmod(editor.c_str(), 0755);
  auto approve = bottle({"proposals", "approve", p["id"], "--edit"},
                        {"EDITOR=" + editor, "BOTTLE_OPERATOR=alice"});
  EXPECT_EQ(approve.exit_code, 0) << approve.out << approve.err;
  EXPECT_NE(approve.out.find("; live in egress (reload "), std::string::npos) << approve.out;
  EXPECT_EQ(run.wait(), 0);
  const std::string out = "\n" + read_file(log);
  EXPECT_EQ(marked(out, "FIRST"), "403") << out;
  json call = json::parse(marked(out, "CALL"), nullptr, false);
  ASSERT_TRUE(call.is_object()) << out;
  EXPECT_EQ(call["result"]["isError"], false) << call;
  EXPECT_NE(result_text(call).find("The route is live in the egress proxy now"), std::string::npos)
      << call;
  EXPECT_EQ(marked(out, "SECOND"), "200") << out;
  // The route stays in the bottle's routes.yaml, archived proposal next to it.
  EXPECT_NE(read_file(home() + "/state/" + L + "/routes/routes.yaml").find("host: new.demo"),
            std::string::npos);
  auto all = bottle({"proposals", "list", "--all"});
  EXPECT_NE(all.out.find("approve by alice"), std::string::npos) << all.out;
}

TEST_F(BottleLoop, RejectedRouteIsAToolErrorAndTheHostStaysBlocked) {
  const std::string L = label("sv-reject");
  const std::string log = dir_.path() + "/reject.log";
  ChildProcess run = start(L, log);
  json p = wait_for_proposal(L);
  ASSERT_TRUE(p.is_object()) << read_file(log);
  auto reject = bottle({"proposals", "reject", p["id"], "--reason", "not on this project"},
                       {"BOTTLE_OPERATOR=bob"});
  EXPECT_EQ(reject.exit_code, 0) << reject.out << reject.err;
  EXPECT_EQ(run.wait(), 0);
  const std::string out = "\n" + read_file(log);
  json call = json::parse(marked(out, "CALL"), nullptr, false);
  ASSERT_TRUE(call.is_object()) << out;
  EXPECT_EQ(call["result"]["isError"], true);
  EXPECT_EQ(result_text(call), "Rejected by bob: not on this project");
  EXPECT_EQ(marked(out, "SECOND"), "403") << out;
}

}  // namespace
}  // namespace bottle::supervise::testing
