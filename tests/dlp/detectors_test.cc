// Every built-in detector: it finds a well-formed fake credential, in one piece and
// streamed in small chunks, and its findings never contain the credential.
#include <algorithm>
#include <set>

#include "common/dlp/checksums.h"
#include "common/dlp/detectors.h"
#include "tests/dlp/fake_secrets.h"
#include "tests/dlp/test_util.h"

namespace bottle::dlp::testing {
namespace {

// The kinds SPEC §5 names, each by the detector that covers it (a count of ids would
// pass with forty variants of one provider). Each also has a fake sample that its
// detector must find (EveryDetector below).
TEST(Detectors, CoverEveryKindSpecFiveNames) {
  std::set<std::string_view> ids;
  for (const auto& d : secret_detectors()) ids.insert(d.id);
  for (const char* kind : {
           "secret.aws_access_key_id", "secret.aws_secret_access_key",             // AWS
           "secret.github_pat", "secret.github_fine_grained_pat",                  // GitHub
           "secret.github_app_token", "secret.github_oauth",                       //
           "secret.gitlab_pat", "secret.anthropic_api_key", "secret.openai_api_key",
           "secret.google_api_key", "secret.slack_bot_token", "secret.stripe_secret_key",
           "secret.twilio_api_key", "secret.sendgrid_api_key", "secret.npm_token",
           "secret.pypi_token", "secret.dockerhub_pat", "secret.huggingface_token",
           "secret.jwt", "secret.pem_private_key", "secret.ssh_private_key",
           "secret.azure_storage_key", "secret.generic_assignment",
           "secret.credit_card", "secret.iban",                        // Luhn, mod-97
           "secret.crypto_wif_private_key", "secret.bip39_mnemonic"}) {  // base58check, BIP-39
    EXPECT_TRUE(ids.count(kind)) << kind << " (SPEC §5) has no detector";
  }
}

TEST(Detectors, EverySecretDetectorHasAFakeSample) {
  std::set<std::string> sampled;
  for (const auto& s : fake_samples()) sampled.insert(s.detector);
  for (const auto& d : secret_detectors()) EXPECT_TRUE(sampled.count(std::string(d.id))) << d.id;
}

class EveryDetector : public ::testing::TestWithParam<uint32_t> {};

TEST_P(EveryDetector, FindsItsSampleWithoutLeakingIt) {
  auto scanner = build_scanner();
  ASSERT_TRUE(scanner);
  for (const auto& s : fake_samples(GetParam())) {
    SCOPED_TRACE(s.detector + " in: " + s.text);
    const auto block = scanner->scan(s.text, Direction::outbound, "body");
    EXPECT_TRUE(has_detector(block, s.detector)) << describe(block);
    expect_no_leak(block, s.secret);
    for (const auto& f : block) {
      EXPECT_EQ(f.location, "body");
      EXPECT_TRUE(f.blocking);
    }
    const auto streamed = scan_body(*scanner, s.text, Direction::outbound, GetParam(), 7);
    EXPECT_TRUE(has_detector(streamed, s.detector)) << describe(streamed);
    expect_no_leak(streamed, s.secret);
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, EveryDetector, ::testing::Values(1u, 42u, 777u));

TEST(Detectors, ReportsTheRawOffsetOfTheSecret) {
  auto scanner = build_scanner();
  const std::string token = fake_github_token("ghp_", 5);
  const std::string text = "0123456789 " + token + " tail";
  const auto fs = scanner->scan(text, Direction::outbound, "url");
  ASSERT_EQ(fs.size(), 1u) << describe(fs);
  EXPECT_EQ(fs[0].offset, 11u);
  EXPECT_EQ(fs[0].location, "url");
}

TEST(Detectors, GithubTokenWithBadChecksumIsIgnored) {
  auto scanner = build_scanner();
  std::string token = fake_github_token("ghp_", 9);
  token[10] = token[10] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(github_token_checksum_ok(token));
  EXPECT_TRUE(scanner->scan("t=" + token, Direction::outbound, "url").empty());
}

TEST(Detectors, CardNumberFailingLuhnIsIgnored) {
  auto scanner = build_scanner();
  std::string card = fake_card_number(3);
  card.back() = card.back() == '9' ? '0' : static_cast<char>(card.back() + 1);
  EXPECT_FALSE(luhn_ok(card));
  EXPECT_FALSE(has_detector(scanner->scan("card " + card, Direction::outbound, "body"), "secret.credit_card"));
}

TEST(Detectors, IbanWithBadCheckDigitsIsIgnored) {
  EXPECT_TRUE(iban_ok("GB82WEST12345698765432"));
  EXPECT_TRUE(iban_ok("DE89 3704 0044 0532 0130 00"));
  EXPECT_FALSE(iban_ok("GB83WEST12345698765432"));
  auto scanner = build_scanner();
  EXPECT_TRUE(scanner->scan("iban GB83WEST12345698765432", Direction::outbound, "body").empty());
}

TEST(Detectors, Base58CheckRejectsCorruptedKey) {
  const std::string wif = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ";  // well-known test vector
  EXPECT_TRUE(base58check_ok(wif));
  std::string bad = wif;
  bad[10] = bad[10] == 'x' ? 'y' : 'x';
  EXPECT_FALSE(base58check_ok(bad));
}

TEST(Detectors, Bip39ChecksumDecides) {
  // BIP-39 test vector: all-zero entropy.
  EXPECT_TRUE(bip39_mnemonic_ok(
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"));
  EXPECT_FALSE(bip39_mnemonic_ok(
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon"));
  auto scanner = build_scanner();
  // Ordinary prose made of list words, without a valid checksum, passes.
  EXPECT_TRUE(scanner
                  ->scan("please note that the public library will open early this year for every student and "
                         "teacher in the city",
                         Direction::outbound, "body")
                  .empty());
  const std::string phrase = fake_mnemonic(11, 24);
  EXPECT_TRUE(has_detector(scanner->scan("seed: " + phrase, Direction::outbound, "body"), "secret.bip39_mnemonic"));
}

// A phrase inside a long stretch of lowercase prose (no capitals, no punctuation) used to
// be dropped with the whole over-long run; short and long words now cut the run.
TEST(Detectors, Bip39PhraseInsideLongLowercaseProseIsFound) {
  auto scanner = build_scanner();
  std::string prose;
  while (prose.size() < 6000) prose += "the library of the town is open to all of us and it has a garden ";
  const std::string text = prose + fake_mnemonic(12, 12) + " " + prose;
  EXPECT_TRUE(has_detector(scanner->scan(text, Direction::outbound, "body"), "secret.bip39_mnemonic"));
  EXPECT_TRUE(has_detector(scan_body(*scanner, text, Direction::outbound, 3, 700), "secret.bip39_mnemonic"));
  EXPECT_TRUE(scanner->scan(prose + prose, Direction::outbound, "body").empty());
}

// A WIF key that is one segment of a path, or glued to a dash, is still a key.
TEST(Detectors, WifKeyInsidePathOrDashedRunIsFound) {
  auto scanner = build_scanner();
  const std::string wif = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ";
  for (const std::string& text : {"GET /v1/keys/" + wif + "/export HTTP/1.1", "key-" + wif + "-backup",
                                  "blob=aGVsbG8gd29ybGQgaGVsbG8gd29y+" + wif}) {
    EXPECT_TRUE(has_detector(scanner->scan(text, Direction::outbound, "body"), "secret.crypto_wif_private_key"))
        << text;
    EXPECT_TRUE(has_detector(scan_body(*scanner, text, Direction::outbound, 4, 16), "secret.crypto_wif_private_key"))
        << text;
  }
}

TEST(Detectors, Sha256MatchesKnownVector) {
  const auto d = sha256("abc");
  EXPECT_EQ(d[0], 0xba);
  EXPECT_EQ(d[1], 0x78);
  EXPECT_EQ(d[31], 0xad);
}

// Outbound, a documented example key is a key: the proxy cannot tell a drill from a
// leak. Inbound, secrets are not scanned at all, so documentation showing them passes.
TEST(Detectors, DocumentedExampleCredentialsAreFindingsOutboundOnly) {
  auto scanner = build_scanner();
  const std::string doc =
      "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
      "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
      "export AWS_ACCESS_KEY_ID=AKIAI44QH8DHBEXAMPLE\n";
  const auto out = scanner->scan(doc, Direction::outbound, "body");
  EXPECT_TRUE(has_detector(out, "secret.aws_access_key_id")) << describe(out);
  EXPECT_TRUE(has_detector(out, "secret.aws_secret_access_key")) << describe(out);
  EXPECT_EQ(std::count_if(out.begin(), out.end(), [](const Finding& f) { return f.detector == "secret.aws_access_key_id"; }),
            2);
  EXPECT_TRUE(scanner->scan(doc, Direction::inbound, "response_body").empty());
}

TEST(Detectors, EnvDumpNeedsACredentialNameAndARandomValue) {
  auto scanner = build_scanner();
  for (const char* secret : {"BILLING_API_KEY=k3J9xQ2mVt7RwP4zLs8N", "export DEPLOY_TOKEN='9fK2mQx7LpR3vT8wZ1nB'",
                             "declare -x ANALYTICS_SECRET=\"Zp4kR8mQ2xV7tLw9\"",
                             "{\"CI_CLIENT_SECRET\": \"f3a9c2e17b5d48a6e0c9b1d27f4e8a3c\"}", "DB_PASSWORD=Tr0ub4dor-x9Qv2K"}) {
    EXPECT_TRUE(has_detector(scanner->scan(secret, Direction::outbound, "body"), "secret.env_assignment")) << secret;
  }
  for (const char* benign :
       {"NODE_ENV=production", "CACHE_KEY=user-profile-cache", "TOKEN_LIMIT=100000", "API_KEY=your-api-key-here",
        "SECRET_KEY=${SECRET_KEY}", "SSH_KEY=/home/agent/.ssh/id_ed25519", "OAUTH_SECRET=OAUTH2_CLIENT_SECRET",
        "AUTH_TOKEN=os.environ.get(name)", "--kms-key=KMS_KEY : --kms-keyring=KMS_KEYRING",
        "RESULT_INVALID_CREDENTIALS: LDAPInvalidCredentialsResult", "SIGNING_KEY=0x9e3779b97f4a7c15"}) {
    const auto fs = scanner->scan(benign, Direction::outbound, "body");
    EXPECT_FALSE(has_detector(fs, "secret.env_assignment")) << benign << ": " << describe(fs);
  }
}

TEST(Detectors, PrivateKeyHeaderNeedsKeyMaterial) {
  auto scanner = build_scanner();
  EXPECT_TRUE(scanner->scan("_SK_START = b\"-----BEGIN OPENSSH PRIVATE KEY-----\"", Direction::outbound, "body").empty());
  EXPECT_TRUE(scanner->scan("-----BEGIN PRIVATE KEY-----\n  MIICdg....\n  ... bhTQ==\n", Direction::outbound, "body").empty());
  const std::string key = "'-----BEGIN RSA PRIVATE KEY-----'#10+\n    'MIIEowIBAAKCAQEAvfTdv+3fgvVTKRnP/HVNG8x9qLmT2wZrKs7bYc'";
  EXPECT_TRUE(has_detector(scanner->scan(key, Direction::outbound, "body"), "secret.pem_private_key"));
}

TEST(Detectors, PaginationAndCsrfTokensAreNotSecrets) {
  auto scanner = build_scanner();
  for (const char* benign : {"GET /v1/items?pageToken=CgYIARABGAEiBggAEgIIAQ3x HTTP/1.1",
                             "--secret=projects/my-project/secrets/my-secret/versions/2",
                             "credentials = standard_b64encode(credentials).decode('ascii')",
                             "secret = utf8_repeat_string(secret, 72)",
                             "{\"NextToken\": \"AQICAHh2dG9rZW4xMjM0NTY3OA9x\"}",
                             "next_token=eyJvZmZzZXQiOjEwMH0x9", "csrf_token=7c4a8d09ca3762af61e5952094"}) {
    const auto fs = scanner->scan(benign, Direction::outbound, "url");
    EXPECT_TRUE(fs.empty()) << benign << ": " << describe(fs);
  }
  for (const char* secret : {"access_token=Zx8kQ2pLm9vRt4Wb7Yc", "{\"refresh_token\": \"Zx8kQ2pLm9vRt4Wb7Yc\"}",
                             "X-Api-Token: Zx8kQ2pLm9vRt4Wb7Yc"}) {
    EXPECT_TRUE(has_detector(scanner->scan(secret, Direction::outbound, "body"), "secret.generic_assignment"))
        << secret;
  }
}

TEST(Detectors, GenericAssignmentNeedsARandomLookingValue) {
  auto scanner = build_scanner();
  for (const char* benign : {"password = \"changeme\"", "token: ${GITHUB_TOKEN}", "api_key=your_api_key_here",
                             "secret = get_secret_from_vault()", "password=hunter2"}) {
    EXPECT_TRUE(scanner->scan(benign, Direction::outbound, "body").empty()) << benign;
  }
  EXPECT_TRUE(has_detector(scanner->scan("password=\"Tr0ub4dor&3xQz9LmPw\"", Direction::outbound, "body"),
                           "secret.generic_assignment"));
}

// A qualified name is code, not a value: a type annotation or an attribute of a module
// ("private_key: ed25519.Ed25519PrivateKey"). A random value with a dot in it is not one.
TEST(Detectors, QualifiedNamesAreNotSecrets) {
  auto scanner = build_scanner();
  for (const char* benign : {"def load(f, private_key: ed25519.Ed25519PrivateKey, f_priv):",
                             "secret_key = hashes.SHA256", "api_key: x509.X509Certificate",
                             "export SIGNING_KEY=cryptography.Ed448PrivateKey"}) {
    const auto fs = scanner->scan(benign, Direction::outbound, "body");
    EXPECT_TRUE(fs.empty()) << benign << ": " << describe(fs);
  }
  for (const char* secret : {"token=Xk9.mQ2pLm9vRt4Wb7Yc", "api_key = a.Zx8kQ2pLm9vRt4Wb7Yc",
                             "private_key: ed25519.Zx8kQ2pLm9vRt4Wb7Yc"}) {
    EXPECT_TRUE(has_detector(scanner->scan(secret, Direction::outbound, "body"), "secret.generic_assignment"))
        << secret;
  }
}

// Values a standard or a manual prints as its example are reported as examples, which
// warn by default; a value that only looks like one, or a real value riding in the same
// query behind one, is still a secret.
TEST(Detectors, PublishedExampleValuesAreReportedAsExamples) {
  auto scanner = build_scanner();
  for (const char* doc : {"Location: http://example.com/cb#access_token=2YotnFZFEjr1zCsicMWpAA&state=xyz",
                          "{\"access_token\":\"2YotnFZFEjr1zCsicMWpAA\", \"refresh_token\":\"tGzv3JOkF0XG5Qx2TlKWIA\"}",
                          "otpauth://totp/alice@bigco.com?secret=JBSWY3DPEHPK3PXP&issuer=Big%20Corporation",
                          "       PrivateKey=EEGlnEPYJV//kbvvIqxKkQwOiS+UENyPncC4bF46ong=\n",
                          "    '-----BEGIN RSA PRIVATE KEY-----'#10+\n"
                          "    'MIIEowIBAAKCAQEAvfTdv+3fgvVTKRnP/HVNG81cr8TrUP/iiyuve/THMzvFXhCW'#10+\n"}) {
    const auto fs = scanner->scan(doc, Direction::outbound, "body");
    EXPECT_TRUE(has_detector(fs, "secret.documented_example")) << doc << ": " << describe(fs);
    EXPECT_TRUE(std::all_of(fs.begin(), fs.end(), [](const Finding& f) { return f.detector == "secret.documented_example"; }))
        << doc << ": " << describe(fs);
  }
  ASSERT_NE(find_detector("secret.documented_example"), nullptr);
  EXPECT_EQ(find_detector("secret.documented_example")->default_action, Action::warn);
  for (const char* secret : {"access_token=2YotnFZFEjr1zCsicMWpAB",  // one character off
                             "secret=JBSWY3DPEHPK3PXP&token=Zx8kQ2pLm9vRt4Wb7Yc",
                             "access_token=2YotnFZFEjr1zCsicMWpAAx9Kq"}) {
    EXPECT_TRUE(has_detector(scanner->scan(secret, Direction::outbound, "body"), "secret.generic_assignment"))
        << secret;
  }
  EXPECT_TRUE(has_detector(scanner->scan("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAvfTdv+3fgvVTKRnP/HVNG8x9qLmT2wZrKs7bYc\n",
                                         Direction::outbound, "body"),
                           "secret.pem_private_key"));
}

// A Luhn-valid window inside a table of numbers is chance (one in ten); a list of card
// numbers, each valid, is still cards.
TEST(Detectors, CardNumberInsideANumberTableIsIgnored) {
  auto scanner = build_scanner();
  for (const char* benign : {"qdisc ets 1: root refcnt 2 bands 8 quanta 2650 1514 1514 1514 1514 1514\n",
                             "sizes 1200 2650 1514 1514 1514"}) {
    const auto fs = scanner->scan(benign, Direction::outbound, "body");
    EXPECT_TRUE(fs.empty()) << benign << ": " << describe(fs);
  }
  for (const char* cards : {"card 4111 1111 1111 1111 exp 12/29", "cards: 4111 1111 1111 1111 5500 0000 0000 0004",
                            "4111-1111-1111-1111", "4111 1111 1111 1111 123 12/29"}) {
    EXPECT_TRUE(has_detector(scanner->scan(cards, Direction::outbound, "body"), "secret.credit_card")) << cards;
  }
}

}  // namespace
}  // namespace bottle::dlp::testing
