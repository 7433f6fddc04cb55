// BoringSSL's thread-local error queue as one line of text, for error messages.
#pragma once

#include <string>

namespace bottle::tls {

// Drains the queue; returns the first (root-cause) reason, or `fallback` when empty.
std::string take_ssl_error(const char* fallback = "unknown TLS library error");

}  // namespace bottle::tls
