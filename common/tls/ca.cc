#include "common/tls/ca.h"

#include <fcntl.h>
#include <openssl/digest.h>
#include <openssl/err.h>
#include <openssl/nid.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/tls/cert_builder.h"
#include "common/tls/pem_io.h"
#include "common/tls/ssl_error.h"

namespace bottle::tls {

Result<CertificateAuthority> parse_ca(std::string_view cert_pem, std::string_view key_pem,
                                      std::string_view cert_what, std::string_view key_what) {
  auto cert = parse_cert_pem(cert_pem, cert_what);
  if (!cert) return Error{cert.error()};
  auto key = parse_key_pem(key_pem, key_what);
  if (!key) return Error{key.error()};
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    ERR_clear_error();
    return Error{std::string(key_what) + ": private key does not match the certificate in " +
                 std::string(cert_what)};
  }
  if (X509_check_ca(cert->get()) == 0) {
    return Error{std::string(cert_what) +
                 ": not a CA certificate (needs basicConstraints CA:TRUE)"};
  }
  return CertificateAuthority{std::move(*cert), std::move(*key)};
}

Result<CertificateAuthority> load_ca(const std::string& cert_pem_path,
                                     const std::string& key_pem_path) {
  auto cert_pem = read_file(cert_pem_path);
  if (!cert_pem) return Error{cert_pem.error()};
  auto key_pem = read_file(key_pem_path);
  if (!key_pem) return Error{key_pem.error()};
  return parse_ca(*cert_pem, *key_pem, cert_pem_path, key_pem_path);
}

Result<MintedCa> mint_ca(std::string_view common_name, int days) {
  if (common_name.empty()) return Error{"CA common name is empty"};
  if (days < 1 || days > 3650)
    return Error{"CA validity must be 1..3650 days, got " + std::to_string(days)};
  auto key = generate_p256_key();
  if (!key) return Error{key.error()};
  auto cert = new_certificate(common_name, key->get());
  if (!cert) return Error{cert.error()};
  X509* x = cert->get();
  if (X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
      X509_gmtime_adj(X509_getm_notAfter(x), static_cast<long>(days) * 86400) == nullptr) {
    return Error{"building CA certificate: " + take_ssl_error()};
  }
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    if (auto st = add_extension(x, x, nid, value); !st) return Error{st.error()};
  }
  if (X509_sign(x, key->get(), EVP_sha256()) == 0)
    return Error{"signing CA certificate: " + take_ssl_error()};
  return MintedCa{cert_to_pem(x), key_to_pem(key->get())};
}

Status write_private_file(const std::string& path, std::string_view data, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return Error{path + ": " + std::strerror(errno)};
  // O_CREAT's mode only applies to new files; an existing one keeps its old bits.
  if (::fchmod(fd, mode) != 0) {
    int err = errno;
    ::close(fd);
    return Error{path + ": chmod: " + std::strerror(err)};
  }
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Error{path + ": write: " + std::strerror(err)};
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::close(fd) != 0) return Error{path + ": close: " + std::strerror(errno)};
  return OkStatus();
}

}  // namespace bottle::tls
