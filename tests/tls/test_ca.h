// A freshly minted CA for tests, and verification of a leaf against it.
#pragma once

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "common/tls/ca.h"

namespace bottle::tls::testing {

inline std::shared_ptr<const CertificateAuthority> make_test_ca(int days = 30) {
  auto minted = mint_ca("bottle test CA", days);
  EXPECT_TRUE(minted) << minted.error();
  auto ca = parse_ca(minted->cert_pem, minted->key_pem);
  EXPECT_TRUE(ca) << ca.error();
  return std::make_shared<const CertificateAuthority>(std::move(*ca));
}

// Full chain validation as a TLS client would do it, for `host` (DNS name or IP).
// Returns "ok" or the verifier's reason, so failures print something useful.
inline std::string verify_leaf(X509* leaf, X509* ca_cert, const std::string& host, bool is_ip) {
  bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca_cert);
  bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  if (is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, host.data(), host.size());
  }
  if (X509_verify_cert(ctx.get()) == 1) return "ok";
  return X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
}

inline std::string cert_pem(X509* cert) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

}  // namespace bottle::tls::testing
