#include "proxy/pipeline.h"

#include <gtest/gtest.h>

#include <map>

#include "common/ascii.h"

namespace bottle::proxy {
namespace {

constexpr const char* kRoutes = R"(
routes:
  - host: api.test
    auth: {scheme: Bearer, token_env: EGRESS_TOKEN_0}
    matches:
      - path: {type: PathPrefix, value: /v1/}
        method: GET
  - host: "*.wild.test"
  - host: 10.1.2.3
  - host: open.test
    dlp: {outbound: off}
  - host: "*.warn.test"
    dlp: {outbound: warn}
)";

class Pipeline : public ::testing::Test {
 protected:
  // Building the DLP scanner takes a while: once for the suite.
  static void SetUpTestSuite() {
    config::EnvLookup env = [](const std::string& k) -> std::optional<std::string> {
      if (k == "EGRESS_TOKEN_0") return std::string("real-token-value-123456");
      return std::nullopt;
    };
    auto snap = snapshot_from_yaml(kRoutes, env);
    ASSERT_TRUE(snap.ok()) << snap.error();
    snap_ = snap.value();
  }

  static void TearDownTestSuite() { snap_.reset(); }

  Verdict request(std::string method, std::string target, std::vector<Header> headers = {},
                  std::optional<Authority> tunnel = std::nullopt) {
    MessageHead h;
    h.method = std::move(method);
    h.target = std::move(target);
    h.headers = std::move(headers);
    Arrival a;
    a.tunnel = std::move(tunnel);
    a.tls = a.tunnel.has_value();
    return evaluate_request(*snap_, h, a);
  }
  static Authority tunnel(std::string host, uint16_t port = 443) {
    Authority a;
    a.host = std::move(host);
    a.port = port;
    return a;
  }

