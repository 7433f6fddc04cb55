#include "common/tls/ca.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fstream>

#include "common/tls/leaf_cache.h"
#include "common/tls/pem_io.h"
#include "tests/support/support.h"
#include "tests/tls/test_ca.h"

namespace bottle::tls {
namespace {

using ::bottle::test::ScratchDir;

void write(const std::string& path, const std::string& data) {
  std::ofstream(path) << data;
}

// Writes the two PEM texts as ca.pem / key.pem in `dir` and loads them.
Result<CertificateAuthority> load_written(const ScratchDir& dir, const std::string& cert,
                                          const std::string& key) {
  write(dir.file("ca.pem"), cert);
  write(dir.file("key.pem"), key);
  return load_ca(dir.file("ca.pem"), dir.file("key.pem"));
}

TEST(LoadCa, MissingFileNamesPathAndCause) {
  ScratchDir dir;
  auto ca = load_ca(dir.file("nope.pem"), dir.file("nope-key.pem"));
  ASSERT_FALSE(ca);
  EXPECT_EQ(ca.error(), dir.file("nope.pem") + ": No such file or directory");
}

class LoadCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto minted = mint_ca("test", 1);
    ASSERT_TRUE(minted) << minted.error();
    minted_ = std::move(*minted);
  }
  ScratchDir dir_;
  MintedCa minted_;
};

TEST_F(LoadCaTest, GarbageIsNotPem) {
  auto ca = load_written(dir_, "hello, not a certificate\n", minted_.key_pem);
  ASSERT_FALSE(ca);
  EXPECT_EQ(ca.error(), dir_.file("ca.pem") +
                            ": not a PEM certificate (no '-----BEGIN CERTIFICATE-----' line)");
}

TEST_F(LoadCaTest, TruncatedPemIsInvalid) {
  auto ca = load_written(dir_, minted_.cert_pem.substr(0, 80), minted_.key_pem);
  ASSERT_FALSE(ca);
  EXPECT_NE(ca.error().find("ca.pem: invalid PEM certificate: "), std::string::npos) << ca.error();
}

TEST_F(LoadCaTest, KeyNotPem) {
  auto ca = load_written(dir_, minted_.cert_pem,
                         minted_.cert_pem);  // a certificate where the key belongs
  ASSERT_FALSE(ca);
  EXPECT_NE(ca.error().find("key.pem: not a PEM private key"), std::string::npos) << ca.error();
}

TEST_F(LoadCaTest, MismatchedKeyIsRejected) {
  auto other = mint_ca("other", 1);
  ASSERT_TRUE(other);
  auto ca = load_written(dir_, minted_.cert_pem, other->key_pem);
  ASSERT_FALSE(ca);
  EXPECT_EQ(ca.error(), dir_.file("key.pem") + ": private key does not match the certificate in " +
                            dir_.file("ca.pem"));
}

TEST_F(LoadCaTest, LeafCertificateIsNotACa) {
  auto ca = load_written(dir_, minted_.cert_pem, minted_.key_pem);
  ASSERT_TRUE(ca) << ca.error();
  auto cache = LeafCertCache::create(std::make_shared<const CertificateAuthority>(std::move(*ca)));
  ASSERT_TRUE(cache);
  auto leaf = (*cache)->get("leaf.test");
  ASSERT_TRUE(leaf);
  auto not_ca =
      load_written(dir_, testing::cert_pem((*leaf)->cert.get()), key_to_pem((*leaf)->key.get()));
  ASSERT_FALSE(not_ca);
  EXPECT_EQ(not_ca.error(),
            dir_.file("ca.pem") + ": not a CA certificate (needs basicConstraints CA:TRUE)");
}

TEST(MintCa, RoundTripsThroughFiles) {
  ScratchDir dir;
  auto minted = mint_ca("bottle test CA", 30);
  ASSERT_TRUE(minted) << minted.error();
  ASSERT_TRUE(write_private_file(dir.file("ca.pem"), minted->cert_pem, 0644));
  ASSERT_TRUE(write_private_file(dir.file("key.pem"), minted->key_pem));
  auto ca = load_ca(dir.file("ca.pem"), dir.file("key.pem"));
  ASSERT_TRUE(ca) << ca.error();

  X509* cert = ca->cert.get();
  EXPECT_EQ(X509_check_ca(cert), 1);
  EXPECT_EQ(X509_get_extension_flags(cert) & EXFLAG_CRITICAL, 0u);  // no unknown critical ext
  EXPECT_EQ(X509_get_key_usage(cert), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_NE(X509_get0_subject_key_id(cert), nullptr);
  EXPECT_EQ(EVP_PKEY_id(ca->key.get()), EVP_PKEY_EC);
  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
  EXPECT_STREQ(cn, "bottle test CA");
  // Self-signed: verifies with its own key.
  EXPECT_EQ(X509_verify(cert, ca->key.get()), 1);
}

TEST(MintCa, RejectsBadArguments) {
  EXPECT_FALSE(mint_ca("", 10));
  EXPECT_FALSE(mint_ca("x", 0));
  EXPECT_FALSE(mint_ca("x", 100000));
}

TEST(WritePrivateFile, TightensExistingFileMode) {
  ScratchDir dir;
  write(dir.file("secret"), "old");
  ::chmod(dir.file("secret").c_str(), 0666);
  ASSERT_TRUE(write_private_file(dir.file("secret"), "new"));
  struct stat st {};
  ASSERT_EQ(::stat(dir.file("secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(dir.file("secret"));
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "new");
}

TEST(WritePrivateFile, ReportsUnwritablePath) {
  auto st = write_private_file("/nonexistent-dir/x", "data");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error(), "/nonexistent-dir/x: No such file or directory");
}

}  // namespace
}  // namespace bottle::tls
