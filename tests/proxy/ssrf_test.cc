#include "proxy/ssrf.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace bottle::proxy {
namespace {

bool internal(const char* text) {
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
  } else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
  } else {
    ADD_FAILURE() << text;
  }
  return is_internal_address(reinterpret_cast<sockaddr*>(&ss));
}

TEST(Ssrf, RefusesInternalRanges) {
  for (const char* a : {"127.0.0.1",
                        "127.1.2.3",
                        "10.0.0.1",
                        "172.16.0.1",
                        "172.31.255.255",
                        "192.168.1.1",
                        "169.254.169.254",
                        "169.254.1.1",
                        "100.64.0.1",
                        "100.127.255.255",
                        "0.0.0.0",
                        "255.255.255.255",
                        "224.0.0.1",
                        "::1",
                        "::",
                        "fe80::1",
                        "fc00::1",
                        "fd00:ec2::254",
                        "::ffff:127.0.0.1",
                        "::ffff:169.254.169.254",
                        "64:ff9b::a9fe:a9fe"}) {
    EXPECT_TRUE(internal(a)) << a;
  }
}

TEST(Ssrf, AllowsPublicAddresses) {
  for (const char* a : {"1.1.1.1", "8.8.8.8", "100.63.255.255", "100.128.0.1", "172.32.0.1",
                        "2606:4700::1111", "::ffff:8.8.8.8"}) {
    EXPECT_FALSE(internal(a)) << a;
  }
}

}  // namespace
}  // namespace bottle::proxy
