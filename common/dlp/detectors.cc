#include "common/dlp/detectors.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <string>

#include "common/ascii.h"
#include "common/dlp/checksums.h"
#include "common/dlp/decode.h"

namespace bottle::dlp {
namespace {

bool has_digit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}
bool has_upper(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::isupper(c); });
}
bool has_lower(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::islower(c); });
}

std::string lower(std::string_view s) { return ascii_lower(s); }

// One piece of an identifier: a word in lower case (possibly with a number in it:
// "utf8", "b64encode", "v2"), an upper-case word ("OAUTH2", "KMS"), a number, or CamelCase
// ("ExtendedKeyUsageOID": no lower-case run shorter than two letters). Random text mixes
// cases and digits in a way none of these do.
bool word_like(std::string_view p) {
  const bool has_lower = std::any_of(p.begin(), p.end(), [](unsigned char c) { return std::islower(c); });
  const bool has_upper = std::any_of(p.begin(), p.end(), [](unsigned char c) { return std::isupper(c); });
  size_t digit_runs = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    digit_runs += std::isdigit(static_cast<unsigned char>(p[i])) && (i == 0 || !std::isdigit(static_cast<unsigned char>(p[i - 1])));
  }
  if (!has_lower) return !has_upper || std::isupper(static_cast<unsigned char>(p[0])) || digit_runs == p.size();
  if (!has_upper) return digit_runs <= 1;
  if (digit_runs != 0) return false;
  for (size_t i = 0; i < p.size();) {  // CamelCase: every lower-case run at least two long
    if (!std::islower(static_cast<unsigned char>(p[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < p.size() && std::islower(static_cast<unsigned char>(p[j]))) ++j;
    if (j - i < 2) return false;
    i = j;
  }
  return true;
}

// Lower-case runs of three letters or more, as CamelCase words have them.
size_t camel_words(std::string_view p) {
  size_t words = 0;
  for (size_t i = 0; i < p.size();) {
    size_t j = i;
    while (j < p.size() && std::islower(static_cast<unsigned char>(p[j]))) ++j;
    words += j - i >= 3;
    i = j + 1;
  }
  return words;
}

// Words between separators, as names, paths and placeholders are written
// ("projects/my-project/secrets/my-secret/versions/2", "OAUTH2_CLIENT_SECRET",
// "standard_b64encode", "ExtendedKeyUsageOID.CLIENT_AUTH"): every piece word-like, and
// more than one piece (or one lower-case word).
bool looks_like_identifier(std::string_view s) {
  size_t pieces = 0;
  bool single_lower_word = false;
  for (size_t i = 0; i < s.size();) {
    if (!std::isalnum(static_cast<unsigned char>(s[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && std::isalnum(static_cast<unsigned char>(s[j]))) ++j;
    const std::string_view piece = s.substr(i, j - i);
    if (!word_like(piece)) return false;
    single_lower_word = std::all_of(piece.begin(), piece.end(), [](unsigned char c) { return std::islower(c); });
    ++pieces;
    i = j;
  }
  return pieces > 1 || (pieces == 1 && (single_lower_word || camel_words(s) >= 2));
}

// A type name that may hold numbers ("Ed25519PrivateKey", "X509Certificate", "SHA256"):
// capitals, each run followed by lower-case letters or not, and digit runs, with one
// capitalised word of three lower-case letters or more unless it is all capitals. Random
// text puts a lower-case letter right after a digit, or has no such word.
bool type_name(std::string_view p) {
  if (p.empty() || !std::isupper(static_cast<unsigned char>(p[0]))) return false;
  bool word = !has_lower(p);
  for (size_t i = 0; i < p.size();) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (std::isdigit(c) || c == '_') {
      ++i;
      continue;
    }
    if (!std::isupper(c)) return false;  // a lower-case letter after a digit
    size_t j = i;
    while (j < p.size() && std::isupper(static_cast<unsigned char>(p[j]))) ++j;
    size_t k = j;
    while (k < p.size() && std::islower(static_cast<unsigned char>(p[k]))) ++k;
    word = word || k - j >= 3;
    i = k;
  }
  return word;
}

// A qualified name as code writes it ("ed25519.Ed25519PrivateKey", "os.environ",
// "hashes.SHA256"): lower-case module names, then a name or a type, joined by dots.
bool dotted_name(std::string_view s) {
  size_t dot = s.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == s.size()) return false;
  const std::string_view last = s.substr(dot + 1);
  const bool identifier_chars = std::all_of(last.begin(), last.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_';
  });
  if (!identifier_chars || !(type_name(last) || word_like(last))) return false;
  for (size_t i = 0; i < dot;) {
    const size_t end = std::min(s.find('.', i), dot);
    const std::string_view module = s.substr(i, end - i);
    if (module.empty() || !std::islower(static_cast<unsigned char>(module[0])) ||
        !std::all_of(module.begin(), module.end(), [](unsigned char c) {
          return std::islower(c) || std::isdigit(c) || c == '_';
        })) {
      return false;
    }
    i = end + 1;
  }
  return true;
}

bool random_enough(std::string_view s, double min_bits) {
  return shannon_entropy(s) >= min_bits && !looks_like_placeholder(s);
}

bool v_entropy35(std::string_view s) { return random_enough(s, 3.5); }
bool v_entropy30(std::string_view s) { return random_enough(s, 3.0); }
bool v_github(std::string_view s) { return github_token_checksum_ok(s); }
// Key ids are base32-ish upper case; a run of upper-case hex after "ACCA" is data
// (PostScript, dumps), not a key id.
bool v_aws_id(std::string_view s) {
  const bool hex_tail = std::all_of(s.begin() + 4, s.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
  return !hex_tail && shannon_entropy(s) >= 3.0;
}
bool v_aws_secret(std::string_view s) { return random_enough(s, 4.0); }
bool v_mixed_case(std::string_view s) { return has_upper(s) && has_lower(s) && random_enough(s, 3.5); }
// Code, not a value: a call or an index ("private_key = load(secret)").
bool code_expression(std::string_view s) { return s.find_first_of("()[]") != std::string_view::npos; }
// Key-value detectors have no prefix to go by: the value must not read as a name.
bool v_generic(std::string_view s) {
  return !code_expression(s) && !looks_like_identifier(s) && !dotted_name(s) && has_digit(s) &&
         (has_upper(s) || has_lower(s)) && random_enough(s, 3.5);
}
// A value in an environment dump under a credential-like name: random enough for its
// length (Shannon entropy cannot exceed log2(length)), letters and digits mixed, and
// not a reference ($VAR, %(name)s), a path, a URL, a hex constant or a plain word.
// A path ("/usr/lib/x", "~/.config/app", "/Users/Ann/Library") is words between
// separators, each at most capitalised; base64 that starts with '/' has capitals and
// '+' '=' anywhere.
bool looks_like_path(std::string_view s) {
  if (s.front() != '/' && s.front() != '~' && s.front() != '.') return false;
  size_t inner_capitals = 0;
  for (size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+' || c == '=') return false;
    inner_capitals += std::isupper(static_cast<unsigned char>(c)) != 0 && s[i - 1] != '/';
  }
  return inner_capitals <= 1;
}

bool v_env_value(std::string_view s) {
  if (s.empty() || s.front() == '$' || s.front() == '-' || code_expression(s) || s.find("://") != std::string_view::npos || s.find("%(") != std::string_view::npos) {
    return false;
  }
  if (looks_like_path(s) || looks_like_identifier(s) || dotted_name(s)) return false;
  const double ceiling = std::log2(static_cast<double>(std::min<size_t>(s.size(), 64)));
  const bool hex = std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) return false;
  if (hex ? s.size() < 24 : s.size() < 12) return false;
  // Hex has 16 symbols: random hex sits near 3.7 bits, never above 4.
  if (!has_digit(s)) {
    // Random letters of both cases (base64 without a digit, by chance): long and very
    // random, unlike a CamelCase name.
    return s.size() >= 20 && has_upper(s) && has_lower(s) && random_enough(s, std::min(4.0, ceiling - 0.3));
  }
  return (has_upper(s) || has_lower(s)) && random_enough(s, std::min(hex ? 3.0 : 3.5, ceiling - 0.6));
}
bool v_password_in_url(std::string_view s) { return s.size() >= 6 && random_enough(s, 2.5); }
bool v_luhn(std::string_view s) { return luhn_ok(s); }
bool v_iban(std::string_view s) { return iban_ok(s); }
bool v_base58check(std::string_view s) { return base58check_ok(s); }
bool v_jwt(std::string_view s) {
  std::string header;
  base64_decode(s.substr(0, s.find('.')), header);
  return header.find("\"alg\"") != std::string::npos;
}

// Raw strings keep the regexes readable; every pattern must compile in both RE2 and
// Hyperscan (no lookaround, no backreferences).
constexpr Detector kSecretDetectors[] = {
    {"secret.aws_access_key_id",
     R"(((?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z0-9]{16}))", {},
     Severity::critical, 20, false, v_aws_id},
    {"secret.aws_secret_access_key",
     R"((?:aws_?secret_?access_?key|aws_?secret_?key|secret_?access_?key)["']?\s{0,3}[:=]\s{0,3}["']?([A-Za-z0-9/+]{40}))",
     {}, Severity::critical, 90, true, v_aws_secret},
    {"secret.github_pat", R"((ghp_[A-Za-z0-9]{36}))", {}, Severity::critical, 40, false, v_github},
    {"secret.github_oauth", R"((gho_[A-Za-z0-9]{36}))", {}, Severity::critical, 40, false, v_github},
    {"secret.github_user_to_server", R"((ghu_[A-Za-z0-9]{36}))", {}, Severity::critical, 40, false, v_github},
    {"secret.github_app_token", R"((ghs_[A-Za-z0-9]{36}))", {}, Severity::critical, 40, false, v_github},
    {"secret.github_refresh_token", R"((ghr_[A-Za-z0-9]{36}))", {}, Severity::critical, 40, false, v_github},
    {"secret.github_fine_grained_pat", R"((github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}))", {}, Severity::critical,
     93, false, v_entropy35},
    {"secret.gitlab_pat", R"((glpat-[A-Za-z0-9_-]{20,64}))", {}, Severity::critical, 70, false, v_entropy35},
    {"secret.gitlab_runner_token", R"((glrt-[A-Za-z0-9_-]{20,64}))", {}, Severity::high, 70, false, v_entropy35},
    {"secret.gitlab_deploy_token", R"((gldt-[A-Za-z0-9_-]{20,64}))", {}, Severity::high, 70, false, v_entropy35},
    {"secret.gitlab_trigger_token", R"((glptt-[0-9a-f]{40}))", {}, Severity::high, 46, false, v_entropy30},
    {"secret.anthropic_api_key", R"((sk-ant-api\d\d-[A-Za-z0-9_-]{80,110}))", {}, Severity::critical, 125, false,
     v_entropy35},
    {"secret.anthropic_admin_key", R"((sk-ant-admin\d\d-[A-Za-z0-9_-]{80,110}))", {}, Severity::critical, 130,
     false, v_entropy35},
    {"secret.anthropic_oauth_token", R"((sk-ant-o[ar]t\d\d-[A-Za-z0-9_-]{80,110}))", {}, Severity::critical, 125,
     false, v_entropy35},
    {"secret.openai_api_key", R"((sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,200}T3BlbkFJ[A-Za-z0-9_-]{16,200}))",
     "T3BlbkFJ", Severity::critical, 420, false, v_entropy35},
    {"secret.google_api_key", R"((AIza[0-9A-Za-z_-]{35}))", {}, Severity::high, 39, false, v_entropy35},
    {"secret.google_oauth_client_secret", R"((GOCSPX-[A-Za-z0-9_-]{28}))", {}, Severity::high, 35, false,
     v_entropy35},
    {"secret.google_oauth_access_token", R"((ya29\.[0-9A-Za-z_-]{30,300}))", {}, Severity::high, 306, false,
     v_entropy35},
    {"secret.slack_bot_token", R"((xoxb-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{24}))", {}, Severity::critical, 60,
     false, nullptr},
    {"secret.slack_user_token", R"((xox[pe]-[0-9]{10,13}-[0-9]{10,13}-[0-9]{10,13}-[a-f0-9]{32}))", {},
     Severity::critical, 90, false, nullptr},
    {"secret.slack_app_token", R"((xapp-\d-[A-Z0-9]{9,12}-\d{10,14}-[a-f0-9]{64}))", {}, Severity::critical, 100,
     false, nullptr},
    {"secret.slack_webhook",
     R"((https://hooks\.slack\.com/(?:services|workflows)/T[A-Z0-9]{8,12}/[AB][A-Z0-9]{8,12}/[A-Za-z0-9]{24}))",
     {}, Severity::high, 110, false, nullptr},
    {"secret.stripe_secret_key", R"(((?:sk|rk)_live_[A-Za-z0-9]{24,99}))", {}, Severity::critical, 107, false,
     v_entropy35},
    {"secret.stripe_test_key", R"(((?:sk|rk)_test_[A-Za-z0-9]{24,99}))", {}, Severity::medium, 107, false,
     v_entropy35},
    {"secret.stripe_webhook_secret", R"((whsec_[A-Za-z0-9]{32,64}))", {}, Severity::high, 70, false,
     v_entropy35},
    {"secret.twilio_api_key", R"(\b(SK[0-9a-f]{32})\b)", {}, Severity::high, 36, false, v_entropy30},
    {"secret.sendgrid_api_key", R"((SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}))", {}, Severity::critical, 69,
     false, v_entropy35},
    {"secret.npm_token", R"((npm_[A-Za-z0-9]{36}))", {}, Severity::critical, 40, false, v_github},
    {"secret.pypi_token", R"((pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,250}))", {}, Severity::critical, 270, false,
     nullptr},
    {"secret.dockerhub_pat", R"((dckr_pat_[A-Za-z0-9_-]{27}))", {}, Severity::critical, 36, false, v_entropy35},
    {"secret.huggingface_token", R"((hf_[A-Za-z]{34}))", {}, Severity::high, 37, false, v_mixed_case},
    {"secret.jwt", R"((eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}))",
     R"(eyJ[A-Za-z0-9_-]{8}[A-Za-z0-9_-]*\.eyJ)", Severity::high, 3620, false, v_jwt},
    // A header alone is a parser's constant or a doc's "-----BEGIN PRIVATE KEY----- MIIC....":
    // a key has a line of base64 after it (quoting or string concatenation allowed between).
    {"secret.pem_private_key",
     R"((-----BEGIN (?:RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY-----)(?s:.){0,40}?[A-Za-z0-9+/]{40})",
     "-----BEGIN", Severity::critical, 130, false, nullptr},
    {"secret.ssh_private_key", R"((-----BEGIN OPENSSH PRIVATE KEY-----)(?s:.){0,40}?[A-Za-z0-9+/]{40})",
     "-----BEGIN", Severity::critical, 130, false, nullptr},
    {"secret.pgp_private_key", R"((-----BEGIN PGP PRIVATE KEY BLOCK-----)(?s:.){0,80}?[A-Za-z0-9+/]{40})",
     "-----BEGIN", Severity::critical, 170, false, nullptr},
    {"secret.putty_private_key", R"((PuTTY-User-Key-File-[23]: ))", {}, Severity::critical, 30, false, nullptr},
    {"secret.azure_storage_key", R"(AccountKey=([A-Za-z0-9+/]{86}==))", {}, Severity::critical, 100, false,
     v_entropy35},
    {"secret.azure_ad_client_secret", R"(\b([A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}))", "Q~",
     Severity::high, 42, false, v_entropy35},
    {"secret.shopify_token", R"((shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}))", {}, Severity::high, 38, false,
     v_entropy30},
    {"secret.digitalocean_token", R"((do[por]_v1_[a-f0-9]{64}))", {}, Severity::high, 70, false, v_entropy30},
    {"secret.linear_api_key", R"((lin_api_[A-Za-z0-9]{40}))", {}, Severity::high, 48, false, v_entropy35},
    {"secret.databricks_token", R"(\b(dapi[a-f0-9]{32}))", {}, Severity::high, 36, false, v_entropy30},
    {"secret.newrelic_user_key", R"((NRAK-[A-Z0-9]{27}))", {}, Severity::high, 32, false, v_entropy30},
    {"secret.discord_webhook",
     R"((https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{17,20}/[A-Za-z0-9_-]{60,70}))", {},
     Severity::high, 140, false, nullptr},
    {"secret.telegram_bot_token", R"((\d{8,10}:AA[A-Za-z0-9_-]{33}))", ":AA", Severity::high, 46, false,
     v_entropy35},
    {"secret.age_secret_key", R"((AGE-SECRET-KEY-1[0-9A-Z]{58}))", {}, Severity::critical, 74, false, nullptr},
    {"secret.vault_token", R"((hvs\.[A-Za-z0-9_-]{90,120}))", {}, Severity::critical, 125, false, v_entropy35},
    {"secret.grafana_service_account_token", R"((glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}))", {}, Severity::high, 46,
     false, v_entropy35},
    {"secret.mailchimp_api_key", R"(\b([0-9a-f]{32}-us\d{1,2})\b)", "-us", Severity::high, 37, false,
     v_entropy30},
    {"secret.doppler_token", R"((dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}))", {}, Severity::high, 56,
     false, v_entropy35},
    {"secret.pulumi_token", R"((pul-[a-f0-9]{40}))", {}, Severity::high, 44, false, v_entropy30},
    {"secret.terraform_cloud_token", R"(([A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}))", ".atlasv1.",
     Severity::high, 95, false, v_entropy35},
    {"secret.square_token", R"((sq0(?:atp|csp)-[A-Za-z0-9_-]{22,43}))", {}, Severity::high, 50, false,
     v_entropy35},
    {"secret.sentry_token", R"((sntry[su]_[A-Za-z0-9+/=_-]{60,200}))", {}, Severity::high, 210, false,
     v_entropy35},
    {"secret.connection_string_password",
     R"(\b(?:postgres(?:ql)?|mysql|mongodb(?:\+srv)?|rediss?|amqps?|mssql)://[^:@/\s]{1,64}:([^@/\s]{6,128})@)",
     {}, Severity::high, 220, true, v_password_in_url},
    {"secret.generic_assignment",
     // The key must start a name ("pageToken", "next_token" and "csrf_token" are
     // pagination or anti-forgery values that ordinary API calls echo back).
     R"((?:^|[^A-Za-z0-9_])(?:api[_-]?key|apikey|secret[_-]?key|client[_-]?secret|app[_-]?secret|secret|passw(?:or)?d|passwd|pwd|access[_-]?key|auth[_-]?key|private[_-]?key|access[_-]?token|auth[_-]?token|refresh[_-]?token|api[_-]?token|bearer[_-]?token|session[_-]?token|token|credentials?)["']?\s{0,3}[:=]\s{0,3}["']?([A-Za-z0-9+/_.~!@#$%^&*=()\[\]-]{12,128}))",
     {}, Severity::high, 170, true, v_generic},
    {"secret.env_assignment",
     // An environment dump (`env`, `export`, `declare -x`, a .env file, a JSON of
     // process.env): a variable whose name says credential, with a random value.
     R"((?:^|[^A-Za-z0-9_])(?:[A-Z][A-Z0-9]*_)*(?:[A-Z0-9]*SECRET[A-Z0-9_]*|[A-Z0-9]*_?(?:TOKEN|PASSWORD|PASSWD|PWD|API_?KEY|ACCESS_KEY|PRIVATE_KEY|SIGNING_KEY|SECRET_KEY|CREDENTIALS?|AUTH)|[A-Z0-9]+_KEY)["']?\s{0,2}[:=]\s{0,2}["']?([A-Za-z0-9+/=_.~!@#$%^&*()\[\]-]{12,200}))",
     R"((?:SECRET|TOKEN|PASSWORD|PASSWD|PWD|_KEY|CREDENTIAL|AUTH)[A-Z0-9_]*["']?\s{0,2}[:=]\s{0,2}["']?[A-Za-z0-9+/=_.~!@#$%^&*-]{12})",
     Severity::high, 280, false, v_env_value},
    {"secret.credit_card",
     R"(\b((?:4\d{3}|5[1-5]\d{2}|2[2-7]\d{2}|6011|65\d{2})(?:[ -]?\d{4}){3}|3[47]\d{2}[ -]?\d{6}[ -]?\d{5})\b)", {},
     Severity::medium, 24, false, v_luhn, DetectorKind::secret, Gate::card_run},
    {"secret.iban", R"(\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?)\b)", {}, Severity::medium, 42,
     false, v_iban, DetectorKind::secret, Gate::iban_run},
    {"secret.crypto_wif_private_key", R"(\b([5KL][1-9A-HJ-NP-Za-km-z]{50,51})\b)", {}, Severity::critical, 52,
     false, v_base58check, DetectorKind::secret, Gate::base58_run},
    {"secret.crypto_extended_private_key", R"(\b([xyzt]prv[1-9A-HJ-NP-Za-km-z]{107,108})\b)", {},
     Severity::critical, 112, false, v_base58check},
    // Validated by the scanner itself (word runs + checksum), not by RE2.
    {"secret.bip39_mnemonic", R"(\b((?:[a-z]{3,8} ){11,23}[a-z]{3,8})\b)", R"((?:[a-z]{3,8} ){11}[a-z]{3,8})",
     Severity::critical, 24 * 9, false, nullptr, DetectorKind::mnemonic, Gate::word_run},
};

// Values that standards and manuals print as their examples. Each is public and nobody's
// secret, and each is reached only through a detector that guesses from a name and
// randomness (or, for a PEM key, its first line of key material: these keys ship in
// documentation). Vendor-format keys are not listed: AKIAIOSFODNN7EXAMPLE keeps its own
// detector, since a drill sends exactly those.
struct DocumentedExample {
  std::string_view detector;
  std::string_view value;  // for a PEM key, its first 40 characters of key material
};
constexpr DocumentedExample kDocumentedExamples[] = {
    // RFC 6749 (OAuth 2.0): access token, refresh token, authorization code, client secret.
    {"secret.generic_assignment", "2YotnFZFEjr1zCsicMWpAA"},
    {"secret.generic_assignment", "tGzv3JOkF0XG5Qx2TlKWIA"},
    {"secret.generic_assignment", "SplxlOBeZQQYbYS6WxSbIA"},
    {"secret.generic_assignment", "7Fjfp0ZBr1KtDRbnfVdmIw"},
    // RFC 6750 (bearer tokens).
    {"secret.generic_assignment", "mF_9.B5f-4.1JqM"},
    // TOTP: the key in Google Authenticator's key-URI documentation; RFC 4226/6238's test
    // key "12345678901234567890" in base32.
    {"secret.generic_assignment", "JBSWY3DPEHPK3PXP"},
    {"secret.generic_assignment", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"},
    // WireGuard: the private key in systemd.netdev(5)'s example.
    {"secret.generic_assignment", "EEGlnEPYJV//kbvvIqxKkQwOiS+UENyPncC4bF46ong="},
    // libmicrohttpd's example HTTPS servers (shipped again in Free Pascal's examples).
    {"secret.pem_private_key", "MIIEowIBAAKCAQEAvfTdv+3fgvVTKRnP/HVNG81c"},
    {"secret.pem_private_key", "MIIEowIBAAKCAQEAtN08lLyuR5lAIq0adOu7WiBD"},
};

}  // namespace

bool looks_like_placeholder(std::string_view s) {
  const std::string l = lower(s);
  static constexpr std::array<std::string_view, 16> kMarkers = {
      "placeholder", "changeme", "change_me", "redacted", "your_", "your-", "xxxx", "****", "${",
      "{{",          "<",        "dummy",     "0000000",  "1234567", "here", "password"};
  return std::any_of(kMarkers.begin(), kMarkers.end(),
                     [&](std::string_view m) { return l.find(m) != std::string::npos; });
}

std::span<const Detector> secret_detectors() { return kSecretDetectors; }

size_t documented_example(std::string_view detector, std::string_view value, std::string_view match) {
  const bool generic = detector == "secret.generic_assignment" || detector == "secret.env_assignment";
  for (const DocumentedExample& e : kDocumentedExamples) {
    if (generic && e.detector == "secret.generic_assignment" && value.starts_with(e.value) &&
        (value.size() == e.value.size() || value[e.value.size()] == '&')) {
      return e.value.size();
    }
    if (detector == e.detector && e.detector == "secret.pem_private_key" && match.ends_with(e.value)) {
      return value.size();
    }
  }
  return 0;
}

std::span<const DetectorInfo> detector_catalog() {
  static const std::vector<DetectorInfo> catalog = [] {
    std::vector<DetectorInfo> out;
    for (const Detector& d : kSecretDetectors) {
      if (std::none_of(out.begin(), out.end(), [&](const DetectorInfo& i) { return i.id == d.id; })) {
        out.push_back({d.id, Direction::outbound, d.severity, Action::block});
      }
    }
    out.push_back({"secret.documented_example", Direction::outbound, Severity::low, Action::warn});
    out.push_back({"known_secret", Direction::outbound, Severity::critical, Action::block});
    out.push_back({"exfil.host_labels", Direction::outbound, Severity::high, Action::block});
    // Found by egress, not by the engine (proxy/pipeline.cc: an agent-chosen host label
    // shaped like an encoded value); listed so routes.yaml's dlp.detectors can name it.
    out.push_back({"egress.encoded_host_label", Direction::outbound, Severity::high, Action::block});
    out.push_back({"injection.prompt", Direction::inbound, Severity::high, Action::block});
    return out;
  }();
  return catalog;
}

const DetectorInfo* find_detector(std::string_view id) {
  for (const DetectorInfo& d : detector_catalog()) {
    if (d.id == id) return &d;
  }
  return nullptr;
}

}  // namespace bottle::dlp
