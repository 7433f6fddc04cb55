// Real TLS handshakes between the two context factories, over a socketpair: the bump
// side presenting a minted leaf, the upstream side verifying it like a real client.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <thread>

#include "common/tls/contexts.h"
#include "common/unique_fd.h"
#include "tests/support/support.h"
#include "tests/support/support.h"
#include "tests/tls/test_ca.h"

namespace bottle::tls {
namespace {

using testing::make_test_ca;
using ::bottle::test::ScratchDir;

// A peer closing mid-handshake must fail the test, not kill it.
const bool kIgnoreSigpipe = [] { return ::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();

using Fd = ::bottle::UniqueFd;

struct Outcome {
  bool client_ok = false;
  bool server_ok = false;
  long verify_result = X509_V_OK;
  std::string alpn;
  std::string echoed;
  std::string server_saw_sni;
};

class HandshakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = make_test_ca();
    auto cache = LeafCertCache::create(ca_);
    ASSERT_TRUE(cache) << cache.error();
    cache_ = std::move(*cache);
    bundle_ = dir_.file("ca.pem");
    std::ofstream(bundle_) << testing::cert_pem(ca_->cert.get());
    auto server_ctx = make_client_facing_ctx();
    auto client_ctx = make_upstream_ctx(bundle_);
    ASSERT_TRUE(server_ctx) << server_ctx.error();
    ASSERT_TRUE(client_ctx) << client_ctx.error();
    server_ctx_ = std::move(*server_ctx);
    client_ctx_ = std::move(*client_ctx);
  }

  // Server: `configure_server` sets its certificate. Client: verifies `client_host`.
  // The contexts default to the fixture's (client trusts the test CA, h2 off).
  Outcome run(const std::function<void(SSL*)>& configure_server, const std::string& client_host,
              SSL_CTX* server_ctx = nullptr, SSL_CTX* client_ctx = nullptr) {
    if (server_ctx == nullptr) server_ctx = server_ctx_.get();
    if (client_ctx == nullptr) client_ctx = client_ctx_.get();
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    Fd server_fd(fds[0]);
    Fd client_fd(fds[1]);
    Outcome out;
    bssl::UniquePtr<SSL> server(SSL_new(server_ctx));
    configure_server(server.get());
    SSL_set_fd(server.get(), server_fd.get());
    std::thread server_thread([&] {
      if (SSL_accept(server.get()) != 1) {
        server_fd.reset();  // unblocks a client still waiting for our flight
        return;
      }
      out.server_ok = true;
      if (const char* sni = SSL_get_servername(server.get(), TLSEXT_NAMETYPE_host_name))
        out.server_saw_sni = sni;
      char buf[64];
      int n = SSL_read(server.get(), buf, sizeof(buf));
      if (n > 0) SSL_write(server.get(), buf, n);
    });

    bssl::UniquePtr<SSL> client(SSL_new(client_ctx));
    EXPECT_TRUE(set_upstream_host(client.get(), client_host));
    EXPECT_TRUE(offer_alpn(client.get(), {"h2", "http/1.1"}));
    SSL_set_fd(client.get(), client_fd.get());
    if (SSL_connect(client.get()) == 1) {
      out.client_ok = true;
      const uint8_t* proto = nullptr;
      unsigned len = 0;
      SSL_get0_alpn_selected(client.get(), &proto, &len);
      out.alpn.assign(reinterpret_cast<const char*>(proto), len);
      SSL_write(client.get(), "ping", 4);
      char buf[64];
      int n = SSL_read(client.get(), buf, sizeof(buf));
      if (n > 0) out.echoed.assign(buf, static_cast<std::size_t>(n));
    }
    out.verify_result = SSL_get_verify_result(client.get());
    client_fd.reset();  // unblocks the server if the client gave up
    server_thread.join();
    return out;
  }

  std::function<void(SSL*)> leaf_source(const std::string& fallback) {
    return [this, fallback](SSL* ssl) {
      ASSERT_TRUE(attach_leaf_source(ssl, cache_.get(), fallback));
    };
  }

