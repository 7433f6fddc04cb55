// The host a certificate is for: a DNS name or an IP literal, normalized so that
// spellings of the same host ("Example.COM.", "[::1]", "0::1") compare equal.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace bottle::tls {

struct HostName {
  std::string text;  // lower-case DNS name without trailing dot, or canonical IP text
  bool is_ip = false;
};

// Errors for an empty name, one over 253 bytes, an empty or over-63-byte label, or a
// character outside [A-Za-z0-9-_.].
Result<HostName> parse_host(std::string_view host);

}  // namespace bottle::tls
