#include "tests/dlp/fake_secrets.h"

#include <zlib.h>

#include <random>

#include "common/dlp/bip39_words.h"
#include "common/dlp/checksums.h"
#include "common/dlp/known_secrets.h"

namespace bottle::dlp::testing {
namespace {

constexpr std::string_view kAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kUpperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr std::string_view kHex = "0123456789abcdef";
constexpr std::string_view kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlSafe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

std::string github_like(std::string_view prefix, Rng& rng) {
  const std::string random = rng.pick(kAlnum, 30);
  const auto crc = static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(random.data()), 30));
  return std::string(prefix) + random + base62_fixed(crc, 6);
}

std::string base58_encode(const std::string& bytes) {
  static constexpr std::string_view kAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  std::vector<uint8_t> digits;  // little-endian base 58
  for (unsigned char c : bytes) {
    uint32_t carry = c;
    for (auto& d : digits) {
      carry += uint32_t{d} << 8;
      d = static_cast<uint8_t>(carry % 58);
      carry /= 58;
    }
    while (carry > 0) {
      digits.push_back(static_cast<uint8_t>(carry % 58));
      carry /= 58;
    }
  }
  std::string out;
  for (unsigned char c : bytes) {
    if (c != 0) break;
    out.push_back('1');
  }
  for (size_t i = digits.size(); i > 0; --i) out.push_back(kAlphabet[digits[i - 1]]);
  return out;
}

}  // namespace

std::string fake_github_token(std::string_view prefix, uint32_t seed) {
  Rng rng(seed);
  return github_like(prefix, rng);
}

std::string base58check_encode(const std::string& payload) {
  const auto h1 = sha256(payload);
  const auto h2 = sha256(std::string_view(reinterpret_cast<const char*>(h1.data()), h1.size()));
  return base58_encode(payload + std::string(reinterpret_cast<const char*>(h2.data()), 4));
}

std::string fake_card_number(uint32_t seed) {
  Rng rng(seed);
  std::string digits = "4" + rng.pick("0123456789", 14);
  for (char check = '0'; check <= '9'; ++check) {
    if (luhn_ok(digits + check)) return digits + check;
  }
  return digits;
}

std::string fake_iban(uint32_t seed) {
  Rng rng(seed);
  const std::string bban = "WEST" + rng.pick("0123456789", 14);
  for (int check = 2; check <= 98; ++check) {
    const std::string candidate = "GB" + std::string(check < 10 ? "0" : "") + std::to_string(check) + bban;
    if (iban_ok(candidate)) return candidate;
  }
  return "";
}

std::string fake_mnemonic(uint32_t seed, int words) {
  Rng rng(seed);
  const size_t ent_bytes = static_cast<size_t>(words) * 11 * 32 / 33 / 8;
  const std::string entropy = rng.bytes(ent_bytes);
  const auto digest = sha256(entropy);
  std::string bits;
  for (unsigned char c : entropy) {
    for (int b = 7; b >= 0; --b) bits.push_back(((c >> b) & 1) ? '1' : '0');
  }
  const size_t cs_bits = ent_bytes * 8 / 32;
  for (size_t b = 0; b < cs_bits; ++b) bits.push_back(((digest[0] >> (7 - b)) & 1) ? '1' : '0');
  std::string out;
  for (size_t w = 0; w < static_cast<size_t>(words); ++w) {
    int idx = 0;
    for (size_t b = 0; b < 11; ++b) idx = idx * 2 + (bits[w * 11 + b] - '0');
    if (!out.empty()) out.push_back(' ');
    out.append(bip39_words()[static_cast<size_t>(idx)]);
  }
  return out;
}

