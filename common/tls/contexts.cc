#include "common/tls/contexts.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>
#include <vector>

#include "common/tls/host_name.h"
#include "common/tls/pem_io.h"
#include "common/tls/ssl_error.h"

namespace bottle::tls {
namespace {

constexpr const char* kSystemTrustBundle = "/etc/ssl/certs/ca-certificates.crt";

// ALPN preference lists in wire format, chosen by ClientFacingOptions::enable_h2.
constexpr std::string_view kAlpnH2First("\x02h2\x08http/1.1", 12);
constexpr std::string_view kAlpnHttp11Only("\x08http/1.1", 9);

int select_alpn(SSL*, const uint8_t** out, uint8_t* out_len, const uint8_t* in, unsigned in_len,
                void* arg) {
  const auto* preferred = static_cast<const std::string_view*>(arg);
  for (std::size_t p = 0; p < preferred->size(); p += 1 + static_cast<uint8_t>((*preferred)[p])) {
    std::string_view want = preferred->substr(p + 1, static_cast<uint8_t>((*preferred)[p]));
    for (unsigned i = 0; i < in_len; i += 1u + in[i]) {
      if (i + 1u + in[i] > in_len) break;  // malformed list: stop, never read past it
      if (in[i] == want.size() && std::memcmp(in + i + 1, want.data(), want.size()) == 0) {
        *out = in + i + 1;
        *out_len = in[i];
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  return SSL_TLSEXT_ERR_NOACK;  // no common protocol: carry on without ALPN (HTTP/1.1)
}

struct LeafSource {
  LeafCertCache* cache;
  std::string fallback_host;
};

void free_leaf_source(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<LeafSource*>(ptr);  // ownership was handed to the SSL's ex_data
}

int leaf_source_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_leaf_source);
  return index;
}

int select_leaf(SSL* ssl, void*) {
  const auto* source = static_cast<const LeafSource*>(SSL_get_ex_data(ssl, leaf_source_index()));
  if (source == nullptr) return 1;  // certificate set directly with use_leaf
  const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  auto leaf = source->cache->get(sni != nullptr ? std::string_view(sni)
                                                : std::string_view(source->fallback_host));
  if (!leaf || !use_leaf(ssl, **leaf)) return 0;
  return 1;
}

Status add_bundle(X509_STORE* store, const std::string& path) {
  auto pem = read_file(path);
  if (!pem) return Error{pem.error()};
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  int added = 0;
  while (bssl::UniquePtr<X509> cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    if (X509_STORE_add_cert(store, cert.get()) != 1) {
      ERR_clear_error();  // a duplicate certificate in a bundle is harmless
      continue;
    }
    ++added;
  }
  ERR_clear_error();  // end of input shows up as a PEM "no start line" error
  if (added == 0) return Error{path + ": no PEM certificates found"};
  return OkStatus();
}

}  // namespace

Result<bssl::UniquePtr<SSL_CTX>> make_client_facing_ctx(const ClientFacingOptions& options) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  if (!ctx || SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1) {
    return Error{"creating client-facing TLS context: " + take_ssl_error()};
  }
  const std::string_view* preference = options.enable_h2 ? &kAlpnH2First : &kAlpnHttp11Only;
  SSL_CTX_set_alpn_select_cb(ctx.get(), select_alpn, const_cast<std::string_view*>(preference));
  SSL_CTX_set_cert_cb(ctx.get(), select_leaf, nullptr);
  return ctx;
}

Status attach_leaf_source(SSL* ssl, LeafCertCache* cache, std::string_view fallback_host) {
  if (cache == nullptr) return Error{"attach_leaf_source: no leaf cache"};
  auto source = std::make_unique<LeafSource>(LeafSource{cache, std::string(fallback_host)});
  if (SSL_set_ex_data(ssl, leaf_source_index(), source.get()) != 1) {
    return Error{"attach_leaf_source: " + take_ssl_error()};
  }
  source.release();  // now owned by the SSL; freed with it
  return OkStatus();
}

Result<bssl::UniquePtr<SSL_CTX>> make_upstream_ctx(
    const std::optional<std::string>& ca_bundle_path) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  if (!ctx || SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1) {
    return Error{"creating upstream TLS context: " + take_ssl_error()};
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  const std::string path = ca_bundle_path.value_or(kSystemTrustBundle);
  if (auto st = add_bundle(SSL_CTX_get_cert_store(ctx.get()), path); !st) {
    return Error{"upstream trust store: " + st.error() +
                 (ca_bundle_path ? "" : " (install ca-certificates or pass --upstream-ca)")};
  }
  return ctx;
}

Status set_upstream_host(SSL* ssl, std::string_view host) {
  auto name = parse_host(host);
  if (!name) return Error{"upstream host: " + name.error()};
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (name->is_ip) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name->text.c_str()) != 1) {
      return Error{"upstream host '" + name->text + "': " + take_ssl_error()};
    }
    return OkStatus();
  }
  if (SSL_set_tlsext_host_name(ssl, name->text.c_str()) != 1 ||
      X509_VERIFY_PARAM_set1_host(param, name->text.data(), name->text.size()) != 1) {
    return Error{"upstream host '" + name->text + "': " + take_ssl_error()};
  }
  return OkStatus();
}

Status offer_alpn(SSL* ssl, std::initializer_list<std::string_view> protocols) {
  std::vector<uint8_t> wire;
  for (std::string_view p : protocols) {
    if (p.empty() || p.size() > 255) return Error{"ALPN protocol name must be 1..255 bytes"};
    wire.push_back(static_cast<uint8_t>(p.size()));
    wire.insert(wire.end(), p.begin(), p.end());
  }
  // SSL_set_alpn_protos returns 0 on success, unlike most of the API.
  if (SSL_set_alpn_protos(ssl, wire.data(), wire.size()) != 0)
    return Error{"setting ALPN: " + take_ssl_error()};
  return OkStatus();
}

}  // namespace bottle::tls
