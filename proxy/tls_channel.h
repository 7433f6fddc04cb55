// TLS over memory BIOs: ciphertext in from the socket, plaintext out to the HTTP layer,
// and the reverse. No sockets here; Transport moves the ciphertext.
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

  // Ciphertext from the peer.
  void push_cipher(std::string_view data);
  // Advances the handshake. ok = done.
  Result handshake();
  bool handshake_done() const { return done_; }
  // Next plaintext into buf[0..cap), its length in *n; want_more when nothing is buffered.
  Result read(char* buf, size_t cap, size_t* n);
  // False when read() would certainly say want_more: nothing decrypted or received is
  // waiting (TLS reads from the BIO only what the current record needs).
  bool may_have_more() const { return SSL_has_pending(ssl_.get()) || BIO_pending(rbio_) > 0; }
  // Encrypts `data`; the ciphertext is taken with take_cipher().
  bool write(std::string_view data);
  void shutdown();
  // Ciphertext to send to the peer (may be empty).
  std::string take_cipher();
  bool has_cipher() const;

  SSL* ssl() const { return ssl_.get(); }
  const std::string& error() const { return error_; }

 private:
  Result classify(int ret);
  bssl::UniquePtr<SSL> ssl_;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;  // owned by ssl_
  bool done_ = false;
  std::string error_;
};

}  // namespace bottle::proxy