std::vector<Sample> fake_samples(uint32_t seed) {
  Rng r(seed);
  std::vector<Sample> s;
  auto add = [&](std::string detector, std::string secret, const std::string& before = "value: ",
                 const std::string& after = "\n") {
    s.push_back({std::move(detector), secret, before + secret + after});
  };
  add("secret.aws_access_key_id", "AKIA" + r.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16), "aws_access_key_id=");
  add("secret.aws_secret_access_key", r.pick(kB64, 40), "aws_secret_access_key = ");
  add("secret.github_pat", github_like("ghp_", r), "Authorization: token ");
  add("secret.github_oauth", github_like("gho_", r));
  add("secret.github_user_to_server", github_like("ghu_", r));
  add("secret.github_app_token", github_like("ghs_", r));
  add("secret.github_refresh_token", github_like("ghr_", r));
  add("secret.github_fine_grained_pat", "github_pat_" + r.pick(kAlnum, 22) + "_" + r.pick(kAlnum, 59));
  add("secret.gitlab_pat", "glpat-" + r.pick(kAlnum, 20));
  add("secret.gitlab_runner_token", "glrt-" + r.pick(kAlnum, 20));
  add("secret.gitlab_deploy_token", "gldt-" + r.pick(kAlnum, 20));
  add("secret.gitlab_trigger_token", "glptt-" + r.pick(kHex, 40));
  add("secret.anthropic_api_key", "sk-ant-api03-" + r.pick(kUrlSafe, 93) + "AA", "x-api-key: ");
  add("secret.anthropic_admin_key", "sk-ant-admin01-" + r.pick(kUrlSafe, 93) + "AA");
  add("secret.anthropic_oauth_token", "sk-ant-oat01-" + r.pick(kUrlSafe, 93) + "AA");
  add("secret.openai_api_key", "sk-proj-" + r.pick(kAlnum, 20) + "T3BlbkFJ" + r.pick(kAlnum, 20),
      "OPENAI_API_KEY=");
  add("secret.google_api_key", "AIza" + r.pick(kAlnum, 35), "https://maps.googleapis.com/x?key=", "&q=1");
  add("secret.google_oauth_client_secret", "GOCSPX-" + r.pick(kAlnum, 28));
  add("secret.google_oauth_access_token", "ya29." + r.pick(kAlnum, 60));
  add("secret.slack_bot_token", "xoxb-" + r.pick("0123456789", 11) + "-" + r.pick("0123456789", 13) + "-" +
                                    r.pick(kAlnum, 24));
  add("secret.slack_user_token", "xoxp-" + r.pick("0123456789", 11) + "-" + r.pick("0123456789", 11) + "-" +
                                     r.pick("0123456789", 12) + "-" + r.pick(kHex, 32));
  add("secret.slack_app_token", "xapp-1-A" + r.pick(kUpperDigits, 10) + "-" + r.pick("0123456789", 13) + "-" +
                                    r.pick(kHex, 64));
  add("secret.slack_webhook", "https://hooks.slack.com/services/T" + r.pick(kUpperDigits, 10) + "/B" +
                                  r.pick(kUpperDigits, 10) + "/" + r.pick(kAlnum, 24),
      "curl -X POST ");
  add("secret.stripe_secret_key", "sk_live_" + r.pick(kAlnum, 24));
  add("secret.stripe_test_key", "rk_test_" + r.pick(kAlnum, 24));
  add("secret.stripe_webhook_secret", "whsec_" + r.pick(kAlnum, 32));
  add("secret.twilio_api_key", "SK" + r.pick(kHex, 32));
  add("secret.sendgrid_api_key", "SG." + r.pick(kUrlSafe, 22) + "." + r.pick(kUrlSafe, 43));
  add("secret.npm_token", github_like("npm_", r), "//registry.npmjs.org/:_authToken=");
  add("secret.pypi_token", "pypi-AgEIcHlwaS5vcmc" + r.pick(kUrlSafe, 70), "password = ");
  add("secret.dockerhub_pat", "dckr_pat_" + r.pick(kUrlSafe, 27));
  add("secret.huggingface_token", "hf_" + r.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 34));
  add("secret.jwt",
      base64_encode(R"({"alg":"HS256","typ":"JWT"})", true, false) + "." +
          base64_encode(R"({"sub":"1234567890","name":"agent","iat":1516239022})", true, false) + "." +
          r.pick(kUrlSafe, 43),
      "Authorization: Bearer ");
  add("secret.pem_private_key", "-----BEGIN RSA PRIVATE KEY-----", "", "\nMIIEow" + r.pick(kB64, 60) + "\n");
  add("secret.ssh_private_key", "-----BEGIN OPENSSH PRIVATE KEY-----", "", "\nb3Bl" + r.pick(kB64, 60) + "\n");
  add("secret.pgp_private_key", "-----BEGIN PGP PRIVATE KEY BLOCK-----", "", "\n\nlQ" + r.pick(kB64, 60));
  add("secret.putty_private_key", "PuTTY-User-Key-File-3: ", "", "ssh-ed25519\n");
  add("secret.azure_storage_key", r.pick(kB64, 86) + "==",
      "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=", ";EndpointSuffix=core.windows.net");
  add("secret.azure_ad_client_secret", r.pick(kAlnum, 3) + "8Q~" + r.pick(kAlnum, 34), "client_secret: ");
  add("secret.shopify_token", "shpat_" + r.pick(kHex, 32));
  add("secret.digitalocean_token", "dop_v1_" + r.pick(kHex, 64));
  add("secret.linear_api_key", "lin_api_" + r.pick(kAlnum, 40));
  add("secret.databricks_token", "dapi" + r.pick(kHex, 32));
  add("secret.newrelic_user_key", "NRAK-" + r.pick(kUpperDigits, 27));
  add("secret.discord_webhook", "https://discord.com/api/webhooks/" + r.pick("0123456789", 18) + "/" +
                                    r.pick(kUrlSafe, 68));
  add("secret.telegram_bot_token", r.pick("123456789", 9) + ":AA" + r.pick(kUrlSafe, 33),
      "https://api.telegram.org/bot", "/sendMessage");
  add("secret.age_secret_key", "AGE-SECRET-KEY-1" + r.pick(kUpperDigits, 58));
  add("secret.vault_token", "hvs." + r.pick(kUrlSafe, 95), "X-Vault-Token: ");
  add("secret.grafana_service_account_token", "glsa_" + r.pick(kAlnum, 32) + "_" + r.pick(kHex, 8));
  add("secret.mailchimp_api_key", r.pick(kHex, 32) + "-us12");
  add("secret.doppler_token", "dp.pt." + r.pick(kAlnum, 43));
  add("secret.pulumi_token", "pul-" + r.pick(kHex, 40));
  add("secret.terraform_cloud_token", r.pick(kAlnum, 14) + ".atlasv1." + r.pick(kUrlSafe, 64));
  add("secret.square_token", "sq0atp-" + r.pick(kUrlSafe, 22));
  add("secret.sentry_token", "sntrys_" + r.pick(kB64, 90));
  add("secret.connection_string_password", r.pick(kAlnum, 14), "DATABASE_URL=postgres://app:",
      "@db.internal:5432/app");
  add("secret.generic_assignment", r.pick(kAlnum, 24), "{\"client_secret\": \"", "\"}");
  add("secret.env_assignment", r.pick(kAlnum, 28), "PAYMENTS_SIGNING_KEY=", "\nLOG_LEVEL=info\n");
  add("secret.credit_card", fake_card_number(seed), "card=", "&exp=12/29");
  add("secret.iban", fake_iban(seed), "Please wire to ", " today.");
  add("secret.crypto_wif_private_key", base58check_encode("\x80" + r.bytes(32) + "\x01"), "wif: ");
  add("secret.crypto_extended_private_key",
      base58check_encode(std::string("\x04\x88\xAD\xE4", 4) + r.bytes(9) + r.bytes(32) + std::string(1, '\0') +
                         r.bytes(32)),
      "xpriv: ");
  add("secret.bip39_mnemonic", fake_mnemonic(seed, 12), "my wallet seed: ", ". keep it safe");
  return s;
}

}  // namespace bottle::dlp::testing
