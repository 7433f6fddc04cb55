#include "proxy/upstream.h"

#include <netdb.h>

#include <cstring>

#include "common/tls/contexts.h"
#include "common/tls/ssl_error.h"
#include "proxy/ssrf.h"
#include "proxy/worker.h"

namespace bottle::proxy {

std::string UpstreamConn::pool_key(const Authority& target, bool tls, bool allow_private) {
  std::string key = tls ? "s|" : "p|";
  key += target.host;
  key += '|';
  key += std::to_string(target.port);
  if (allow_private) key += "|private";
  return key;
}

UpstreamConn::UpstreamConn(Worker& worker, std::string key, Authority target, bool tls,
                           bool allow_private, Owner* owner, bool offer_h2)
    : worker_(worker),
      key_(std::move(key)),
      target_(std::move(target)),
      tls_(tls),
      allow_private_(allow_private),
      offer_h2_(offer_h2),
      owner_(owner),
      transport_(worker.loop(), this),
      idle_timer_(worker.loop(), [this] { close(); }) {}

UpstreamConn* UpstreamConn::create(Worker& worker, const Authority& target, bool tls,
                                   bool allow_private, Owner* owner, bool offer_h2) {
  // Deletes itself once its socket is closed (on_closed).
  return new UpstreamConn(worker, pool_key(target, tls, allow_private), target, tls, allow_private,
                          owner, offer_h2);
}

bool UpstreamConn::speaks_h2() const {
  SSL* ssl = transport_.ssl();
  if (!ssl) return false;
  const uint8_t* proto = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl, &proto, &len);
  return len == 2 && proto[0] == 'h' && proto[1] == '2';
}

void UpstreamConn::start() {
  if (auto pinned = worker_.shared().resolve.find(target_.host, target_.port)) {
    connect_to(reinterpret_cast<const sockaddr*>(&*pinned));
    return;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
  resolve_req_.data = this;
  resolving_ = true;
  std::string port = std::to_string(target_.port);
  int r = uv_getaddrinfo(worker_.loop(), &resolve_req_, &UpstreamConn::on_resolved,
                         target_.host.c_str(), port.c_str(), &hints);
  if (r != 0) {
    resolving_ = false;
    failed(Failure::resolve, target_.host + ": " + uv_strerror(r));
  }
}

void UpstreamConn::on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
  auto* self = static_cast<UpstreamConn*>(req->data);
  self->resolving_ = false;
  struct Free {
    addrinfo* p;
    ~Free() {
      if (p) uv_freeaddrinfo(p);
    }
  } free_res{res};
  if (self->closed_) {
    delete self;
    return;
  }
  if (self->transport_.closing()) return;
  if (status != 0) {
    self->failed(Failure::resolve, self->target_.host + ": " + uv_strerror(status));
    return;
  }
  // Dial the first address the guard accepts; that exact address is what we connect to.
  const sockaddr* chosen = nullptr;
  std::string refused;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    if (!self->allow_private_ && is_internal_address(ai->ai_addr)) {
      if (refused.empty()) refused = address_text(ai->ai_addr);
      continue;
    }
    chosen = ai->ai_addr;
    break;
  }
  if (!chosen) {
    self->failed(Failure::ssrf, self->target_.host + " resolves to internal address " + refused);
    return;
  }
  self->connect_to(chosen);
}

void UpstreamConn::connect_to(const sockaddr* addr) {
  dialed_ = address_text(addr);
  if (!allow_private_ && is_internal_address(addr)) {
    failed(Failure::ssrf, target_.host + " resolves to internal address " + dialed_);
    return;
  }
  bssl::UniquePtr<SSL> ssl;
  if (tls_) {
    ssl.reset(SSL_new(worker_.shared().upstream_ctx.get()));
    if (!ssl) {
      failed(Failure::tls, tls::take_ssl_error("SSL_new failed"));
      return;
    }
    if (auto s = tls::set_upstream_host(ssl.get(), target_.host); !s) {
      failed(Failure::tls, s.error());
      return;
    }
    auto alpn = offer_h2_ ? tls::offer_alpn(ssl.get(), {"h2", "http/1.1"})
                          : tls::offer_alpn(ssl.get(), {"http/1.1"});
    if (auto s = alpn; !s) {
      failed(Failure::tls, s.error());
      return;
    }
  }
  transport_.connect(addr, std::move(ssl));
}

void UpstreamConn::failed(Failure kind, std::string why) {
  Owner* owner = owner_;
  close();
  if (owner) owner->on_upstream_failed(*this, kind, why);
}

void UpstreamConn::attach(Owner* owner) {
  owner_ = owner;
  pooled_ = false;
  idle_timer_.disarm();
}

void UpstreamConn::detach() {
  owner_ = nullptr;
}

void UpstreamConn::close() {
  if (pooled_) {
    pooled_ = false;
    worker_.forget_idle(this);
  }
  owner_ = nullptr;
  transport_.close();
}

void UpstreamConn::release_to_pool() {
  owner_ = nullptr;
  if (!ready_ || transport_.closing()) {
    close();
    return;
  }
  pooled_ = true;
  idle_timer_.arm(kIdleMs);
  transport_.start_reading();  // an idle server closing on us must be noticed
  worker_.give_idle(this);
}

void UpstreamConn::on_ready(Transport&) {
  ready_ = true;
  if (owner_) owner_->on_upstream_ready(*this);
}

void UpstreamConn::on_data(Transport&, std::string_view data) {
  if (owner_) {
    owner_->on_upstream_data(*this, data);
  } else {
    close();  // bytes while idle: nothing can follow a complete response
  }
}

void UpstreamConn::on_eof(Transport&) {
  Owner* owner = owner_;
  if (!owner) {
    close();
    return;
  }
  owner->on_upstream_eof(*this);
}

void UpstreamConn::on_error(Transport& t, std::string_view why) {
  const bool tls_failed = tls_ && t.failure() != Transport::Failure::socket;
  failed(ready_ ? Failure::protocol : (tls_failed ? Failure::tls : Failure::connect),
         std::string(why));
}

void UpstreamConn::on_drained(Transport&) {
  if (owner_) owner_->on_upstream_drained(*this);
}

void UpstreamConn::on_closed(Transport&) {
  if (pooled_) {
    pooled_ = false;
    worker_.forget_idle(this);
  }
  closed_ = true;
  if (!resolving_) delete this;
}

}  // namespace bottle::proxy
