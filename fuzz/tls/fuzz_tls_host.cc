// Hosts come from the agent (CONNECT authority, SNI): whatever the host parser accepts
// must mint a leaf that verifies for that host, and normalizing must be idempotent.
// Also feeds the bytes to the CA PEM parser, which reads operator-supplied files.
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/tls/ca.h"
#include "common/tls/host_name.h"
#include "common/tls/leaf_cache.h"

namespace {

bottle::tls::LeafCertCache& cache() {
  static auto ca = [] {
    auto minted = bottle::tls::mint_ca("fuzz CA", 30);
    auto parsed = bottle::tls::parse_ca(minted->cert_pem, minted->key_pem);
    return std::make_shared<const bottle::tls::CertificateAuthority>(std::move(*parsed));
  }();
  static auto leaves = std::move(*bottle::tls::LeafCertCache::create(ca, 8));
  return *leaves;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)bottle::tls::parse_ca(input, input);

  auto host = bottle::tls::parse_host(input);
  if (!host) return 0;
  auto again = bottle::tls::parse_host(host->text);
  if (!again || again->text != host->text || again->is_ip != host->is_ip) std::abort();
  auto leaf = cache().get(input);
  if (!leaf || (*leaf)->host != host->text) std::abort();
  X509* cert = (*leaf)->cert.get();
  int match = host->is_ip ? X509_check_ip_asc(cert, host->text.c_str(), 0)
                          : X509_check_host(cert, host->text.data(), host->text.size(), 0, nullptr);
  if (match != 1) std::abort();
  return 0;
}
