// Pieces shared by CA and leaf minting: keys, serials, names, extensions.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string_view>

#include "common/result.h"

namespace bottle::tls {

Result<bssl::UniquePtr<EVP_PKEY>> generate_p256_key();

// A v3 certificate with a random positive 128-bit serial, subject CN=`common_name`
// (cut to 64 bytes), `key` as its public key, and notBefore = now - 1 hour.
Result<bssl::UniquePtr<X509>> new_certificate(std::string_view common_name, EVP_PKEY* key);

// Adds one extension in OpenSSL config syntax ("critical,CA:TRUE", "keyid:always").
// `issuer` is needed for authorityKeyIdentifier.
Status add_extension(X509* cert, X509* issuer, int nid, const char* value);

}  // namespace bottle::tls
