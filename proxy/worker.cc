#include "proxy/worker.h"

#include <unistd.h>

#include <algorithm>
#include <random>

#include "common/log.h"
#include "proxy/client_session.h"
#include "proxy/upstream.h"

namespace bottle::proxy {

Worker::Worker(int index, const ProxyShared& shared, std::shared_ptr<const Snapshot> initial)
    : index_(index), shared_(shared), snapshot_(std::move(initial)) {
  uv_loop_init(&loop_);
  uv_loop_configure(&loop_, UV_METRICS_IDLE_TIME);
  std::random_device rd;
  id_salt_ = rd();
}

Worker::~Worker() {
  stop();
  // Handles still open (connections at shutdown) are left to process exit.
}

Status Worker::start(int listen_fd) {
  auto leaves = tls::LeafCertCache::create(shared_.ca);
  if (!leaves) return Error{"leaf certificate cache: " + leaves.error()};
  leaves_ = std::move(leaves.value());
  uv_tcp_init(&loop_, &listener_);
  listener_.data = this;
  int r = uv_tcp_open(&listener_, listen_fd);
  if (r == 0)
    r = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 1024, &Worker::on_connection);
  if (r != 0) {
    ::close(listen_fd);
    return Error{std::string("listen: ") + uv_strerror(r)};
  }
  uv_async_init(&loop_, &mailbox_, &Worker::on_mailbox);
  mailbox_.data = this;
  uv_prepare_init(&loop_, &lag_probe_);
  lag_probe_.data = this;
  uv_prepare_start(&lag_probe_, &Worker::on_prepare);
  uv_unref(reinterpret_cast<uv_handle_t*>(&lag_probe_));
  thread_ = std::thread([this] { run(); });
  return OkStatus();
}

void Worker::run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
}

void Worker::on_prepare(uv_prepare_t* p) {
  auto* self = static_cast<Worker*>(p->data);
  const uint64_t now = uv_hrtime();
  const uint64_t idle = uv_metrics_idle_time(&self->loop_);
  if (self->last_prepare_ns_ != 0) {
    const uint64_t span = now - self->last_prepare_ns_;
    const uint64_t slept = idle - self->last_idle_ns_;
    self->metrics_.observe_loop_lag(span > slept ? span - slept : 0);
  }
  self->last_prepare_ns_ = now;
  self->last_idle_ns_ = idle;
}

void Worker::on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;  // EMFILE and friends: the next accept may succeed
  auto* self = static_cast<Worker*>(server->data);
  ClientSession::accept(*self, server);
}

void Worker::publish(std::shared_ptr<const Snapshot> snap) {
  {
    std::lock_guard<std::mutex> lock(mailbox_mu_);
    pending_ = std::move(snap);
  }
  if (thread_.joinable()) uv_async_send(&mailbox_);
}

void Worker::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mailbox_mu_);
    stop_requested_ = true;
  }
  uv_async_send(&mailbox_);
  thread_.join();
}

void Worker::drain() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mailbox_mu_);
    drain_requested_ = true;
  }
  uv_async_send(&mailbox_);
}

void Worker::on_mailbox(uv_async_t* a) {
  auto* self = static_cast<Worker*>(a->data);
  std::shared_ptr<const Snapshot> next;
  bool stop = false, drain = false;
  {
    std::lock_guard<std::mutex> lock(self->mailbox_mu_);
    next = std::move(self->pending_);
    stop = self->stop_requested_;
    drain = self->drain_requested_;
  }
  if (next) self->snapshot_ = std::move(next);
  if (drain && !self->draining_) {
    self->draining_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&self->listener_), nullptr);  // no new connections
    std::vector<ClientSession*> open(self->sessions_.begin(), self->sessions_.end());
    for (ClientSession* s : open) s->drain();
  }
  if (stop) uv_stop(&self->loop_);
}

namespace {

// Writes the low `digits` hex digits of v, zero-padded (printf's %0Nx, without printf).
void put_hex(char* out, uint64_t v, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i, v >>= 4) out[i] = kHex[v & 0xf];
}

}  // namespace

// 8 hex digits of salt, 2 of worker index, 6 of counter (16 characters).
std::string Worker::next_request_id() {
  std::string id(16, '0');
  put_hex(id.data(), id_salt_, 8);
  put_hex(id.data() + 8, static_cast<uint64_t>(index_) & 0xff, 2);
  put_hex(id.data() + 10, ++request_counter_ & 0xffffff, 6);
  return id;
}

UpstreamConn* Worker::take_idle(const std::string& key) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  while (!it->second.empty()) {
    UpstreamConn* c = it->second.back();
    it->second.pop_back();
    if (!c->closing()) {
      if (it->second.empty()) idle_.erase(it);
      return c;
    }
  }
  idle_.erase(it);
  return nullptr;
}

void Worker::give_idle(UpstreamConn* conn) {
  auto& list = idle_[conn->key()];
  list.push_back(conn);
  // Bound idle connections per upstream: the oldest goes first.
  constexpr size_t kMaxIdlePerKey = 32;
  if (list.size() > kMaxIdlePerKey) list.front()->close();
}

void Worker::forget_idle(UpstreamConn* conn) {
  auto it = idle_.find(conn->key());
  if (it == idle_.end()) return;
  auto& list = it->second;
  list.erase(std::remove(list.begin(), list.end(), conn), list.end());
  if (list.empty()) idle_.erase(it);
}

H2Upstream* Worker::h2_upstream(const std::string& key) const {
  auto it = h2_upstreams_.find(key);
  return it == h2_upstreams_.end() ? nullptr : it->second;
}

void Worker::set_h2_upstream(const std::string& key, H2Upstream* conn) {
  if (conn) {
    h2_upstreams_[key] = conn;
  } else {
    h2_upstreams_.erase(key);
  }
}

// An upstream that chose http/1.1 is asked again after an hour (it may have been upgraded).
bool Worker::upstream_is_h1(const std::string& key) const {
  auto it = h1_only_.find(key);
  constexpr uint64_t kRememberMs = 3'600'000;
  return it != h1_only_.end() && uv_now(const_cast<uv_loop_t*>(&loop_)) - it->second < kRememberMs;
}

void Worker::mark_upstream_h1(const std::string& key) {
  constexpr size_t kMaxRemembered = 4096;
  if (h1_only_.size() >= kMaxRemembered) h1_only_.clear();
  h1_only_[key] = uv_now(&loop_);
}

}  // namespace bottle::proxy
