// Leaf certificates for TLS interception, minted on demand and kept in an LRU.
// One cache per event-loop thread: no locks. All leaves share one ECDSA P-256 key
// generated when the cache is created, so minting costs one signature.
#pragma once

#include <openssl/evp.h>
#include <openssl/pool.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"
#include "common/tls/ca.h"

namespace bottle::tls {

// An immutable leaf: the certificate (parsed and DER) and the shared key. Safe to keep
// after the cache evicted it.
struct LeafCert {
  std::string host;  // normalized: lower case, IPv6 without brackets
  bssl::UniquePtr<X509> cert;
  bssl::UniquePtr<CRYPTO_BUFFER> der;  // what goes on the wire, encoded once
  bssl::UniquePtr<EVP_PKEY> key;       // the cache's shared leaf key (ref-counted)
};

// Makes `ssl` (server side) present `leaf`. Call before or during the handshake.
Status use_leaf(SSL* ssl, const LeafCert& leaf);

class LeafCertCache {
 public:
  static constexpr std::size_t kDefaultCapacity = 1024;

  // Generates the shared leaf key. `ca` is shared read-only across threads' caches.
  static Result<std::unique_ptr<LeafCertCache>> create(
      std::shared_ptr<const CertificateAuthority> ca, std::size_t capacity = kDefaultCapacity);

  // The leaf for a DNS name or an IP literal ("1.2.3.4", "::1", "[::1]"): cached, or
  // minted now (SAN dNSName or iPAddress, CN=host, EKU serverAuth, ~30 days but never
  // past the CA). Errors for an empty, over-long or malformed host.
  Result<std::shared_ptr<const LeafCert>> get(std::string_view host);

  std::size_t size() const { return index_.size(); }
  std::size_t capacity() const { return capacity_; }
  std::size_t hits() const { return hits_; }
  std::size_t misses() const { return misses_; }

 private:
  LeafCertCache(std::shared_ptr<const CertificateAuthority> ca, bssl::UniquePtr<EVP_PKEY> key,
                std::size_t capacity);

  using Entry = std::shared_ptr<const LeafCert>;
  std::shared_ptr<const CertificateAuthority> ca_;
  bssl::UniquePtr<EVP_PKEY> key_;
  std::size_t capacity_;
  std::list<Entry> lru_;  // front = most recently used
  std::unordered_map<std::string_view, std::list<Entry>::iterator>
      index_;  // keys view LeafCert::host
  std::size_t hits_ = 0;
  std::size_t misses_ = 0;
};

}  // namespace bottle::tls
