#include "proxy/limits.h"

#include <charconv>
#include <cmath>
#include <string>

namespace bottle::proxy {

Status Timeouts::set(std::string_view text) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos) return Error{"expected PHASE=SECONDS, got '" + std::string(text) + "'"};
  std::string_view phase = text.substr(0, eq);
  std::string value(text.substr(eq + 1));
  char* end = nullptr;
  double seconds = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(seconds) || seconds <= 0 || seconds > 86400) {
    return Error{"timeout '" + std::string(phase) + "': seconds must be in (0, 86400]"};
  }
  auto ms = static_cast<uint64_t>(std::llround(seconds * 1000));
  if (ms == 0) ms = 1;
  if (phase == "idle") {
    idle_ms = ms;
  } else if (phase == "connect") {
    connect_ms = ms;
  } else if (phase == "body") {
    body_ms = ms;
  } else if (phase == "upstream") {
    upstream_ms = ms;
  } else if (phase == "client") {
    client_ms = ms;
  } else if (phase == "websocket") {
    websocket_ms = ms;
  } else if (phase == "drain") {
    drain_ms = ms;
  } else {
    return Error{"unknown timeout phase '" + std::string(phase) +
                 "' (idle, connect, body, upstream, client, websocket, drain)"};
  }
  return OkStatus();
}

bool BufferBudget::try_take(uint64_t n) {
  uint64_t used = used_.load(std::memory_order_relaxed);
  do {
    if (n > cap_ || used > cap_ - n) return false;
  } while (!used_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
  return true;
}

bool BufferLease::resize(uint64_t n) {
  if (!budget_ || n == held_) return true;
  if (n < held_) {
    budget_->give_back(held_ - n);
  } else if (!budget_->try_take(n - held_)) {
    return false;
  }
  held_ = n;
  return true;
}

}  // namespace bottle::proxy
