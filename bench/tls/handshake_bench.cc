// One full TLS handshake of the bump side (leaf from the cache via SNI, ECDSA P-256)
// against a verifying client, in memory: the per-connection TLS cost the proxy pays on
// the agent side, with no sockets in the figure.
#include <benchmark/benchmark.h>
#include <openssl/bio.h>
#include <openssl/pem.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/tls/contexts.h"
#include "common/tls/leaf_cache.h"

namespace bottle::tls {
namespace {

struct Setup {
  std::shared_ptr<const CertificateAuthority> ca;
  std::unique_ptr<LeafCertCache> cache;
  bssl::UniquePtr<SSL_CTX> server_ctx;
  bssl::UniquePtr<SSL_CTX> client_ctx;
};

Setup& setup() {
  static Setup s = [] {
    Setup out;
    auto minted = mint_ca("bench CA", 30);
    auto ca = parse_ca(minted->cert_pem, minted->key_pem);
    out.ca = std::make_shared<const CertificateAuthority>(std::move(*ca));
    out.cache = std::move(*LeafCertCache::create(out.ca));
    out.server_ctx = std::move(*make_client_facing_ctx());
    // The client trusts the CA through a bundle file, as --upstream-ca would.
    auto bundle = std::filesystem::temp_directory_path() / "bottle-handshake-bench-ca.pem";
    std::ofstream(bundle) << minted->cert_pem;
    auto client = make_upstream_ctx(bundle.string());
    std::filesystem::remove(bundle);
    if (!client) std::fprintf(stderr, "bench: %s\n", client.error().c_str());
    out.client_ctx = std::move(*client);
    return out;
  }();
  return s;
}

// Returns false if the handshake did not finish: the benchmark then reports an error.
bool handshake(SSL* client, SSL* server) {
  for (int round = 0; round < 16; ++round) {
    int c = SSL_do_handshake(client);
    int s = SSL_do_handshake(server);
    if (c == 1 && s == 1) return true;
    if (c != 1 && SSL_get_error(client, c) != SSL_ERROR_WANT_READ) return false;
    if (s != 1 && SSL_get_error(server, s) != SSL_ERROR_WANT_READ) return false;
  }
  return false;
}

void BM_BumpHandshake(benchmark::State& state) {
  Setup& s = setup();
  for (auto _ : state) {
    bssl::UniquePtr<SSL> client(SSL_new(s.client_ctx.get()));
    bssl::UniquePtr<SSL> server(SSL_new(s.server_ctx.get()));
    BIO* client_bio = nullptr;
    BIO* server_bio = nullptr;
    BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
    SSL_set_bio(client.get(), client_bio, client_bio);  // one reference serves both directions
    SSL_set_bio(server.get(), server_bio, server_bio);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
    (void)set_upstream_host(client.get(), "bench.test");
    (void)attach_leaf_source(server.get(), s.cache.get(), "bench.test");
    if (!handshake(client.get(), server.get())) {
      state.SkipWithError("handshake failed");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_BumpHandshake);

}  // namespace
}  // namespace bottle::tls
