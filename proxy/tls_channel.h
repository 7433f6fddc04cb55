// TLS over in-memory buffers: ciphertext in from the socket, plaintext out to the HTTP
// layer, and the reverse. No sockets here; Transport moves the ciphertext.
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <string_view>

namespace bottle::proxy {

class TlsChannel {
 public:
  enum class Result { ok, want_more, closed, error };

  // Takes ownership of `ssl` (already configured as client or server side).
  explicit TlsChannel(bssl::UniquePtr<SSL> ssl);
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  // Ciphertext from the peer, copied.
  void push_cipher(std::string_view data);
  // Ciphertext from the peer, used in place until keep_rest(), which copies what TLS has
  // not taken yet. The caller's buffer must stay valid and unchanged until then.
  void lend_cipher(std::string_view data);
  void keep_rest();
  // Advances the handshake. ok = done.
  Result handshake();
  bool handshake_done() const { return done_; }
  // Next plaintext into buf[0..cap), its length in *n; want_more when nothing is buffered.
  Result read(char* buf, size_t cap, size_t* n);
  // False when read() would certainly say want_more: nothing decrypted or received is
  // waiting (TLS takes from the input only what the current record needs).
  bool may_have_more() const {
    return SSL_has_pending(ssl_.get()) || in_pos_ < in_.size() || !lent_.empty();
  }
  // Encrypts `data`; the ciphertext is then in cipher().
  bool write(std::string_view data);
  void shutdown();
  // Ciphertext to send to the peer (may be empty), valid until consume_cipher() or the
  // next write.
  std::string_view cipher() const { return out_; }
  void consume_cipher() { out_.clear(); }
  bool has_cipher() const { return !out_.empty(); }

  SSL* ssl() const { return ssl_.get(); }
  const std::string& error() const { return error_; }

 private:
  friend struct ChannelBio;
  Result classify(int ret);

  // The BIO under ssl_ reads from in_ (past in_pos_), then from lent_, and appends to
  // out_. A memory BIO would do, but it moves its remaining input down on every read
  // (twice per record) and needs every byte copied in first.
  std::string in_;
  size_t in_pos_ = 0;
  std::string_view lent_;
  std::string out_;
  bssl::UniquePtr<SSL> ssl_;
  bool done_ = false;
  std::string error_;
};

}  // namespace bottle::proxy
