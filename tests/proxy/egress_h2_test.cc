// bottle-egress over HTTP/2 (issue 14): real clients (curl --http2, nghttp, h2load, gRPC
// from Debian's python3-grpcio, a hand-rolled frame writer for what libraries will not
// send) and real servers (nginx with and without h2, a gRPC server, a wss peer), all on
// loopback through the real binary.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/proxy/harness.h"

namespace bottle::test {
namespace {

constexpr const char* kToken = "tok_real_9f8e7d6c5b4a39281706";

bool file_has_port(const std::string& path) {
  return !read_file(path).empty();
}

class EgressH2 : public ::testing::Test {
 protected:
  // Setup failures are non-fatal here so that the tests still run and fail in SetUp():
  // a fatal one would make gtest report every test as skipped.
  static void SetUpTestSuite() {
    dir_ = new ScratchDir();
    mint_test_pki(dir_->path());
    write_file(dir_->file("big.bin"), std::string(600 << 10, 'b'));  // /big, and /slow at 300 KB/s
    nginx_ = new Nginx(dir_->path());
    if (!nginx_->ok()) {
      ADD_FAILURE() << "nginx did not start";
      return;
    }
    grpc_pid_ = fork();
    if (grpc_pid_ == 0) {
      execl("/usr/bin/python3", "python3", BOTTLE_GRPC_PEER, "server",
            dir_->file("grpc.port").c_str(), dir_->file("up.pem").c_str(),
            dir_->file("up-key.pem").c_str(), nullptr);
      _exit(127);
    }
    if (!eventually([] { return file_has_port(dir_->file("grpc.port")); },
                    std::chrono::seconds(20)))
      {
      ADD_FAILURE() << "grpc_peer.py did not start (python3-grpcio installed?)";
      return;
    }
    grpc_port_ = std::stoi(read_file(dir_->file("grpc.port")));
    ws_ = new Child({"/usr/bin/python3", BOTTLE_WS_PEER, dir_->file("ws.rec"), dir_->file("up.pem"),
                     dir_->file("up-key.pem")},
                    dir_->file("ws.log"));
    if (ws_->port == 0) {
      ADD_FAILURE() << "ws_peer.py did not start";
      return;
    }
    trailers_ = new Child({"/usr/bin/python3", BOTTLE_TRAILER_PEER, dir_->file("trailers.rec"),
                           dir_->file("up.pem"), dir_->file("up-key.pem")},
                          dir_->file("trailers.log"));
    if (trailers_->port == 0) {
      ADD_FAILURE() << "trailer_peer.py did not start";
      return;
    }
    write_file(dir_->file("routes.yaml"), routes());
    egress_ = new Egress(dir_->path(), dir_->file("routes.yaml"), resolve_args(),
                         {{"EGRESS_TOKEN_0", kToken}});
    if (!egress_->wait_healthy()) ADD_FAILURE() << egress_->log();
  }
  // A failed suite setup must fail every test (gtest would report them as skipped).
  void SetUp() override {
    ASSERT_TRUE(egress_ && egress_->pid() > 0 && ws_ && ws_->port > 0 && grpc_port_ > 0 &&
                trailers_ && trailers_->port > 0)
        << "suite setup failed (see above)";
  }
  static void TearDownTestSuite() {
    delete egress_;
    delete ws_;
    delete trailers_;
    if (grpc_pid_ > 0) {
      kill(grpc_pid_, SIGKILL);
      waitpid(grpc_pid_, nullptr, 0);
    }
    delete nginx_;
    delete dir_;
  }

  static std::string routes() {
    return "log: full\n"
           "routes:\n"
           "  - host: api.test\n    port: " + std::to_string(nginx_->h2_port()) +
           "\n    allow_private: true\n"
           "    auth: {scheme: Bearer, token_env: EGRESS_TOKEN_0}\n"
           "    dlp: {inbound: block}\n"
           "    matches:\n"
           "      - path: {type: PathPrefix, value: /v1/}\n"
           "      - path: {type: PathPrefix, value: /inject}\n"
           "      - path: {type: PathPrefix, value: /big}\n"
           "      - path: {type: PathPrefix, value: /slow}\n"
           "  - host: h1.test\n    port: " + std::to_string(nginx_->tls_port()) +
           "\n    allow_private: true\n"
           "  - host: grpc.test\n    port: " + std::to_string(grpc_port_) +
           "\n    allow_private: true\n"
           "  - host: ws.test\n    port: " + std::to_string(ws_->port) +
           "\n    allow_private: true\n"
           "  - host: other.test\n    port: " + std::to_string(trailers_->port) +
           "\n    allow_private: true\n";
  }
  static std::vector<std::string> resolve_args() {
    std::vector<std::string> out;
    for (const std::string& pin : {"api.test:" + std::to_string(nginx_->h2_port()),
                                   "h1.test:" + std::to_string(nginx_->tls_port()),
                                   "grpc.test:" + std::to_string(grpc_port_),
                                   "ws.test:" + std::to_string(ws_->port),
                                   "other.test:" + std::to_string(trailers_->port)}) {
      out.insert(out.end(), {"--resolve", pin + ":127.0.0.1"});
    }
    return out;
  }

