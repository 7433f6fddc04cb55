// --resolve host:port:addr pins (SPEC §4.1, like curl's option): the dial skips DNS for
// that host and port. The SSRF guard still judges the pinned address.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace bottle::proxy {

class ResolveOverrides {
 public:
  // Each entry "host:port:addr" (addr an IPv4 literal or [IPv6]). Errors name the entry.
  static Result<ResolveOverrides> parse(const std::vector<std::string>& entries);

  std::optional<sockaddr_storage> find(std::string_view host, uint16_t port) const;
  bool empty() const { return pins_.empty(); }

 private:
  std::unordered_map<std::string, sockaddr_storage> pins_;  // "host:port"
};

}  // namespace bottle::proxy
