#include "proxy/tls_channel.h"

#include <openssl/bio.h>
#include <openssl/err.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/tls/ssl_error.h"

namespace bottle::proxy {

// The BIO methods: BIO data is the owning TlsChannel.
struct ChannelBio {
  static TlsChannel* channel(BIO* b) { return static_cast<TlsChannel*>(BIO_get_data(b)); }

  static int read(BIO* b, char* out, int len) {
    BIO_clear_retry_flags(b);
    TlsChannel* c = channel(b);
    size_t want = static_cast<size_t>(std::max(len, 0));
    size_t n = 0;
    if (c->in_pos_ < c->in_.size()) {  // kept bytes come before lent ones
      n = std::min(want, c->in_.size() - c->in_pos_);
      std::memcpy(out, c->in_.data() + c->in_pos_, n);
      c->in_pos_ += n;
      if (c->in_pos_ == c->in_.size()) {
        c->in_.clear();
        c->in_pos_ = 0;
      }
    }
    if (n < want && !c->lent_.empty()) {
      size_t m = std::min(want - n, c->lent_.size());
      std::memcpy(out + n, c->lent_.data(), m);
      c->lent_.remove_prefix(m);
      n += m;
    }
    if (n == 0) {
      BIO_set_retry_read(b);  // "no data yet", never EOF: the socket reports EOF itself
      return -1;
    }
    return static_cast<int>(n);
  }

  static int write(BIO* b, const char* data, int len) {
    BIO_clear_retry_flags(b);
    if (len <= 0) return 0;
    channel(b)->out_.append(data, static_cast<size_t>(len));
    return len;
  }

  static long ctrl(BIO* b, int cmd, long, void*) {
    TlsChannel* c = channel(b);
    switch (cmd) {
      case BIO_CTRL_FLUSH:
        return 1;
      case BIO_CTRL_PENDING:
        return static_cast<long>(c->in_.size() - c->in_pos_ + c->lent_.size());
      case BIO_CTRL_WPENDING:
        return static_cast<long>(c->out_.size());
      default:
        return 0;
    }
  }

  static const BIO_METHOD* method() {
    static const BIO_METHOD* m = [] {
      BIO_METHOD* meth = BIO_meth_new(0, "bottle-tls-channel");
      BIO_meth_set_read(meth, &ChannelBio::read);
      BIO_meth_set_write(meth, &ChannelBio::write);
      BIO_meth_set_ctrl(meth, &ChannelBio::ctrl);
      return meth;
    }();
    return m;
  }
};

TlsChannel::TlsChannel(bssl::UniquePtr<SSL> ssl) : ssl_(std::move(ssl)) {
  BIO* bio = BIO_new(ChannelBio::method());
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_.get(), bio, bio);  // one BIO both ways; ssl_ owns its one reference
}

void TlsChannel::push_cipher(std::string_view data) {
  if (data.empty()) return;
  keep_rest();
  if (in_pos_ > 0) {  // drop what TLS already took before growing the buffer
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  in_.append(data);
}

void TlsChannel::lend_cipher(std::string_view data) {
  keep_rest();
  lent_ = data;
}

void TlsChannel::keep_rest() {
  if (lent_.empty()) return;
  std::string_view rest = std::exchange(lent_, std::string_view());
  push_cipher(rest);
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

}  // namespace bottle::proxy
