// Where a request is headed: the authority of a CONNECT or an absolute-form URL, and the
// origin-form target the upstream receives. Pure parsing, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace bottle::proxy {

struct Authority {
  std::string host;  // lower-case, no trailing dot, IPv6 without brackets
  // The host as the agent wrote it (case kept, no trailing dot): DLP scans this one, since
  // lower-casing breaks the checksums of tokens hidden in a label.
  std::string sent_host;
  uint16_t port = 0;
  bool is_ip = false;
  // "host" or "host:port" (IPv6 bracketed) as it goes into a Host header.
  std::string host_header(uint16_t default_port) const;
};

// "host", "host:port", "[v6]" or "[v6]:port". Refuses userinfo, empty labels and odd
// hosts. Errors never quote the input: it is the agent's, and may be a secret.
Result<Authority> parse_authority(std::string_view text, uint16_t default_port);

struct AbsoluteUrl {
  bool https = false;
  Authority authority;
  std::string path_and_query;  // "/..." (fragment dropped), "/" when empty
};

// "http://host[:port]/path?query" or https://... (scheme case-insensitive).
Result<AbsoluteUrl> parse_absolute_url(std::string_view url);

// Splits "/path?query" into path and query (without '?').
void split_target(std::string_view target, std::string_view& path, std::string_view& query);

}  // namespace bottle::proxy