  ScratchDir dir_;
  std::shared_ptr<const CertificateAuthority> ca_;
  std::unique_ptr<LeafCertCache> cache_;
  std::string bundle_;
  bssl::UniquePtr<SSL_CTX> server_ctx_;
  bssl::UniquePtr<SSL_CTX> client_ctx_;
};

TEST_F(HandshakeTest, ClientTrustingCaVerifiesMintedLeaf) {
  Outcome out = run(leaf_source("bench.test"), "bench.test");
  EXPECT_TRUE(out.client_ok) << X509_verify_cert_error_string(out.verify_result);
  EXPECT_TRUE(out.server_ok);
  EXPECT_EQ(out.verify_result, X509_V_OK);
  EXPECT_EQ(out.server_saw_sni, "bench.test");
  EXPECT_EQ(out.alpn, "http/1.1");  // h2 not enabled
  EXPECT_EQ(out.echoed, "ping");
}

TEST_F(HandshakeTest, WrongHostnameFailsVerification) {
  auto leaf = cache_->get("bench.test");
  ASSERT_TRUE(leaf);
  auto present_bench = [&](SSL* ssl) { ASSERT_TRUE(use_leaf(ssl, **leaf)); };
  Outcome out = run(present_bench, "evil.test");
  EXPECT_FALSE(out.client_ok);
  EXPECT_FALSE(out.server_ok);
  EXPECT_EQ(out.verify_result, X509_V_ERR_HOSTNAME_MISMATCH);
}

TEST_F(HandshakeTest, UntrustedCaFailsVerification) {
  auto other = make_test_ca();
  std::string other_bundle = dir_.file("other.pem");
  std::ofstream(other_bundle) << testing::cert_pem(other->cert.get());
  auto client_ctx = make_upstream_ctx(other_bundle);
  ASSERT_TRUE(client_ctx) << client_ctx.error();
  Outcome out = run(leaf_source("bench.test"), "bench.test", nullptr, client_ctx->get());
  EXPECT_FALSE(out.client_ok);
  EXPECT_EQ(out.verify_result, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

TEST_F(HandshakeTest, SniWinsOverFallbackHost) {
  Outcome out = run(leaf_source("connect.test"), "sni.test");
  EXPECT_TRUE(out.client_ok) << X509_verify_cert_error_string(out.verify_result);
  EXPECT_EQ(out.server_saw_sni, "sni.test");
}

TEST_F(HandshakeTest, IpLiteralUsesFallbackWithoutSni) {
  Outcome out = run(leaf_source("127.0.0.1"), "127.0.0.1");
  EXPECT_TRUE(out.client_ok) << X509_verify_cert_error_string(out.verify_result);
  EXPECT_EQ(out.server_saw_sni, "");  // SNI never carries IP literals
}

TEST_F(HandshakeTest, OffersH2OnlyWhenEnabled) {
  auto server_ctx = make_client_facing_ctx({.enable_h2 = true});
  ASSERT_TRUE(server_ctx) << server_ctx.error();
  Outcome out = run(leaf_source("bench.test"), "bench.test", server_ctx->get());
  EXPECT_TRUE(out.client_ok);
  EXPECT_EQ(out.alpn, "h2");
}

TEST_F(HandshakeTest, UnmintableHostFailsHandshake) {
  // No SNI (IP client) and a fallback that is not a host name: no certificate to offer.
  Outcome out = run(leaf_source("bad host"), "127.0.0.1");
  EXPECT_FALSE(out.server_ok);
  EXPECT_FALSE(out.client_ok);
}

TEST(UpstreamCtx, MissingBundleNamesFile) {
  auto ctx = make_upstream_ctx(std::string("/nonexistent/bundle.pem"));
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error(),
            "upstream trust store: /nonexistent/bundle.pem: No such file or directory");
}

TEST(UpstreamCtx, BundleWithoutCertificatesIsRejected) {
  ScratchDir dir;
  std::ofstream(dir.file("junk.pem")) << "junk\n";
  auto ctx = make_upstream_ctx(dir.file("junk.pem"));
  ASSERT_FALSE(ctx);
  EXPECT_EQ(ctx.error(),
            "upstream trust store: " + dir.file("junk.pem") + ": no PEM certificates found");
}

TEST(UpstreamCtx, SystemTrustStoreLoads) {
  if (::access("/etc/ssl/certs/ca-certificates.crt", R_OK) != 0)
    BOTTLE_SKIP() << "no system CA bundle";
  auto ctx = make_upstream_ctx(std::nullopt);
  EXPECT_TRUE(ctx) << ctx.error();
}

TEST(UpstreamHost, RejectsMalformedHost) {
  auto ctx = make_upstream_ctx(std::nullopt);
  if (!ctx) BOTTLE_SKIP() << ctx.error();
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx->get()));
  EXPECT_FALSE(set_upstream_host(ssl.get(), "bad host"));
  EXPECT_FALSE(offer_alpn(ssl.get(), {""}));
}

}  // namespace
}  // namespace bottle::tls
