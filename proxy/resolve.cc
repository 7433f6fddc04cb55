#include "proxy/resolve.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <cstring>

#include "common/ascii.h"
#include "common/strings.h"

namespace bottle::proxy {

Result<ResolveOverrides> ResolveOverrides::parse(const std::vector<std::string>& entries) {
  ResolveOverrides out;
  for (const auto& e : entries) {
    auto bad = [&e](const char* why) {
      return Error{"--resolve '" + e + "': " + why + " (expected host:port:addr)"};
    };
    size_t c1 = e.find(':');
    if (c1 == std::string::npos || c1 == 0) return bad("missing host");
    size_t c2 = e.find(':', c1 + 1);
    if (c2 == std::string::npos) return bad("missing address");
    const std::string host = ascii_lower(std::string_view(e).substr(0, c1));
    const auto port = parse_port(std::string_view(e).substr(c1 + 1, c2 - c1 - 1));
    if (!port) return bad("bad port");
    std::string addr = e.substr(c2 + 1);
    if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']')
      addr = addr.substr(1, addr.size() - 2);
    sockaddr_storage ss{};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, addr.c_str(), &v4->sin_addr) == 1) {
      v4->sin_family = AF_INET;
      v4->sin_port = htons(*port);
    } else if (inet_pton(AF_INET6, addr.c_str(), &v6->sin6_addr) == 1) {
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons(*port);
    } else {
      return bad("address is not an IP literal");
    }
    out.pins_[host + ":" + std::to_string(*port)] = ss;
  }
  return out;
}

std::optional<sockaddr_storage> ResolveOverrides::find(std::string_view host, uint16_t port) const {
  if (pins_.empty()) return std::nullopt;
  auto it = pins_.find(std::string(host) + ":" + std::to_string(port));
  if (it == pins_.end()) return std::nullopt;
  return it->second;
}

}  // namespace bottle::proxy
