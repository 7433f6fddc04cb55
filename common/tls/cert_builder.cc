#include "common/tls/cert_builder.h"

#include <openssl/bn.h>
#include <openssl/ec_key.h>
#include <openssl/nid.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <string>

#include "common/tls/ssl_error.h"

namespace bottle::tls {
namespace {
constexpr std::size_t kMaxCommonName = 64;  // ub-common-name in RFC 5280
}

Result<bssl::UniquePtr<EVP_PKEY>> generate_p256_key() {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (!ec || !key || EC_KEY_generate_key(ec.get()) != 1 ||
      EVP_PKEY_set1_EC_KEY(key.get(), ec.get()) != 1) {
    return Error{"generating ECDSA P-256 key: " + take_ssl_error()};
  }
  return key;
}

Result<bssl::UniquePtr<X509>> new_certificate(std::string_view common_name, EVP_PKEY* key) {
  bssl::UniquePtr<X509> cert(X509_new());
  uint8_t serial_bytes[16];
  RAND_bytes(serial_bytes, sizeof(serial_bytes));
  serial_bytes[0] &= 0x7f;  // DER INTEGER must stay positive
  serial_bytes[0] |= 0x01;  // and keep 128 bits so it never encodes short
  bssl::UniquePtr<BIGNUM> serial_bn(BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr));
  bssl::UniquePtr<ASN1_INTEGER> serial(serial_bn ? BN_to_ASN1_INTEGER(serial_bn.get(), nullptr)
                                                 : nullptr);

  std::string cn(common_name.substr(0, kMaxCommonName));
  bssl::UniquePtr<X509_NAME> name(X509_NAME_new());
  bool ok = cert && serial && name && X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
            X509_set_serialNumber(cert.get(), serial.get()) == 1 &&
            X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                       reinterpret_cast<const uint8_t*>(cn.data()),
                                       static_cast<int>(cn.size()), -1, 0) == 1 &&
            X509_set_subject_name(cert.get(), name.get()) == 1 &&
            X509_set_pubkey(cert.get(), key) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr;
  if (!ok) return Error{"building certificate for '" + cn + "': " + take_ssl_error()};
  return cert;
}

Status add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  bssl::UniquePtr<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return Error{std::string("adding certificate extension ") + OBJ_nid2sn(nid) + "=" + value +
                 ": " + take_ssl_error()};
  }
  return OkStatus();
}

}  // namespace bottle::tls