  static std::shared_ptr<const Snapshot> snap_;
};

std::shared_ptr<const Snapshot> Pipeline::snap_;

TEST_F(Pipeline, AllowsMatchingRequestAndNamesInjection) {
  Verdict v = request("GET", "/v1/models", {{"Host", "api.test"}}, tunnel("api.test"));
  ASSERT_FALSE(v.block) << v.detail;
  EXPECT_EQ(v.origin_target, "/v1/models");
  EXPECT_EQ(v.inject_name, "authorization");
  EXPECT_EQ(injected_value(v), "Bearer real-token-value-123456");
  EXPECT_TRUE(v.upstream_tls);
}

TEST_F(Pipeline, BlocksUnknownHost) {
  Verdict v = request("GET", "http://nope.test/", {{"Host", "nope.test"}});
  ASSERT_TRUE(v.block);
  EXPECT_EQ(*v.block, BlockReason::host_not_allowed);
}

TEST_F(Pipeline, SecretUsedAsSubdomainOfUnknownHostIsKeptOutOfTheEvidence) {
  // Found by the escape suite: "<secret>.allowed.test" was logged in clear.
  const std::string host = "real-token-value-123456.nowhere.test";
  Verdict c = evaluate_connect(*snap_, host + ":443");
  ASSERT_TRUE(c.block);
  EXPECT_EQ(*c.block, BlockReason::host_not_allowed);
  ASSERT_FALSE(c.findings.empty());
  EXPECT_EQ(c.findings.front().location, "url");
  EXPECT_EQ(c.detail, "no route for ********.nowhere.test");
  Verdict r = request("GET", "http://" + host + "/", {{"Host", host}});
  ASSERT_TRUE(r.block);
  EXPECT_EQ(*r.block, BlockReason::host_not_allowed);
  EXPECT_EQ(r.detail.find("real-token"), std::string::npos) << r.detail;
  ASSERT_FALSE(r.findings.empty());
  // Lower-cased tokens fail their checksum; the label's shape is enough.
  Verdict lc = evaluate_connect(*snap_, "ghp_x0egu2jf9yxjslvzoqsogakmsyaxx83yy63k.allowed.test:443");
  EXPECT_EQ(lc.detail, "no route for ********.allowed.test");
  ASSERT_FALSE(lc.findings.empty());
  EXPECT_EQ(lc.findings.front().location, "url");
  EXPECT_EQ(evaluate_connect(*snap_, "objects-origin.githubusercontent.com:443").detail,
            "no route for objects-origin.githubusercontent.com");
  // An ordinary unknown host keeps its name in the evidence.
  Verdict plain = evaluate_connect(*snap_, "nope.test:443");
  EXPECT_EQ(plain.detail, "no route for nope.test");
  EXPECT_TRUE(plain.findings.empty());
}

TEST_F(Pipeline, BlocksMethodAndPathOutsideMatches) {
  EXPECT_EQ(request("POST", "/v1/x", {{"Host", "api.test"}}, tunnel("api.test")).block,
            BlockReason::route_not_matched);
  EXPECT_EQ(request("GET", "/v2/x", {{"Host", "api.test"}}, tunnel("api.test")).block,
            BlockReason::route_not_matched);
  EXPECT_EQ(request("GET", "/v1/../v2/x", {{"Host", "api.test"}}, tunnel("api.test")).block,
            BlockReason::route_not_matched);
}

TEST_F(Pipeline, HostHeaderMustAgreeWithTunnel) {
  Verdict v = request("GET", "/v1/x", {{"Host", "open.test"}}, tunnel("api.test"));
  EXPECT_EQ(v.block, BlockReason::host_mismatch);
  Verdict abs = request("GET", "http://open.test/", {{"Host", "api.test"}});
  EXPECT_EQ(abs.block, BlockReason::host_mismatch);
}

TEST_F(Pipeline, WildcardsCoverSubdomainsButNotIpLiterals) {
  EXPECT_FALSE(request("GET", "http://a.wild.test/", {}).block);
  EXPECT_EQ(request("GET", "http://127.0.0.1/", {}).block, BlockReason::host_not_allowed);
  EXPECT_FALSE(request("GET", "http://10.1.2.3/", {}).block);
  EXPECT_EQ(evaluate_connect(*snap_, "10.1.2.4:443").block, BlockReason::host_not_allowed);
  EXPECT_FALSE(evaluate_connect(*snap_, "10.1.2.3:443").block);
}

TEST_F(Pipeline, GitReceivePackIsAlwaysBlocked) {
  EXPECT_EQ(request("POST", "http://open.test/r.git/git-receive-pack", {}).block,
            BlockReason::git_push_via_proxy);
  EXPECT_EQ(request("GET", "http://open.test/r.git/info/refs?service=git-receive-pack", {}).block,
            BlockReason::git_push_via_proxy);
  EXPECT_FALSE(
      request("GET", "http://open.test/r.git/info/refs?service=git-upload-pack", {}).block);
}

TEST_F(Pipeline, OriginFormOutsideTunnelIsBadRequest) {
  Verdict v = request("GET", "/x", {{"Host", "api.test"}});
  EXPECT_EQ(v.block, BlockReason::bad_request);
  EXPECT_EQ(v.status, 400);
}

TEST_F(Pipeline, KnownSecretInUrlIsBlocked) {
  Verdict v =
      request("GET", "/v1/x?k=real-token-value-123456", {{"Host", "api.test"}}, tunnel("api.test"));
  EXPECT_EQ(v.block, BlockReason::dlp_outbound);
  ASSERT_FALSE(v.findings.empty());
  EXPECT_EQ(v.findings.front().location, "url");
}

TEST_F(Pipeline, SecretSplitAcrossTwoHeadersIsBlocked) {
  for (bool between : {false, true}) {
    std::vector<Header> headers = {{"Host", "api.test"}, {"X-Part-1", "real-token-va"}};
    if (between) headers.push_back({"User-Agent", "curl/8.4.0"});
    headers.push_back({"X-Part-2", "lue-123456"});
    Verdict v = request("GET", "/v1/x", headers, tunnel("api.test"));
    EXPECT_EQ(v.block, BlockReason::dlp_outbound) << "header between: " << between;
    ASSERT_FALSE(v.findings.empty());
    EXPECT_EQ(v.findings.front().location, "headers");
  }
  // Ordinary header values side by side are not a secret.
  Verdict ok = request("GET", "/v1/x",
                       {{"Host", "api.test"}, {"X-Request-Id", "0f8fad5b-d9cb-469f-a165-70867728950e"},
                        {"Accept", "application/json"}, {"User-Agent", "curl/8.4.0"}},
                       tunnel("api.test"));
  EXPECT_FALSE(ok.block) << ok.detail;
}

TEST_F(Pipeline, SecretSplitAcrossQueryParametersIsBlocked) {
  Verdict v = request("GET", "/v1/x?a=real-token-va&page=2&b=lue-123456", {{"Host", "api.test"}}, tunnel("api.test"));
  EXPECT_EQ(v.block, BlockReason::dlp_outbound);
  Verdict ok = request("GET", "/v1/x?page=2&sort=created_at&cursor=Zm9vYmFy", {{"Host", "api.test"}},
                       tunnel("api.test"));
  EXPECT_FALSE(ok.block) << ok.detail;
}

TEST_F(Pipeline, DataInTheLabelsOfAWildcardHostIsBlocked) {
  // "token=real-token-value-123456" in hex, cut into labels, under *.wild.test.
  const std::string labels = "746f6b656e3d7265616c2d746f6b656e2d.76616c75652d313233343536";
  Verdict at_connect = evaluate_connect(*snap_, labels + ".wild.test:443");
  EXPECT_EQ(at_connect.block, BlockReason::dlp_outbound);
  ASSERT_FALSE(at_connect.findings.empty());
  EXPECT_EQ(at_connect.findings.front().location, "url");
  Verdict absolute = request("GET", "http://" + labels + ".wild.test/", {});
  EXPECT_EQ(absolute.block, BlockReason::dlp_outbound);
  // CDN hashes and region names pass.
  for (std::string host : {"d3k9x7q2m1.wild.test", "assets-k3j4h5.eu-west-2.wild.test", "us-east-1.s3.wild.test"}) {
    EXPECT_FALSE(evaluate_connect(*snap_, host + ":443").block) << host;
  }
}

// SPEC §4.2.10: the token only ever travels inside TLS to the upstream.
TEST_F(Pipeline, RouteWithAuthOverCleartextIsBlocked) {
  for (const char* url : {"http://api.test/v1/x", "http://api.test:443/v1/x"}) {
    std::string host(url + 7);
    host = host.substr(0, host.find('/'));
    Verdict v = request("GET", url, {{"Host", host}});
    EXPECT_EQ(v.block, BlockReason::cleartext_credential) << url << ": " << v.detail;
  }
  // Plain HTTP inside a CONNECT tunnel (the first byte was not a TLS handshake).
  MessageHead h;
  h.method = "GET";
  h.target = "/v1/x";
  h.headers = {{"Host", "api.test"}};
  Arrival plain;
  plain.tunnel = tunnel("api.test");
  plain.tls = false;
  EXPECT_EQ(evaluate_request(*snap_, h, plain).block, BlockReason::cleartext_credential);
  // https:// in absolute form: the proxy dials TLS itself, so the token may go.
  EXPECT_FALSE(request("GET", "https://api.test/v1/x", {{"Host", "api.test"}}).block);
  // A secret in the URL still reports as DLP: the more telling evidence.
  EXPECT_EQ(request("GET", "http://api.test/v1/x?k=real-token-value-123456", {{"Host", "api.test"}})
                .block,
            BlockReason::dlp_outbound);
}

// SPEC §5: hosts are scanned label by label before lower-casing, routed or not.
TEST_F(Pipeline, SecretAsWildcardLabelIsBlockedInAnyCase) {
  const char* aws = "AKIASYWXGTB4G7DBXZVV";
  for (std::string host : {std::string(aws) + ".wild.test", ascii_lower(aws) + ".wild.test",
                           // base32 of the same key: lower-case letters and digits 2-7
                           std::string("iffusqktlflvqr2uii2eon2eijmfuvsw.wild.test")}) {
    Verdict r = request("GET", "http://" + host + "/", {{"Host", host}});
    EXPECT_EQ(r.block, BlockReason::dlp_outbound) << host << ": " << r.detail;
    ASSERT_FALSE(r.findings.empty()) << host;
    EXPECT_EQ(r.findings.front().location, "url");
    Verdict c = evaluate_connect(*snap_, host + ":443");
    EXPECT_EQ(c.block, BlockReason::dlp_outbound) << host << ": " << c.detail;
  }
  // An ordinary subdomain, and labels with short runs, still pass.
  EXPECT_FALSE(request("GET", "http://cdn-2024-eu-west.wild.test/", {}).block);
  EXPECT_FALSE(evaluate_connect(*snap_, "objects.wild.test:443").block);
  // A warn route forwards, with the finding kept for the log.
  Verdict w = request("GET", std::string("http://") + aws + ".warn.test/", {});
  EXPECT_FALSE(w.block) << w.detail;
  EXPECT_FALSE(w.findings.empty());
}

// egress.encoded_host_label is egress's own rule (a mixed letter-digit run in a label the
// agent chose), yet it is in the catalog like any detector: dlp.detectors can warn or
// turn it off, top level or per route, and an id the catalog lacks would be a load error.
TEST(EncodedHostLabel, IsADetectorThatDlpDetectorsCanSet) {
  auto snap = snapshot_from_yaml(R"(
dlp: {detectors: {egress.encoded_host_label: warn}}
routes:
  - host: "*.warned.test"
  - host: "*.off.test"
    dlp: {detectors: {egress.encoded_host_label: off}}
  - host: "*.blocked.test"
    dlp: {detectors: {egress.encoded_host_label: block}}
)",
                                 [](const std::string&) { return std::optional<std::string>(); });
  ASSERT_TRUE(snap.ok()) << snap.error();
  const std::string label = "k3j9x7q2m1z8w4v5";  // only the shape rule fires on it
  Verdict blocked = evaluate_connect(*snap.value(), label + ".blocked.test:443");
  EXPECT_EQ(blocked.block, BlockReason::dlp_outbound) << blocked.detail;
  ASSERT_EQ(blocked.findings.size(), 1u);
  EXPECT_EQ(blocked.findings[0].detector, "egress.encoded_host_label");
  EXPECT_EQ(blocked.findings[0].snippet.find(label), std::string::npos);

