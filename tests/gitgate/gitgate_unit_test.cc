// The gate's pure pieces: pkt-lines, git:// requests, smart-HTTP routing, hook messages,
// ssh command building.
#include <gtest/gtest.h>

#include <map>

#include "common/http/http1_parser.h"
#include "gitgate/http_route.h"
#include "gitgate/metrics.h"
#include "gitgate/mirror.h"
#include "gitgate/pkt_line.h"
#include "gitgate/push_gate.h"
#include "gitgate/push_scan.h"
#include "gitgate/subprocess.h"
#include "tests/support/support.h"

namespace bottle::gitgate {
namespace {

using namespace std::string_literals;

TEST(PktLine, ReadsDataFlushDelimAndResponseEnd) {
  auto d = read_pkt("000ahello\n0000rest");
  EXPECT_EQ(d.status, PktRead::Status::data);
  EXPECT_EQ(d.consumed, 10u);
  EXPECT_EQ(d.payload, "hello\n");
  EXPECT_EQ(read_pkt("0000").status, PktRead::Status::flush);
  EXPECT_EQ(read_pkt("0001").status, PktRead::Status::delim);
  EXPECT_EQ(read_pkt("0002").status, PktRead::Status::response_end);
  auto empty = read_pkt("0004");
  EXPECT_EQ(empty.status, PktRead::Status::data);
  EXPECT_EQ(empty.payload, "");
}

TEST(PktLine, NeedsMoreUntilThePacketIsComplete) {
  EXPECT_EQ(read_pkt("").status, PktRead::Status::need_more);
  EXPECT_EQ(read_pkt("00").status, PktRead::Status::need_more);
  EXPECT_EQ(read_pkt("000ahel").status, PktRead::Status::need_more);
  EXPECT_EQ(read_pkt("000ahel").consumed, 0u);
}

TEST(PktLine, RefusesBadLengths) {
  for (const char* bad : {"zzzz", "0003", "00g1", "fff1", "ffff"}) {
    auto r = read_pkt(bad + "xxxx"s);
    EXPECT_EQ(r.status, PktRead::Status::error) << bad;
    EXPECT_FALSE(r.error.empty());
  }
  EXPECT_EQ(read_pkt("fff0").status, PktRead::Status::need_more);  // 65520: the largest legal
}

TEST(PktLine, WritesPacketsAndErrPackets) {
  EXPECT_EQ(pkt_line("hello\n"), "000ahello\n");
  EXPECT_EQ(err_pkt("no such repository"), "001bERR no such repository\n");
  std::string huge = err_pkt(std::string(100000, 'x'));
  EXPECT_LE(huge.size(), kMaxPktLength);
  EXPECT_EQ(read_pkt(huge).status, PktRead::Status::data);
}

TEST(DaemonRequest, ParsesServicePathHostAndProtocol) {
  auto r = parse_daemon_request("git-upload-pack /app.git\0host=127.0.0.1:9418\0\0version=2\0"s);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->service, Service::upload_pack);
  EXPECT_EQ(r->path, "/app.git");
  EXPECT_EQ(r->host, "127.0.0.1:9418");
  EXPECT_EQ(r->protocol, "version=2");
  auto push = parse_daemon_request("git-receive-pack /app.git\0host=gate\0"s);
  ASSERT_TRUE(push.ok());
  EXPECT_EQ(push->service, Service::receive_pack);
  EXPECT_EQ(push->protocol, "");
  auto bare = parse_daemon_request("git-upload-pack /app\n");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->path, "/app");
}

TEST(DaemonRequest, DropsExtraParametersThatCannotBeGitProtocol) {
  auto r = parse_daemon_request(
      "git-upload-pack /app.git\0host=h\0\0version=2\0evil value;rm\0object-format=sha1\0"s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->protocol, "version=2:object-format=sha1");
  // An item longer than 64 characters is dropped, as GIT_PROTOCOL from HTTP is (found by
  // fuzz_gitgate_pktline: the two paths disagreed).
  auto longer = parse_daemon_request("git-upload-pack /app\0host=h\0\0version=2\0"s +
                                     std::string(65, 'o') + "\0"s);
  ASSERT_TRUE(longer.ok());
  EXPECT_EQ(longer->protocol, "version=2");
}

TEST(DaemonRequest, RefusesOtherServicesAndShapes) {
  for (const std::string& bad : {"git-upload-archive /app.git\0"s, "/app.git"s, "git-upload-pack"s,
                                 "git-upload-pack \0host=x\0"s, ""s}) {
    EXPECT_FALSE(parse_daemon_request(bad).ok()) << bad;
  }
}

