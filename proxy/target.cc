#include "proxy/target.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>

#include "common/ascii.h"
#include "common/strings.h"

namespace bottle::proxy {
namespace {

bool host_char_ok(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::string Authority::host_header(uint16_t default_port) const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != default_port) h += ":" + std::to_string(port);
  return h;
}

Result<Authority> parse_authority(std::string_view text, uint16_t default_port) {
  if (text.empty()) return Error{"empty authority"};
  if (text.find('@') != std::string_view::npos) return Error{"authority carries userinfo"};
  Authority a;
  std::string_view host, port;
  if (text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return Error{"authority has an unclosed '['"};
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Error{"authority has junk after ']'"};
      port = rest.substr(1);
    }
    in6_addr a6;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) {
      return Error{"authority has a bad IPv6 literal"};
    }
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &a6, buf, sizeof buf);
    a.host = buf;
    a.sent_host = a.host;
    a.is_ip = true;
  } else {
    size_t colon = text.rfind(':');
    host = text.substr(0, colon);
    if (colon != std::string_view::npos) port = text.substr(colon + 1);
    if (colon != std::string_view::npos && port.empty()) {
      return Error{"authority has an empty port"};
    }
    for (char c : host) {
      if (!host_char_ok(c)) return Error{"authority has a bad character in its host"};
    }
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    // An empty label (".wild.test", "a..b") is no name: a wildcard must not cover it.
    if (host.empty() || host.size() > 253 || host.front() == '.' ||
        host.find("..") != std::string_view::npos) {
      return Error{"authority has a bad host"};
    }
    a.sent_host = std::string(host);
    std::string h = ascii_lower(host);
    in_addr a4;
    a.is_ip = inet_pton(AF_INET, h.c_str(), &a4) == 1;
    a.host = std::move(h);
  }
  a.port = default_port;
  if (!port.empty()) {
    const auto v = parse_port(port);
    if (!v) return Error{"authority has a bad port"};
    a.port = *v;
  }
  return a;
}

Result<AbsoluteUrl> parse_absolute_url(std::string_view url) {
  AbsoluteUrl out;
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return Error{"request target is not absolute-form"};
  std::string scheme = ascii_lower(url.substr(0, sep));
  if (scheme == "https") {
    out.https = true;
  } else if (scheme != "http") {
    return Error{"unsupported URL scheme"};
  }
  std::string_view rest = url.substr(sep + 3);
  size_t end = rest.find_first_of("/?#");
  auto auth = parse_authority(rest.substr(0, end), out.https ? 443 : 80);
  if (!auth) return Error{auth.error()};
  out.authority = std::move(auth.value());
  std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  size_t hash = tail.find('#');
  if (hash != std::string_view::npos) tail = tail.substr(0, hash);
  if (tail.empty() || tail.front() != '/') out.path_and_query = "/";
  out.path_and_query += tail;
  return out;
}

void split_target(std::string_view target, std::string_view& path, std::string_view& query) {
  size_t q = target.find('?');
  path = target.substr(0, q);
  query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

}  // namespace bottle::proxy
