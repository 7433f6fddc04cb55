#include "common/tls/ssl_error.h"

#include <openssl/err.h>

namespace bottle::tls {

std::string take_ssl_error(const char* fallback) {
  uint32_t first = ERR_get_error();
  if (first == 0) return fallback;
  ERR_clear_error();
  const char* reason = ERR_reason_error_string(first);
  if (reason != nullptr) return reason;
  char buf[256];
  ERR_error_string_n(first, buf, sizeof(buf));
  return buf;
}

}  // namespace bottle::tls
