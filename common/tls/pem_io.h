// Files and PEM text: the only places bottle_tls touches the file system or PEM.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>
#include <string_view>

#include "common/result.h"

namespace bottle::tls {

// The whole file; errors read "<path>: <strerror>".
Result<std::string> read_file(const std::string& path);

std::string cert_to_pem(X509* cert);
std::string key_to_pem(EVP_PKEY* key);  // PKCS#8

// The first certificate / private key in `pem`; `what` names the input in errors.
Result<bssl::UniquePtr<X509>> parse_cert_pem(std::string_view pem, std::string_view what);
Result<bssl::UniquePtr<EVP_PKEY>> parse_key_pem(std::string_view pem, std::string_view what);

}  // namespace bottle::tls
