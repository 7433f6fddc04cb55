// SSL_CTX factories for the two sides of an intercepted connection, and the per-SSL
// settings each side needs.
#pragma once

#include <openssl/ssl.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/tls/leaf_cache.h"

namespace bottle::tls {

struct ClientFacingOptions {
  bool enable_h2 = false;  // ALPN: offer h2 before http/1.1 only when the h2 path exists
};

// Server-side context for the agent-facing (bumped) side: TLS 1.2+, ALPN select preferring
// h2 (if enabled) then http/1.1; a client offering neither gets no ALPN (HTTP/1.1 implied).
// Each SSL gets its certificate either directly (use_leaf) or from attach_leaf_source.
Result<bssl::UniquePtr<SSL_CTX>> make_client_facing_ctx(const ClientFacingOptions& options = {});

// Lets the handshake pick the leaf itself: the SNI host if the client sent one, else
// `fallback_host` (the CONNECT host). `cache` must outlive the handshake. Only for SSLs
// made from make_client_facing_ctx. A leaf that cannot be minted fails the handshake.
Status attach_leaf_source(SSL* ssl, LeafCertCache* cache, std::string_view fallback_host);

// Client-side context for upstream servers: TLS 1.2+, SSL_VERIFY_PEER. Trust is the PEM
// bundle if given (it replaces the system store), else /etc/ssl/certs/ca-certificates.crt.
Result<bssl::UniquePtr<SSL_CTX>> make_upstream_ctx(
    const std::optional<std::string>& ca_bundle_path);

// Sets SNI (DNS names only; never for IP literals) and requires the peer certificate to
// match `host` (DNS name or IP literal, brackets allowed).
Status set_upstream_host(SSL* ssl, std::string_view host);

// Offers `protocols` (e.g. {"h2","http/1.1"}) upstream, to mirror what the agent chose.
Status offer_alpn(SSL* ssl, std::initializer_list<std::string_view> protocols);

}  // namespace bottle::tls