TEST(RepoPath, OnlyAConfiguredNameShapeSurvives) {
  const std::map<std::string, std::string> cases = {
      {"/app.git", "app"},
      {"/app", "app"},
      {"app.git/", "app"},
      {"/my.repo-1_x.git", "my.repo-1_x"},
      {"/../app.git", ""},
      {"/a/b.git", ""},
      {"/~root/app.git", ""},
      {"/..", ""},
      {"/.git", ""},
      {"/app%2e.git", ""},
      {"/app.git.git", "app.git"},
      {"", ""},
  };
  for (const auto& [path, name] : cases) EXPECT_EQ(repo_name_from_path(path), name) << path;
}

TEST(GitProtocol, KeepsOnlyWellFormedItems) {
  EXPECT_EQ(sanitize_git_protocol("version=2"), "version=2");
  EXPECT_EQ(sanitize_git_protocol("version=2:object-format=sha256"),
            "version=2:object-format=sha256");
  EXPECT_EQ(sanitize_git_protocol("version=2:$(reboot):x y"), "version=2");
  EXPECT_EQ(sanitize_git_protocol(""), "");
}

// Parses a raw request head the way the connection does.
MessageHead head_of(const std::string& raw) {
  Http1Parser p(Http1Parser::Kind::request);
  auto o = p.feed(raw);
  EXPECT_EQ(o.status, Http1Parser::Status::head) << raw;
  return p.take_head();
}

std::shared_ptr<const config::GateConfig> one_repo_config() {
  auto c = config::parse_gate_config(
      "repos:\n  - name: app\n    upstream: ssh://git@h/app.git\n    host_key: "
      "\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHPc6qDFTajfl6uR9jnS0mJ7JaAEf5ZfwIuIEQCd3YNj\"\n    "
      "key: /k\n",
      "gitgate.yaml");
  EXPECT_TRUE(c.ok()) << c.error();
  return *c;
}

TEST(HttpRoute, RoutesAdvertisementsAndRpcs) {
  auto cfg = one_repo_config();
  auto adv =
      route_http(head_of("GET /app.git/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: g\r\n"
                         "Git-Protocol: version=2\r\n\r\n"),
                 *cfg);
  ASSERT_TRUE(std::holds_alternative<HttpRoute>(adv));
  auto& a = std::get<HttpRoute>(adv);
  EXPECT_EQ(a.kind, HttpRoute::Kind::advertisement);
  EXPECT_EQ(a.service, Service::upload_pack);
  EXPECT_EQ(a.repo->name, "app");
  EXPECT_EQ(a.protocol, "version=2");
  auto rpc = route_http(
      head_of("POST /app/git-receive-pack HTTP/1.1\r\nHost: g\r\nContent-Type: "
              "application/x-git-receive-pack-request\r\nTransfer-Encoding: chunked\r\n\r\n"),
      *cfg);
  ASSERT_TRUE(std::holds_alternative<HttpRoute>(rpc));
  EXPECT_EQ(std::get<HttpRoute>(rpc).service, Service::receive_pack);
  auto gz = route_http(head_of("POST /app.git/git-upload-pack HTTP/1.1\r\nContent-Type: "
                               "application/x-git-upload-pack-request\r\nContent-Encoding: gzip\r\n"
                               "Content-Length: 10\r\n\r\n"),
                       *cfg);
  ASSERT_TRUE(std::holds_alternative<HttpRoute>(gz));
  EXPECT_TRUE(std::get<HttpRoute>(gz).gzip);
}

