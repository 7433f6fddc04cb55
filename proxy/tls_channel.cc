#include "proxy/tls_channel.h"

#include <openssl/err.h>

#include "common/tls/ssl_error.h"

namespace bottle::proxy {

TlsChannel::TlsChannel(bssl::UniquePtr<SSL> ssl) : ssl_(std::move(ssl)) {
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  // An empty memory BIO means "no data yet", not EOF.
  BIO_set_mem_eof_return(rbio_, -1);
  BIO_set_mem_eof_return(wbio_, -1);
  SSL_set_bio(ssl_.get(), rbio_, wbio_);
}

void TlsChannel::push_cipher(std::string_view data) {
  if (!data.empty()) BIO_write(rbio_, data.data(), static_cast<int>(data.size()));
}

TlsChannel::Result TlsChannel::classify(int ret) {
  int err = SSL_get_error(ssl_.get(), ret);
  switch (err) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return Result::want_more;
    case SSL_ERROR_ZERO_RETURN:
      return Result::closed;
    default:
      error_ = tls::take_ssl_error("TLS failure");
      if (err == SSL_ERROR_SYSCALL && error_ == "TLS failure") error_ = "TLS connection truncated";
      return Result::error;
  }
}

TlsChannel::Result TlsChannel::handshake() {
  if (done_) return Result::ok;
  int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    done_ = true;
    return Result::ok;
  }
  return classify(r);
}

TlsChannel::Result TlsChannel::read(char* buf, size_t cap, size_t* n) {
  int r = SSL_read(ssl_.get(), buf, static_cast<int>(cap));
  if (r > 0) {
    *n = static_cast<size_t>(r);
    return Result::ok;
  }
  *n = 0;
  return classify(r);
}

bool TlsChannel::write(std::string_view data) {
  while (!data.empty()) {
    int n = SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size()));
    if (n <= 0) {
      error_ = tls::take_ssl_error("TLS write failed");
      return false;
    }
    data.remove_prefix(n);
  }
  return true;
}

void TlsChannel::shutdown() {
  if (done_) SSL_shutdown(ssl_.get());
}

bool TlsChannel::has_cipher() const {
  return BIO_pending(wbio_) > 0;
}

std::string TlsChannel::take_cipher() {
  std::string out;
  size_t pending = BIO_pending(wbio_);
  if (pending == 0) return out;
  out.resize(pending);
  int n = BIO_read(wbio_, out.data(), static_cast<int>(pending));
  out.resize(n > 0 ? n : 0);
  return out;
}

}  // namespace bottle::proxy
