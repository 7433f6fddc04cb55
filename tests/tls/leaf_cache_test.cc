#include "common/tls/leaf_cache.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "tests/tls/test_ca.h"

namespace bottle::tls {
namespace {

using testing::make_test_ca;
using testing::verify_leaf;

std::unique_ptr<LeafCertCache> make_cache(std::shared_ptr<const CertificateAuthority> ca,
                                          std::size_t capacity = 16) {
  auto cache = LeafCertCache::create(std::move(ca), capacity);
  EXPECT_TRUE(cache) << cache.error();
  return std::move(*cache);
}

TEST(LeafCertCache, DnsLeafVerifiesAgainstCa) {
  auto ca = make_test_ca();
  auto cache = make_cache(ca);
  auto leaf = cache->get("API.Example.com.");
  ASSERT_TRUE(leaf) << leaf.error();
  EXPECT_EQ((*leaf)->host, "api.example.com");
  X509* cert = (*leaf)->cert.get();
  EXPECT_EQ(verify_leaf(cert, ca->cert.get(), "api.example.com", false), "ok");
  EXPECT_NE(verify_leaf(cert, ca->cert.get(), "other.example.com", false), "ok");
  EXPECT_EQ(X509_get_extended_key_usage(cert), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_check_ca(cert), 0);
  // The AKI names the CA's SKI.
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(cert);
  ASSERT_NE(aki, nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(ca->cert.get())), 0);
  EXPECT_EQ(X509_verify(cert, ca->key.get()), 1);
}

TEST(LeafCertCache, Ipv4LeafUsesIpAddressSan) {
  auto ca = make_test_ca();
  auto cache = make_cache(ca);
  auto leaf = cache->get("127.0.0.1");
  ASSERT_TRUE(leaf) << leaf.error();
  EXPECT_EQ(verify_leaf((*leaf)->cert.get(), ca->cert.get(), "127.0.0.1", true), "ok");
  EXPECT_NE(verify_leaf((*leaf)->cert.get(), ca->cert.get(), "127.0.0.2", true), "ok");
  // Not a DNS name: a client checking "127.0.0.1" as a hostname must not match.
  EXPECT_NE(verify_leaf((*leaf)->cert.get(), ca->cert.get(), "127.0.0.1", false), "ok");
}

TEST(LeafCertCache, Ipv6LeafAcceptsBracketsAndCanonicalizes) {
  auto ca = make_test_ca();
  auto cache = make_cache(ca);
  auto leaf = cache->get("[0:0::1]");
  ASSERT_TRUE(leaf) << leaf.error();
  EXPECT_EQ((*leaf)->host, "::1");
  EXPECT_EQ(verify_leaf((*leaf)->cert.get(), ca->cert.get(), "::1", true), "ok");
  auto again = cache->get("::1");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->get(), leaf->get());
}

TEST(LeafCertCache, LongHostTruncatesCommonNameButKeepsSan) {
  auto ca = make_test_ca();
  auto cache = make_cache(ca);
  std::string host = std::string(60, 'a') + "." + std::string(60, 'b') + ".example";
  auto leaf = cache->get(host);
  ASSERT_TRUE(leaf) << leaf.error();
  char cn[128] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name((*leaf)->cert.get()), NID_commonName, cn,
                            sizeof(cn));
  EXPECT_EQ(std::string(cn), host.substr(0, 64));
  EXPECT_EQ(verify_leaf((*leaf)->cert.get(), ca->cert.get(), host, false), "ok");
}

TEST(LeafCertCache, RejectsMalformedHosts) {
  auto cache = make_cache(make_test_ca());
  for (const char* bad :
       {"", ".", "a..b", "exa mple.com", "evil.com/x", "[::1", "[not-ip]", "a\nb"}) {
    auto leaf = cache->get(bad);
    EXPECT_FALSE(leaf) << "accepted '" << bad << "'";
  }
  EXPECT_FALSE(cache->get(std::string(254, 'a')));
  EXPECT_FALSE(cache->get(std::string(64, 'a') + ".com"));
  EXPECT_EQ(cache->size(), 0u);
}

TEST(LeafCertCache, HitReturnsSameObjectAndSharedKey) {
  auto cache = make_cache(make_test_ca());
  auto a = cache->get("a.test");
  auto b = cache->get("A.TEST");
  auto c = cache->get("c.test");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->get(), b->get());
  EXPECT_NE(a->get(), c->get());
  EXPECT_EQ((*a)->key.get(), (*c)->key.get());  // one key for every leaf
  EXPECT_EQ(cache->hits(), 1u);
  EXPECT_EQ(cache->misses(), 2u);
  // Serial numbers are random and distinct.
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber((*a)->cert.get()),
                             X509_get0_serialNumber((*c)->cert.get())),
            0);
}

TEST(LeafCertCache, EvictsLeastRecentlyUsed) {
  auto cache = make_cache(make_test_ca(), 2);
  auto a = cache->get("a.test");
  auto b = cache->get("b.test");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(cache->get("a.test"));  // a is now the most recent; b is next to go
  auto c = cache->get("c.test");
  ASSERT_TRUE(c);
  EXPECT_EQ(cache->size(), 2u);
  auto a2 = cache->get("a.test");
  ASSERT_TRUE(a2);
  EXPECT_EQ(a2->get(), a->get());  // survived
  auto b2 = cache->get("b.test");
  ASSERT_TRUE(b2);
  EXPECT_NE(b2->get(), b->get());  // evicted and minted anew
  // The evicted leaf is still usable by whoever holds it.
  EXPECT_EQ((*b)->host, "b.test");
  EXPECT_EQ(cache->size(), 2u);
}

TEST(LeafCertCache, ValidityStartsAnHourAgoAndNeverOutlivesCa) {
  auto short_ca = make_test_ca(2);
  auto cache = make_cache(short_ca);
  auto leaf = cache->get("short.test");
  ASSERT_TRUE(leaf);
  X509* cert = (*leaf)->cert.get();
  int days = 0, secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notAfter(cert),
                           X509_get0_notAfter(short_ca->cert.get())),
            1);
  EXPECT_EQ(days, 0);
  EXPECT_EQ(secs, 0);
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert), nullptr),
            1);  // notBefore -> now
  EXPECT_EQ(days, 0);
  EXPECT_GE(secs, 3590);
  EXPECT_LE(secs, 3700);

  auto long_cache = make_cache(make_test_ca(365));
  auto long_leaf = long_cache->get("long.test");
  ASSERT_TRUE(long_leaf);
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter((*long_leaf)->cert.get())), 1);
  EXPECT_TRUE(days == 29 || days == 30) << days;
}

TEST(LeafCertCache, CreateRejectsBadArguments) {
  EXPECT_FALSE(LeafCertCache::create(nullptr));
  EXPECT_FALSE(LeafCertCache::create(make_test_ca(), 0));
}

}  // namespace
}  // namespace bottle::tls