TEST(HttpRoute, RefusesWithTheRightStatus) {
  auto cfg = one_repo_config();
  const std::string ct = "Content-Type: application/x-git-upload-pack-request\r\n";
  const std::vector<std::pair<std::string, int>> cases = {
      {"GET /nope.git/info/refs?service=git-upload-pack HTTP/1.1\r\n\r\n", 404},
      {"GET /../app.git/info/refs?service=git-upload-pack HTTP/1.1\r\n\r\n", 404},
      {"GET /%2e%2e/app.git/info/refs?service=git-upload-pack HTTP/1.1\r\n\r\n", 400},
      {"GET /app.git/info/refs HTTP/1.1\r\n\r\n", 403},
      {"GET /app.git/info/refs?service=git-upload-archive HTTP/1.1\r\n\r\n", 403},
      {"GET /app.git/info/refs?service=git-upload-pack&service=git-receive-pack HTTP/1.1\r\n\r\n",
       403},
      {"GET /app.git/HEAD HTTP/1.1\r\n\r\n", 404},
      {"GET /app.git/objects/info/packs HTTP/1.1\r\n\r\n", 404},
      {"POST /app.git/info/refs?service=git-upload-pack HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
       405},
      {"GET /app.git/git-upload-pack HTTP/1.1\r\n\r\n", 405},
      {"POST /app.git/git-upload-pack HTTP/1.1\r\nContent-Length: 4\r\n\r\n", 415},
      {"POST /app.git/git-upload-pack HTTP/1.1\r\n" + ct + "\r\n", 400},
      {"POST /app.git/git-upload-pack HTTP/1.1\r\n" + ct + "Content-Length: 1048577\r\n\r\n", 413},
      {"POST /app.git/git-upload-pack HTTP/1.1\r\n" + ct +
           "Content-Encoding: br\r\nContent-Length: 4\r\n\r\n",
       415},
      {"GET http://evil/app.git/info/refs?service=git-upload-pack HTTP/1.1\r\n\r\n", 400},
  };
  for (const auto& [raw, status] : cases) {
    auto r = route_http(head_of(raw), *cfg);
    ASSERT_TRUE(std::holds_alternative<HttpRefusal>(r)) << raw;
    EXPECT_EQ(std::get<HttpRefusal>(r).status, status) << raw;
  }
  // Exactly the cap is fine.
  auto at_cap = route_http(head_of("POST /app.git/git-upload-pack HTTP/1.1\r\n" + ct +
                                   "Content-Length: 1048576\r\n\r\n"),
                           *cfg);
  EXPECT_TRUE(std::holds_alternative<HttpRoute>(at_cap));
}

TEST(HttpRoute, TheParserRefusesBadFramingBeforeRouting) {
  for (const char* raw :
       {"POST /app.git/git-upload-pack HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "POST /app.git/git-upload-pack HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST /app.git/git-upload-pack HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "POST /app.git/git-upload-pack HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: "
        "chunked\r\n\r\n"}) {
    Http1Parser p(Http1Parser::Kind::request);
    EXPECT_EQ(p.feed(raw).status, Http1Parser::Status::error) << raw;
    EXPECT_EQ(p.error_status(), 400) << raw;
  }
}

TEST(RefUpdate, ParsesHookLines) {
  const std::string a(40, 'a'), b(40, 'b'), z(kZeroId);
  auto u = parse_ref_update(a + " " + b + " refs/heads/main");
  ASSERT_TRUE(u.ok()) << u.error();
  EXPECT_FALSE(u->creates());
  EXPECT_FALSE(u->deletes());
  EXPECT_TRUE(parse_ref_update(z + " " + b + " refs/heads/new")->creates());
  EXPECT_TRUE(parse_ref_update(a + " " + z + " refs/tags/v1")->deletes());
  EXPECT_TRUE(
      parse_ref_update(std::string(64, 'c') + " " + std::string(64, 'd') + " refs/heads/x").ok());
  for (const std::string& bad :
       {a + " " + b, a + " " + b + " HEAD", "xyz " + b + " refs/heads/x",
        a + " " + std::string(64, 'd') + " refs/heads/x", a + " " + b + " refs/heads/a b"}) {
    EXPECT_FALSE(parse_ref_update(bad).ok()) << bad;
  }
}

TEST(HookChannel, RequestsRoundTripAndSayLinesCarryAnyText) {
  HookRequest req;
  req.updates.push_back(
      *parse_ref_update(std::string(kZeroId) + " " + std::string(40, '1') + " refs/heads/main"));
  req.quarantine["GIT_QUARANTINE_PATH"] = "/s/mirrors/app.git/objects/incoming-x";
  auto back = parse_hook_request(hook_request_line(req));
  ASSERT_TRUE(back.ok()) << back.error();
  ASSERT_EQ(back->updates.size(), 1u);
  EXPECT_EQ(back->updates[0].ref, "refs/heads/main");
  EXPECT_EQ(back->quarantine.at("GIT_QUARANTINE_PATH"), "/s/mirrors/app.git/objects/incoming-x");
  EXPECT_EQ(hook_say_line("a \"quoted\"\nline"), "{\"say\":\"a \\\"quoted\\\"\\nline\"}\n");
  EXPECT_EQ(hook_verdict_line(true), "{\"accept\":true}\n");
  EXPECT_FALSE(parse_hook_request("not json").ok());
  EXPECT_FALSE(parse_hook_request("{\"updates\":[{\"old\":1}]}").ok());
  // Variables other than the quarantine's are never taken from the channel.
  auto env = parse_hook_request(
      "{\"updates\":[],\"env\":{\"GIT_SSH_COMMAND\":\"x\",\"GIT_OBJECT_DIRECTORY\":\"/o\"}}");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->quarantine.count("GIT_SSH_COMMAND"), 0u);
  EXPECT_EQ(env->quarantine.count("GIT_OBJECT_DIRECTORY"), 1u);
}

