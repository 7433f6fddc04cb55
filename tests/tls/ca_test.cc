#include "common/tls/ca.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/tls/temp_dir.h"

namespace bottle::tls {
namespace {

using testing::TempDir;

void write(const std::string& path, const std::string& data) { std::ofstream(path) << data; }

TEST(LoadCa, MissingFileNamesPathAndCause) {
  TempDir dir;
  auto ca = load_ca(dir.file("nope.pem"), dir.file("nope-key.pem"));
  ASSERT_FALSE(ca);
  EXPECT_EQ(ca.error(), dir.file("nope.pem") + ": No such file or directory");
}

TEST(LoadCa, GarbageIsNotPem) {
  TempDir dir;
  auto minted = mint_ca("test", 1);
  ASSERT_TRUE(minted) << minted.error();
  write(dir.file("ca.pem"), "hello, not a certificate\n");
  write(dir.file("key.pem"), minted->key_pem);
  auto ca = load_ca(dir.file("ca.pem"), dir.file("key.pem"));
  ASSERT_FALSE(ca);
  EXPECT_NE(ca.error().find("ca.pem: not a PEM certificate"), std::string::npos) << ca.error();
}

TEST(LoadCa, TruncatedPemIsInvalid) {
  TempDir dir;
  auto minted = mint_ca("test", 1);
  ASSERT_TRUE(minted);
  write(dir.file("ca.pem"), minted->cert_pem.substr(0, 80));
  write(dir.file("key.pem"), minted->key_pem);
  auto ca = load_ca(dir.file("ca.pem"), dir.file("key.pem"));
  ASSERT_FALSE(ca);
  EXPECT_NE(ca.error().find("ca.pem: invalid PEM certificate"), std::string::npos) << ca.error();
}

TEST(LoadCa, KeyNotPem) {
  TempDir dir;
  auto minted = mint_ca("test", 1);
  ASSERT_TRUE(minted);
  write(dir.file("ca.pem"), minted->cert_pem);
  write(dir.file("key.pem"), minted->cert_pem);  // a certificate where the key belongs
  auto ca = load_ca(dir.file("ca.pem"), dir.file("key.pem"));
  ASSERT_FALSE(ca);
  EXPECT_NE(ca.error().find("key.pem: not a PEM private key"), std::string::npos) << ca.error();
}

TEST(LoadCa, MismatchedKeyIsRejected) {
  TempDir dir;
  auto a = mint_ca("a", 1);
  auto b = mint_ca("b", 1);
  ASSERT_TRUE(a && b);
  write(dir.file("ca.pem"), a->cert_pem);
  write(dir.file("key.pem"), b->key_pem);
  auto ca = load_ca(dir.file("ca.pem"), dir.file("key.pem"));
  ASSERT_FALSE(ca);
  EXPECT_EQ(ca.error(), dir.file("key.pem") + ": private key does not match the certificate in " + dir.file("ca.pem"));
}

TEST(MintCa, RoundTripsThroughFiles) {
  TempDir dir;
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
  TempDir dir;
  write(dir.file("secret"), "old");
  ::chmod(dir.file("secret").c_str(), 0666);
  ASSERT_TRUE(write_private_file(dir.file("secret"), "new"));
  struct stat st{};
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
