#include "common/tls/leaf_cache.h"

#include <openssl/asn1.h>
#include <openssl/digest.h>
#include <openssl/nid.h>
#include <openssl/x509v3.h>

#include "common/tls/cert_builder.h"
#include "common/tls/host_name.h"
#include "common/tls/ssl_error.h"

namespace bottle::tls {
namespace {

constexpr long kLeafLifetimeSeconds = 30L * 86400;

Status add_subject_alt_name(X509* cert, const HostName& host) {
  bssl::UniquePtr<GENERAL_NAMES> names(GENERAL_NAMES_new());
  bssl::UniquePtr<GENERAL_NAME> name(GENERAL_NAME_new());
  if (!names || !name) return Error{"allocating subjectAltName: " + take_ssl_error()};
  if (host.is_ip) {
    ASN1_OCTET_STRING* ip = a2i_IPADDRESS(host.text.c_str());
    if (ip == nullptr) return Error{"encoding IP address '" + host.text + "': " + take_ssl_error()};
    GENERAL_NAME_set0_value(name.get(), GEN_IPADD, ip);
  } else {
    ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
    if (dns == nullptr ||
        ASN1_STRING_set(dns, host.text.data(), static_cast<int>(host.text.size())) != 1) {
      ASN1_IA5STRING_free(dns);
      return Error{"encoding DNS name '" + host.text + "': " + take_ssl_error()};
    }
    GENERAL_NAME_set0_value(name.get(), GEN_DNS, dns);
  }
  if (bssl::PushToStack(names.get(), std::move(name)) == 0 ||
      X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return Error{"adding subjectAltName for '" + host.text + "': " + take_ssl_error()};
  }
  return OkStatus();
}

// Leaves end after ~30 days or with the CA, whichever is first: a chain whose leaf
// outlives its issuer fails validation in strict clients.
Status set_leaf_validity(X509* cert, const X509* ca) {
  if (X509_gmtime_adj(X509_getm_notAfter(cert), kLeafLifetimeSeconds) == nullptr) {
    return Error{"setting leaf validity: " + take_ssl_error()};
  }
  int days = 0;
  int seconds = 0;
  if (ASN1_TIME_diff(&days, &seconds, X509_get0_notAfter(ca), X509_get0_notAfter(cert)) == 1 &&
      (days > 0 || seconds > 0)) {
    X509_set1_notAfter(cert, X509_get0_notAfter(ca));
  }
  if (ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(cert), X509_get0_notBefore(ca)) == 1 &&
      (days > 0 || seconds > 0)) {
    X509_set1_notBefore(cert, X509_get0_notBefore(ca));
  }
  return OkStatus();
}

Result<bssl::UniquePtr<X509>> mint_leaf(const HostName& host, EVP_PKEY* leaf_key,
                                        const CertificateAuthority& ca) {
  auto cert = new_certificate(host.text, leaf_key);
  if (!cert) return Error{cert.error()};
  X509* x = cert->get();
  if (X509_set_issuer_name(x, X509_get_subject_name(ca.cert.get())) != 1) {
    return Error{"setting leaf issuer: " + take_ssl_error()};
  }
  if (auto st = set_leaf_validity(x, ca.cert.get()); !st) return Error{st.error()};
  if (auto st = add_subject_alt_name(x, host); !st) return Error{st.error()};
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                            std::pair{NID_key_usage, "critical,digitalSignature"},
                            std::pair{NID_ext_key_usage, "serverAuth"},
                            std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (auto st = add_extension(x, ca.cert.get(), nid, value); !st) return Error{st.error()};
  }
  if (X509_sign(x, ca.key.get(), EVP_sha256()) == 0) {
    return Error{"signing leaf for '" + host.text + "': " + take_ssl_error()};
  }
  return std::move(*cert);
}

bssl::UniquePtr<CRYPTO_BUFFER> to_der_buffer(X509* cert) {
  uint8_t* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) return nullptr;
  bssl::UniquePtr<uint8_t> owned(der);
  return bssl::UniquePtr<CRYPTO_BUFFER>(CRYPTO_BUFFER_new(der, static_cast<size_t>(len), nullptr));
}

}  // namespace

Status use_leaf(SSL* ssl, const LeafCert& leaf) {
  CRYPTO_BUFFER* chain[] = {leaf.der.get()};
  if (SSL_set_chain_and_key(ssl, chain, 1, leaf.key.get(), nullptr) != 1) {
    return Error{"installing leaf for '" + leaf.host + "': " + take_ssl_error()};
  }
  return OkStatus();
}

Result<std::unique_ptr<LeafCertCache>> LeafCertCache::create(
    std::shared_ptr<const CertificateAuthority> ca, std::size_t capacity) {
  if (!ca || !ca->cert || !ca->key) return Error{"leaf cache needs a loaded CA"};
  if (capacity == 0) return Error{"leaf cache capacity must be at least 1"};
  auto key = generate_p256_key();
  if (!key) return Error{key.error()};
  return std::unique_ptr<LeafCertCache>(
      new LeafCertCache(std::move(ca), std::move(*key), capacity));
}

LeafCertCache::LeafCertCache(std::shared_ptr<const CertificateAuthority> ca,
                             bssl::UniquePtr<EVP_PKEY> key, std::size_t capacity)
    : ca_(std::move(ca)), key_(std::move(key)), capacity_(capacity) {}

Result<std::shared_ptr<const LeafCert>> LeafCertCache::get(std::string_view host) {
  auto name = parse_host(host);
  if (!name) return Error{name.error()};
  if (auto it = index_.find(name->text); it != index_.end()) {
    ++hits_;
    lru_.splice(lru_.begin(), lru_, it->second);
    return *it->second;
  }
  ++misses_;
  auto cert = mint_leaf(*name, key_.get(), *ca_);
  if (!cert) return Error{cert.error()};
  auto der = to_der_buffer(cert->get());
  if (!der) return Error{"encoding leaf for '" + name->text + "': " + take_ssl_error()};
  EVP_PKEY_up_ref(key_.get());
  auto leaf = std::make_shared<const LeafCert>(LeafCert{std::move(name->text), std::move(*cert),
                                                        std::move(der),
                                                        bssl::UniquePtr<EVP_PKEY>(key_.get())});
  if (lru_.size() >= capacity_) {
    index_.erase(lru_.back()->host);
    lru_.pop_back();
  }
  lru_.push_front(leaf);
  index_.emplace(leaf->host, lru_.begin());
  return leaf;
}

}  // namespace bottle::tls
