// SSRF guard (SPEC §4.2 item 5): which dialed addresses stay inside unless a route sets
// allow_private. Checked on the address actually connected to, so DNS rebinding between
// a check and the dial cannot slip through.
#pragma once

#include <sys/socket.h>

#include <string>

namespace bottle::proxy {

// True for loopback, RFC 1918 / ULA private, link-local, CGNAT 100.64/10, cloud metadata
// (169.254.169.254, fd00:ec2::254), unspecified, multicast/broadcast, and IPv4-mapped or
// NAT64-embedded forms of those.
bool is_internal_address(const sockaddr* addr);

// "1.2.3.4" / "::1" for logs and errors.
std::string address_text(const sockaddr* addr);

}  // namespace bottle::proxy