TEST(Binary, NulInTheFirst8000BytesMeansBinary) {
  EXPECT_TRUE(looks_binary("abc\0def"s));
  EXPECT_FALSE(looks_binary("plain text\n"));
  EXPECT_FALSE(looks_binary(std::string(8000, 'a') + '\0'));
}

TEST(SshCommand, PinsTheHostKeyAndNeverAsks) {
  GateTools tools{"/usr/bin/git", "/usr/bin/ssh", "/self", "/usr/bin"};
  StateDir state("/st ate");
  config::GateRepo repo;
  repo.name = "app";
  repo.key_file = "/keys/it's";
  const std::string cmd = ssh_command(tools, state, repo);
  for (const char* want :
       {"'BatchMode=yes'", "'ConnectTimeout=10'", "'StrictHostKeyChecking=yes'",
        "'UserKnownHostsFile=/st ate/known_hosts/app'", "'HostKeyAlias=gitgate-app'",
        "'-i' '/keys/it'\\''s'", "'IdentitiesOnly=yes'", "'-F' '/dev/null'",
        "'GlobalKnownHostsFile=/dev/null'"}) {
    EXPECT_NE(cmd.find(want), std::string::npos) << want << " in " << cmd;
  }
  auto env = upstream_env(tools, state, repo);
  bool has_ssh = false;
  for (const auto& e : env) {
    has_ssh |= e.starts_with("GIT_SSH_COMMAND=");
    EXPECT_FALSE(e.starts_with("HTTPS_PROXY") || e.starts_with("https_proxy")) << e;
  }
  EXPECT_TRUE(has_ssh);
}

TEST(SshCommand, ShellQuotingSurvivesTheShell) {
  auto sh = test::which("sh");
  if (sh.empty()) BOTTLE_SKIP() << "no sh";
  for (const std::string& s : std::vector<std::string>{"plain", "it's", "a b", "$(x)`y`", "\"q\"",
                                                       "semi;colon", "new\nline", ""}) {
    SpawnSpec spec;
    spec.argv = {sh, "-c", "printf %s " + shell_quote(s)};
    auto r = run_command(spec);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->out, s);
  }
}

TEST(Subprocess, CapturesBothStreamsAndFeedsInput) {
  auto sh = test::which("sh");
  SpawnSpec spec;
  spec.argv = {sh, "-c", "cat; echo err >&2; exit 3"};
  spec.input = "input text";
  auto r = run_command(spec);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->status, 3);
  EXPECT_EQ(r->out, "input text");
  EXPECT_EQ(r->err, "err\n");
}

TEST(Subprocess, ATimeoutKillsTheWholeGroup) {
  auto sh = test::which("sh");
  SpawnSpec spec;
  spec.argv = {sh, "-c", "sleep 30 & sleep 30; echo never"};
  auto r = run_command(spec, 200);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->out, "");
}

TEST(Subprocess, RelativeProgramsAreRefused) {
  SpawnSpec spec;
  spec.argv = {"git"};
  EXPECT_FALSE(run_command(spec).ok());
}

TEST(TailLines, KeepsTheLastNonEmptyLines) {
  EXPECT_EQ(tail_lines("a\n\nb\r\nc\n\n", 2), "b\nc");
  EXPECT_EQ(tail_lines("", 3), "");
}

TEST(Metrics, RenderEveryCounter) {
  GateMetrics m;
  m.pushes_rejected = 2;
  m.fetches_ok = 5;
  std::string text = m.render();
  EXPECT_NE(text.find("gitgate_pushes_total{outcome=\"rejected\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("gitgate_fetches_total{result=\"ok\"} 5\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE gitgate_active_connections gauge"), std::string::npos);
}

}  // namespace
}  // namespace bottle::gitgate