  Verdict warned = evaluate_connect(*snap.value(), label + ".warned.test:443");
  EXPECT_FALSE(warned.block) << warned.detail;
  ASSERT_EQ(warned.findings.size(), 1u);
  EXPECT_EQ(warned.findings[0].detector, "egress.encoded_host_label");
  EXPECT_FALSE(warned.findings[0].blocking);

  Verdict off = evaluate_connect(*snap.value(), label + ".off.test:443");
  EXPECT_FALSE(off.block) << off.detail;
  EXPECT_TRUE(off.findings.empty());
}

TEST_F(Pipeline, EmptyFirstLabelIsNotAWildcardMatch) {
  EXPECT_TRUE(request("GET", "http://.wild.test/", {}).block);
  EXPECT_TRUE(evaluate_connect(*snap_, ".wild.test:443").block);
  EXPECT_TRUE(evaluate_connect(*snap_, "a..wild.test:443").block);
}

TEST_F(Pipeline, GitReceivePackIsFoundDecodedAndNormalized) {
  for (const char* target : {"http://open.test/r.git/info/refs?service=git-receive-pac%6b",
                             "http://open.test/r.git/info/refs?service=git-receive-pac%256b",
                             "http://open.test/r.git/info/refs?x=1&SERVICE=GIT-RECEIVE-PACK",
                             "http://open.test/r.git/info/refs?service=git%2Dreceive%2Dpack&x",
                             "http://open.test/r.git/git-receive-pack/",
                             "http://open.test/r.git/GIT-RECEIVE-PACK",
                             "http://open.test/r.git/git-receive-pac%6b",
                             "http://open.test/r.git/git-receive-pack;x=1"}) {
    EXPECT_EQ(request("POST", target, {}).block, BlockReason::git_push_via_proxy) << target;
  }
  EXPECT_FALSE(request("GET", "http://open.test/r.git/info/refs?service=git-upload-pack", {}).block);
  EXPECT_FALSE(request("GET", "http://open.test/docs/git-receive-pack-howto", {}).block);
}

