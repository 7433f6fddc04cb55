// The bottle CA: loading the per-bottle CA the proxy signs leaves with, and minting a
// fresh one (the orchestrator does this once per bottle). BoringSSL only.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/result.h"

namespace bottle::tls {

struct CertificateAuthority {
  bssl::UniquePtr<X509> cert;
  bssl::UniquePtr<EVP_PKEY> key;
};

// Reads a PEM certificate and a PEM private key and checks that they belong together.
// Errors name the file and the cause: unreadable (strerror), not PEM, key does not match.
Result<CertificateAuthority> load_ca(const std::string& cert_pem_path,
                                     const std::string& key_pem_path);

// Same checks on PEM text already in memory; `what` prefixes errors (e.g. a file name).
Result<CertificateAuthority> parse_ca(std::string_view cert_pem, std::string_view key_pem,
                                      std::string_view cert_what = "certificate",
                                      std::string_view key_what = "private key");

struct MintedCa {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8, unencrypted: write it with write_private_file
};

// Self-signed ECDSA P-256 CA: basicConstraints critical CA:TRUE, keyUsage critical
// keyCertSign|cRLSign, subjectKeyIdentifier, validity now-1h .. now+days.
Result<MintedCa> mint_ca(std::string_view common_name, int days);

// Writes `data` to `path` (created or truncated) with `mode`, even if the file existed
// with wider permissions; the data never sits in a file anyone else can read.
Status write_private_file(const std::string& path, std::string_view data, mode_t mode = 0600);

}  // namespace bottle::tls
