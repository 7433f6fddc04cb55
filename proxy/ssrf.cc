#include "proxy/ssrf.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace bottle::proxy {
namespace {

bool internal_v4(uint32_t a) {  // host byte order
  auto in = [a](uint32_t net, int bits) {
    uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
    return (a & mask) == net;
  };
  return in(0x00000000, 8)      // 0.0.0.0/8 "this network", unspecified
         || in(0x0A000000, 8)   // 10/8
         || in(0x64400000, 10)  // 100.64/10 CGNAT
         || in(0x7F000000, 8)   // loopback
         || in(0xA9FE0000, 16)  // 169.254/16 link-local, metadata
         || in(0xAC100000, 12)  // 172.16/12
         || in(0xC0000000, 24)  // 192.0.0/24 IETF protocol assignments
         || in(0xC0A80000, 16)  // 192.168/16
         || in(0xC6120000, 15)  // 198.18/15 benchmarking
         || in(0xE0000000, 4)   // multicast
         || in(0xF0000000, 4);  // reserved + broadcast
}

bool internal_v6(const in6_addr& a) {
  const uint8_t* b = a.s6_addr;
  static const uint8_t kZero[16] = {};
  if (std::memcmp(b, kZero, 16) == 0) return true;                // ::
  if (std::memcmp(b, kZero, 15) == 0 && b[15] == 1) return true;  // ::1
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const uint8_t kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, kMapped, 12) == 0 || std::memcmp(b, kNat64, 12) == 0 ||
      std::memcmp(b, kZero, 12) == 0) {  // mapped, NAT64, deprecated v4-compatible
    uint32_t v4 =
        (uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) | (uint32_t{b[14]} << 8) | b[15];
    return internal_v4(v4);
  }
  if ((b[0] & 0xfe) == 0xfc) return true;                  // fc00::/7 ULA (incl. fd00:ec2::254)
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;  // fe80::/10 link-local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return true;  // fec0::/10 site-local (deprecated)
  if (b[0] == 0xff) return true;                           // multicast
  return false;
}

}  // namespace

bool is_internal_address(const sockaddr* addr) {
  if (addr == nullptr) return true;
  if (addr->sa_family == AF_INET) {
    return internal_v4(ntohl(reinterpret_cast<const sockaddr_in*>(addr)->sin_addr.s_addr));
  }
  if (addr->sa_family == AF_INET6) {
    return internal_v6(reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr);
  }
  return true;  // anything else is not a place to dial
}

std::string address_text(const sockaddr* addr) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (addr && addr->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, buf, sizeof buf);
  } else if (addr && addr->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

}  // namespace bottle::proxy