// SPEC §4.4: nothing the agent sent reaches a detail unredacted.
TEST_F(Pipeline, DetailsNeverEchoWhatTheAgentSent) {
  const std::string secret = "real-token-value-123456";
  std::vector<Verdict> verdicts = {
      evaluate_connect(*snap_, secret + "@api.test:443"),
      evaluate_connect(*snap_, secret + ":443"),
      request("GET", "http://" + secret + "@api.test/v1/x", {{"Host", "api.test"}}),
      request("GET", "/v1/x", {{"Host", secret + "@api.test"}}, tunnel("api.test")),
      request("GET", "/v1/x", {{"Host", secret + ".open.test"}}, tunnel("api.test")),
      request("GET", "http://api.test/v1/x", {{"Host", secret + ".wild.test"}}),
      request("GET", secret + "://api.test/", {}),
      request("GET", "/v1/x", {{"Host", "api.test"}, {secret, "1"}}, tunnel("api.test")),
  };
  for (const Verdict& v : verdicts) {
    ASSERT_TRUE(v.block);
    EXPECT_EQ(v.detail.find("real-token"), std::string::npos) << v.detail << " reason " << static_cast<int>(*v.block) << " findings " << v.findings.size();
    for (const auto& f : v.findings) {
      EXPECT_EQ(f.location.find("real-token"), std::string::npos) << f.location;
      EXPECT_EQ(f.snippet.find("real-token"), std::string::npos) << f.snippet;
    }
  }
}