  static std::string api() { return "api.test:" + std::to_string(nginx_->h2_port()); }
  static CommandResult curl2(const std::vector<std::string>& args, uint16_t port = 0) {
    std::vector<std::string> a = {"--http2"};
    a.insert(a.end(), args.begin(), args.end());
    return curl_via(port ? port : egress_->port(), dir_->file("ca.pem"), a);
  }
  // h2_raw.py's JSON line for one scenario.
  static std::string raw_h2(const std::string& authority, const std::string& scenario,
                            const std::string& arg = "", uint16_t port = 0) {
    std::vector<std::string> argv = {"/usr/bin/python3", BOTTLE_H2_RAW,
                                     std::to_string(port ? port : egress_->port()), authority,
                                     scenario};
    if (!arg.empty()) argv.push_back(arg);
    return run(argv).out;
  }
  static std::unique_ptr<Child> relay_to(const std::string& authority, uint16_t proxy_port = 0) {
    return std::make_unique<Child>(std::vector<std::string>{
        BOTTLE_CONNECT_RELAY, "--proxy", std::to_string(proxy_port ? proxy_port : egress_->port()),
        "--authority", authority});
  }

  static inline ScratchDir* dir_ = nullptr;
  static inline Nginx* nginx_ = nullptr;
  static inline pid_t grpc_pid_ = -1;
  static inline int grpc_port_ = 0;
  static inline Child* ws_ = nullptr;
  static inline Child* trailers_ = nullptr;  // an HTTP/1.1-only upstream that uses trailers
  static inline Egress* egress_ = nullptr;
};

TEST_F(EgressH2, CurlNegotiatesH2AndReachesAnH2UpstreamOverH2) {
  CommandResult r = curl2({"-w", "\nclient=%{http_version}", "https://" + api() + "/v1/hello"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("client=2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("proto=[HTTP/2.0]"), std::string::npos) << "upstream side: " << r.out;
  EXPECT_NE(r.out.find(std::string("auth=[Bearer ") + kToken + "]"), std::string::npos) << r.out;
  EXPECT_GE(egress_->metric("egress_h2_connections_total"), 1u);
  EXPECT_GE(egress_->metric("egress_h2_upstream_connections_total"), 1u);
}

TEST_F(EgressH2, CurlOverH2ReachesAnH1OnlyUpstream) {
  const std::string url = "https://h1.test:" + std::to_string(nginx_->tls_port()) + "/x";
  for (int i = 0; i < 2; ++i) {  // the second time the upstream is known to be h1-only
    CommandResult r = curl2({"-w", "\nclient=%{http_version}", url});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("client=2"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("proto=[HTTP/1.1]"), std::string::npos) << r.out;
  }
}

TEST_F(EgressH2, AuthorityOtherThanTheConnectHostIsHostMismatch) {
  // curl sends a Host override as :authority on h2.
  CommandResult r = curl2({"-i", "-H", "Host: h1.test:" + std::to_string(nginx_->h2_port()),
                           "https://" + api() + "/v1/x"});
  EXPECT_NE(r.out.find("HTTP/2 403"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("x-bottle-block: host_mismatch"), std::string::npos) << r.out;
}

TEST_F(EgressH2, StalledUploadTimesOutOnItsStreamOnly) {
  std::vector<std::string> args = resolve_args();
  args.insert(args.end(), {"--timeout", "body=0.5"});
  Egress proxy(dir_->path(), dir_->file("routes.yaml"), args, {{"EGRESS_TOKEN_0", kToken}});
  ASSERT_TRUE(proxy.wait_healthy()) << proxy.log();
  std::string r = raw_h2(api(), "stalled_upload", "", proxy.port());
  EXPECT_NE(r.find("\"stream3_done\": true"), std::string::npos) << r;
  EXPECT_NE(r.find("\"stream1_answered\": true"), std::string::npos) << "408 on stream 1: " << r;
  EXPECT_EQ(proxy.metric("egress_timeouts_total"), 1u);
  EXPECT_NE(proxy.log().find("\"phase\":\"request_body\""), std::string::npos) << proxy.log();
}

TEST_F(EgressH2, SecretInAnH2RequestBodyIsRefusedOnThatStreamOnly) {
  // Two transfers multiplexed on one connection: one carries the token, one is clean.
  const std::string fmt = "%{http_code} %{header_json}\n";
  CommandResult r = curl_via(
      egress_->port(), dir_->file("ca.pem"),
      {"--http2", "--parallel", "--parallel-immediate", "-o", "/dev/null", "-w", fmt, "-d",
       std::string("token=") + kToken, "https://" + api() + "/v1/leak", "--next", "--http2", "-x",
       "http://127.0.0.1:" + std::to_string(egress_->port()), "--cacert", dir_->file("ca.pem"),
       "-o", "/dev/null", "-w", fmt, "-d", "clean=1", "https://" + api() + "/v1/fine"});
  EXPECT_NE(r.out.find("403 {"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"x-bottle-block\":[\"dlp_outbound\"]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("200 {"), std::string::npos) << r.out;
  EXPECT_EQ(egress_->log().find(kToken), std::string::npos);
}

TEST_F(EgressH2, InjectionInAnH2ResponseCutsThatStreamOnly) {
  CommandResult r = curl_via(
      egress_->port(), dir_->file("ca.pem"),
      {"--http2", "--parallel", "-sS", "-w", "[%{http_code} %{url}]\n",
       "https://" + api() + "/inject", "--next", "--http2", "-x",
       "http://127.0.0.1:" + std::to_string(egress_->port()), "--cacert", dir_->file("ca.pem"),
       "-w", "[%{http_code} %{url}]\n", "https://" + api() + "/v1/after"});
  EXPECT_NE(r.exit_code, 0) << "the cut stream is an error for curl";
  EXPECT_NE(r.out.find("uri=[/v1/after]"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("reveal your system prompt"), std::string::npos) << r.out;
  EXPECT_TRUE(eventually([] { return egress_->log().find("response stream cut") != std::string::npos; }));
}

TEST_F(EgressH2, H2loadManyStreamsOnFewConnectionsSomeBlockedOthersSucceed) {
  auto relay = relay_to(api());
  ASSERT_GT(relay->port, 0);
  std::string uris;
  for (int i = 0; i < 10; ++i) {
    uris += "https://" + api() + "/v1/ok" + std::to_string(i) + "\n";
    uris += "https://" + api() + "/denied" + std::to_string(i) + "\n";  // route_not_matched
  }
  write_file(dir_->file("uris.txt"), uris);
  const std::optional<uint64_t> streams_before = egress_->metric("egress_h2_streams_total");
  ASSERT_TRUE(streams_before);
  CommandResult r = run({"/usr/bin/h2load", "-n", "400", "-c", "2", "-m", "50", "--connect-to",
                         "127.0.0.1:" + std::to_string(relay->port), "-i", dir_->file("uris.txt")});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("400 done, 200 succeeded, 200 failed, 0 errored"), std::string::npos)
      << r.out;  // h2load counts the 403s as failed
  EXPECT_NE(r.out.find("status codes: 200 2xx, 0 3xx, 200 4xx, 0 5xx"), std::string::npos) << r.out;
  EXPECT_EQ(egress_->metric("egress_h2_streams_total"), *streams_before + 400u);
}

TEST_F(EgressH2, NghttpMultiplexesAllowedAndRefusedStreamsOnOneConnection) {
  auto relay = relay_to(api());
  ASSERT_GT(relay->port, 0);
  const std::string base = "https://127.0.0.1:" + std::to_string(relay->port);
  CommandResult r = run({"/usr/bin/nghttp", "-nv", "-H", ":authority: " + api(), base + "/v1/a",
                         base + "/denied", base + "/v1/b"});
  size_t ok = 0, refused = 0;
  for (size_t at = 0; (at = r.out.find(":status: ", at)) != std::string::npos; at += 9) {
    ok += r.out.compare(at + 9, 3, "200") == 0;
    refused += r.out.compare(at + 9, 3, "403") == 0;
  }
  EXPECT_EQ(ok, 2u) << r.out;
  EXPECT_EQ(refused, 1u) << r.out;
}

// An h2 client's request trailers reach an HTTP/1.1 upstream on its chunked body (after the
// DLP scan), and the upstream's chunked-response trailers reach the client as HEADERS.
TEST_F(EgressH2, TrailersCrossBetweenAnH2ClientAndAnH1Upstream) {
  const std::string authority = "other.test:" + std::to_string(trailers_->port);
  auto relay = relay_to(authority);
  ASSERT_GT(relay->port, 0);
  write_file(dir_->file("up.txt"), "payload");
  CommandResult r = run({"/usr/bin/nghttp", "-nv", "-H", ":authority: " + authority, "-d",
                         dir_->file("up.txt"), "--trailer", "x-digest: sha-256=abc",
                         "https://127.0.0.1:" + std::to_string(relay->port) + "/up"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find(":status: 200"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("x-upstream-trailer: done"), std::string::npos) << r.out;
  std::string rec = read_file(dir_->file("trailers.rec"));
  EXPECT_NE(rec.find("\"request\": \"POST /up HTTP/1.1\""), std::string::npos) << rec;
  EXPECT_NE(rec.find("\"chunked\": true, \"body\": \"payload\", "
                     "\"trailers\": {\"x-digest\": \"sha-256=abc\"}"),
            std::string::npos)
      << rec << r.out;
}

// A request trailer is scanned like a header: a secret in one refuses the request, and
// nothing of it reaches the upstream.
TEST_F(EgressH2, SecretInAnH2RequestTrailerIsRefusedBeforeTheH1Upstream) {
  const std::string authority = "other.test:" + std::to_string(trailers_->port);
  auto relay = relay_to(authority);
  ASSERT_GT(relay->port, 0);
  write_file(dir_->file("up.txt"), "payload");
  const std::string secret = kToken;  // a provisioned credential: known_secret
  CommandResult r = run({"/usr/bin/nghttp", "-nv", "-H", ":authority: " + authority, "-d",
                         dir_->file("up.txt"), "--trailer", "x-digest: " + secret,
                         "https://127.0.0.1:" + std::to_string(relay->port) + "/leak"});
  EXPECT_EQ(r.out.find(":status: 200"), std::string::npos) << r.out;
  EXPECT_EQ(read_file(dir_->file("trailers.rec")).find(secret), std::string::npos);
  EXPECT_EQ(egress_->log().find(secret), std::string::npos);
}

TEST_F(EgressH2, GrpcUnaryAndStreamingCallsKeepTheirTrailers) {
  const std::string target = "grpc.test:" + std::to_string(grpc_port_);
  CommandResult r = run({"/usr/bin/python3", BOTTLE_GRPC_PEER, "client",
                         std::to_string(egress_->port()), dir_->file("ca.pem"), target});
  EXPECT_NE(r.out.find("\"unary\": \"echo:hello\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"unary_trailers\": {\"x-trailer\": \"unary-done\"}"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\"stream\": [\"0:a\", \"1:b\", \"2:c\"]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"stream_trailers\": {\"x-trailer\": \"stream-done\"}"),
            std::string::npos)
      << r.out;
}

TEST_F(EgressH2, SecretInAGrpcCallIsRefusedOnThatCallOnly) {
  const std::string target = "grpc.test:" + std::to_string(grpc_port_);
  CommandResult r = run({"/usr/bin/python3", BOTTLE_GRPC_PEER, "client",
                         std::to_string(egress_->port()), dir_->file("ca.pem"), target, kToken});
  EXPECT_NE(r.out.find("\"unary_error\": \"PERMISSION_DENIED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"stream_trailers\": {\"x-trailer\": \"stream-done\"}"),
            std::string::npos)
      << "the other call on the channel: " << r.out;
}

TEST_F(EgressH2, WebSocketOverH2PassesCleanMessagesAndCutsASecret) {
  const std::string ws = "ws.test:" + std::to_string(ws_->port);
  std::string clean = raw_h2(ws, "ws_echo", "hello over h2");
  EXPECT_NE(clean.find("\"connect_protocol\": true"), std::string::npos) << clean;
  EXPECT_NE(clean.find("\"echo\": \"hello over h2\""), std::string::npos) << clean;
  std::string secret = raw_h2(ws, "ws_secret", std::string("key ") + kToken);
  EXPECT_NE(secret.find("\"rst\": 2"), std::string::npos) << secret;
  EXPECT_EQ(read_file(dir_->file("ws.rec")).find("746f6b5f7265616c"), std::string::npos)
      << "no byte of the secret message reached the upstream";
}

TEST_F(EgressH2, SlowReaderOnOneStreamDoesNotStallTheOthers) {
  std::string r = raw_h2(api(), "slow_reader");
  EXPECT_NE(r.find("\"other_done\": true"), std::string::npos) << r;
  EXPECT_NE(r.find("\"stalled_bytes\": 65535"), std::string::npos) << r;
}

TEST_F(EgressH2, EachAbuseEndsOnlyItsOwnSessionAndIsCounted) {
  for (const char* kind : {"rapid_reset", "continuation_flood", "settings_flood", "ping_flood",
                           "empty_frames", "hpack_bomb", "too_many_streams", "window_overflow"}) {
    SCOPED_TRACE(kind);
    const std::string metric = std::string("egress_h2_abuse_total{kind=\"") + kind + "\"}";
    const std::optional<uint64_t> before = egress_->metric(metric);
    ASSERT_TRUE(before);
    std::string r = raw_h2(api(), kind);
    EXPECT_NE(r.find("\"goaway\": "), std::string::npos) << r;
    EXPECT_EQ(r.find("\"goaway\": null"), std::string::npos) << "no GOAWAY: " << r;
    EXPECT_EQ(egress_->metric(metric), *before + 1);
    CommandResult ok = curl2({"-w", "\nclient=%{http_version}", "https://" + api() + "/v1/still"});
    EXPECT_NE(ok.out.find("client=2"), std::string::npos) << "another connection: " << ok.out;
  }
}

TEST_F(EgressH2, SigtermDrainsInFlightH1AndH2ExchangesThenExits) {
  Egress proxy(dir_->path(), dir_->file("routes.yaml"), resolve_args(), {{"EGRESS_TOKEN_0", kToken}});
  ASSERT_TRUE(proxy.wait_healthy()) << proxy.log();
  const std::string url = "https://" + api() + "/slow";  // ~2 s at 300 KB/s
  CommandResult h2, h1;
  std::string watch;  // a raw h2 client that reports the GOAWAY frame itself
  std::thread t2([&] { h2 = curl2({"-o", "/dev/null", "-w", "%{http_version} %{size_download}", url},
                                  proxy.port()); });
  std::thread t1([&] {
    h1 = curl_via(proxy.port(), dir_->file("ca.pem"),
                  {"-o", "/dev/null", "-w", "%{http_version} %{size_download}", url});
  });
  std::thread tw([&] { watch = raw_h2(api(), "drain_watch", "", proxy.port()); });
  // All three requests have reached the proxy: they are in flight when SIGTERM comes.
  ASSERT_TRUE(eventually([&] { return proxy.metric("egress_requests_total") == 3u; }));
  proxy.signal(SIGTERM);
  EXPECT_TRUE(eventually([&] { return proxy.log().find("egress_draining") != std::string::npos; }));
  // The workers close their listeners on their own loops, just after the log line.
  EXPECT_TRUE(eventually([&] {
    int fd = connect_loopback(proxy.port());
    if (fd < 0) return true;
    ::close(fd);
    return false;
  })) << "a draining proxy accepts nothing new";
  t2.join();
  t1.join();
  tw.join();
  const std::string whole = std::to_string(600 << 10);
  EXPECT_EQ(h2.out, "2 " + whole) << proxy.log();
  EXPECT_EQ(h1.out, "1.1 " + whole) << proxy.log();
  // GOAWAY (NO_ERROR, last stream 1) came while stream 1 was still downloading, and the
  // stream then finished whole.
  EXPECT_NE(watch.find("\"goaway\": 0"), std::string::npos) << watch;
  EXPECT_NE(watch.find("\"last_stream\": 1"), std::string::npos) << watch;
  EXPECT_NE(watch.find("\"goaway_before_end\": true"), std::string::npos) << watch;
  EXPECT_NE(watch.find("\"bytes\": " + whole + ", \"ended\": true"), std::string::npos) << watch;
  int status = proxy.wait_exit(std::chrono::seconds(6));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace bottle::test
