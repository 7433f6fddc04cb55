#include "common/tls/pem_io.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/tls/ssl_error.h"

namespace bottle::tls {
namespace {

std::string bio_contents(BIO* bio) {
  const uint8_t* data = nullptr;
  size_t len = 0;
  if (BIO_mem_contents(bio, &data, &len) != 1) return {};
  return std::string(reinterpret_cast<const char*>(data), len);
}

bssl::UniquePtr<BIO> bio_over(std::string_view pem) {
  return bssl::UniquePtr<BIO>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

}  // namespace

Result<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{path + ": " + std::strerror(errno)};
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Error{path + ": " + std::strerror(err)};
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string cert_to_pem(X509* cert) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return bio_contents(bio.get());
}

std::string key_to_pem(EVP_PKEY* key) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_contents(bio.get());
}

Result<bssl::UniquePtr<X509>> parse_cert_pem(std::string_view pem, std::string_view what) {
  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string_view::npos) {
    return Error{std::string(what) +
                 ": not a PEM certificate (no '-----BEGIN CERTIFICATE-----' line)"};
  }
  auto bio = bio_over(pem);
  bssl::UniquePtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Error{std::string(what) + ": invalid PEM certificate: " + take_ssl_error()};
  return cert;
}

Result<bssl::UniquePtr<EVP_PKEY>> parse_key_pem(std::string_view pem, std::string_view what) {
  if (pem.find("-----BEGIN") == std::string_view::npos ||
      pem.find("PRIVATE KEY-----") == std::string_view::npos) {
    return Error{std::string(what) +
                 ": not a PEM private key (no '-----BEGIN ... PRIVATE KEY-----' line)"};
  }
  auto bio = bio_over(pem);
  // An empty passphrase callback result: an encrypted key fails instead of prompting.
  bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(
      bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  if (!key)
    return Error{std::string(what) + ": invalid or encrypted PEM private key: " + take_ssl_error()};
  return key;
}

}  // namespace bottle::tls