TEST_F(Pipeline, SecretInAHeaderNameIsFound) {
  Verdict v = request("GET", "/v1/x", {{"Host", "api.test"}, {"AKIASYWXGTB4G7DBXZVV", "1"}},
                      tunnel("api.test"));
  EXPECT_EQ(v.block, BlockReason::dlp_outbound) << v.detail;
}

TEST_F(Pipeline, AgentCredentialHeaderIsNotScannedBecauseItIsReplaced) {
  Verdict v = request("GET", "/v1/x",
                      {{"Host", "api.test"}, {"Authorization", "Bearer real-token-value-123456"}},
                      tunnel("api.test"));
  EXPECT_FALSE(v.block) << v.detail;
}

}  // namespace
}  // namespace bottle::proxy

namespace bottle::proxy {
namespace {

TEST(ScannableEncodings, KeepsOnlyCodingsTheScannerDecodes) {
  EXPECT_EQ(scannable_encodings("gzip, deflate, br, zstd"), "gzip, deflate, br");
  EXPECT_EQ(scannable_encodings("zstd;q=1.0, GZIP;q=0.5"), "GZIP;q=0.5");
  EXPECT_EQ(scannable_encodings("zstd"), "identity");
}

TEST(Snapshot, ReloadKeepsTheScannerWhileTheKnownSecretsStayTheSame) {
  auto env = [](const std::string& k) -> std::optional<std::string> {
    if (k == "EGRESS_TOKEN_0") return std::string("tok-aaaaaaaaaaaaaaaa");
    if (k == "EGRESS_TOKEN_1") return std::string("tok-bbbbbbbbbbbbbbbb");
    return std::nullopt;
  };
  config::LoadOptions opts;
  opts.env = env;
  auto table = [&](const char* yaml) { return *config::parse_routes(yaml, "routes.yaml", opts); };
  const char* one = "routes:\n  - host: a.example\n    auth: {scheme: Bearer, token_env: EGRESS_TOKEN_0}\n";
  auto first = *make_snapshot(table(one), env, 1);
  auto same_secrets = *make_snapshot(
      table("routes:\n  - host: a.example\n    auth: {scheme: Bearer, token_env: EGRESS_TOKEN_0}\n"
            "  - host: new.example\n"),
      env, 2, first);
  EXPECT_EQ(same_secrets->scanner, first->scanner);
  EXPECT_EQ(same_secrets->routes->routes.size(), 2u);
  auto new_secret = *make_snapshot(
      table("routes:\n  - host: b.example\n    auth: {scheme: Bearer, token_env: EGRESS_TOKEN_1}\n"),
      env, 3, same_secrets);
  EXPECT_NE(new_secret->scanner, first->scanner);
  EXPECT_EQ(new_secret->known_secrets, std::vector<std::string>{"tok-bbbbbbbbbbbbbbbb"});
  EXPECT_FALSE(new_secret->scanner->scan("x=tok-bbbbbbbbbbbbbbbb", dlp::Direction::outbound, "url").empty());
}

// DLP never fails open: no snapshot exists without a scanner, so nothing that reads one
// checks for null. Building one without a scanner stops the process.
TEST(SnapshotDeathTest, HasAScannerOrDoesNotExist) {
  auto routes = std::shared_ptr<const config::RouteTable>(
      *config::parse_routes("routes:\n  - host: a.example\n", "routes.yaml", {}));
  EXPECT_DEATH(Snapshot(routes, nullptr, 1, {}), "snapshot built without a DLP scanner");
  auto snap = make_snapshot(routes, [](const std::string&) { return std::nullopt; }, 1);
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_NE((*snap)->scanner, nullptr);
}

}  // namespace
}  // namespace bottle::proxy
