#include "common/tls/host_name.h"

#include <arpa/inet.h>

#include <cctype>

#include "common/ascii.h"

namespace bottle::tls {
namespace {

bool canonical_ip(const std::string& text, std::string* out, bool v6_only = false) {
  unsigned char addr[16];
  char buf[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6}) {
    if (v6_only && family == AF_INET) continue;
    if (inet_pton(family, text.c_str(), addr) == 1 &&
        inet_ntop(family, addr, buf, sizeof(buf)) != nullptr) {
      *out = buf;
      return true;
    }
  }
  return false;
}

}  // namespace

Result<HostName> parse_host(std::string_view host) {
  const std::string shown(host.substr(0, 80));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    HostName out{.text = {}, .is_ip = true};
    if (canonical_ip(std::string(host.substr(1, host.size() - 2)), &out.text, /*v6_only=*/true))
      return out;
    return Error{"invalid IPv6 literal '" + shown + "'"};
  }
  // A trailing dot is the same DNS name, and "1.2.3.4." must not slip past as a name.
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  HostName out;
  if (canonical_ip(std::string(host), &out.text)) {
    out.is_ip = true;
    return out;
  }
  if (host.empty()) return Error{"empty host name"};
  if (host.size() > 253) return Error{"host name longer than 253 bytes: '" + shown + "...'"};
  std::size_t label = 0;
  for (char c : host) {
    if (c == '.') {
      if (label == 0) return Error{"empty label in host name '" + shown + "'"};
      label = 0;
    } else if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return Error{"invalid character in host name '" + shown + "'"};
    } else if (++label > 63) {
      return Error{"label longer than 63 bytes in host name '" + shown + "'"};
    }
    out.text.push_back(ascii_lower(c));
  }
  if (label == 0) return Error{"empty label in host name '" + shown + "'"};
  return out;
}

}  // namespace bottle::tls
