// Writes docs/reference/detectors.md from the DLP engine's detector table
// (common/dlp/detectors.h): id, what it finds, kind, severity, default action,
// validator. Run by the build (target `docs_detectors`); the test DocsDetectorsUpToDate
// fails when the checked-in page differs, so the reference cannot drift from the code.
// Usage: detectors_md OUT.md   (exit 1 when a detector has no description here)
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "common/dlp/detectors.h"

namespace {

using bottle::dlp::Detector;
using bottle::dlp::DetectorKind;
using bottle::dlp::Gate;
using bottle::dlp::Severity;

// What each detector finds, in words. The table owns ids, patterns and validators; only
// the prose lives here, and a detector without prose fails the build step.
const std::map<std::string_view, std::string_view> kWhat = {
    {"secret.aws_access_key_id",
     "AWS access key id (AKIA..., ASIA..., and the other IAM prefixes)"},
    {"secret.aws_secret_access_key",
     "AWS secret access key assigned to an aws_secret_access_key-like name"},
    {"secret.github_pat", "GitHub classic personal access token (ghp_)"},
    {"secret.github_oauth", "GitHub OAuth access token (gho_)"},
    {"secret.github_user_to_server", "GitHub App user-to-server token (ghu_)"},
    {"secret.github_app_token", "GitHub App installation token (ghs_)"},
    {"secret.github_refresh_token", "GitHub refresh token (ghr_)"},
    {"secret.github_fine_grained_pat", "GitHub fine-grained personal access token (github_pat_)"},
    {"secret.gitlab_pat", "GitLab personal access token (glpat-)"},
    {"secret.gitlab_runner_token", "GitLab runner authentication token (glrt-)"},
    {"secret.gitlab_deploy_token", "GitLab deploy token (gldt-)"},
    {"secret.gitlab_trigger_token", "GitLab pipeline trigger token (glptt-)"},
    {"secret.anthropic_api_key", "Anthropic API key (sk-ant-api..)"},
    {"secret.anthropic_admin_key", "Anthropic admin key (sk-ant-admin..)"},
    {"secret.anthropic_oauth_token", "Anthropic OAuth access or refresh token (sk-ant-oat/ort..)"},
    {"secret.openai_api_key",
     "OpenAI API key (sk-, sk-proj-, sk-svcacct-, sk-admin- with the T3BlbkFJ marker)"},
    {"secret.google_api_key", "Google API key (AIza)"},
    {"secret.google_oauth_client_secret", "Google OAuth client secret (GOCSPX-)"},
    {"secret.google_oauth_access_token", "Google OAuth access token (ya29.)"},
    {"secret.slack_bot_token", "Slack bot token (xoxb-)"},
    {"secret.slack_user_token", "Slack user or legacy token (xoxp-, xoxe-)"},
    {"secret.slack_app_token", "Slack app-level token (xapp-)"},
    {"secret.slack_webhook", "Slack incoming-webhook URL"},
    {"secret.stripe_secret_key", "Stripe live secret or restricted key (sk_live_, rk_live_)"},
    {"secret.stripe_test_key", "Stripe test secret or restricted key (sk_test_, rk_test_)"},
    {"secret.stripe_webhook_secret", "Stripe webhook signing secret (whsec_)"},
    {"secret.twilio_api_key", "Twilio API key (SK + 32 hex)"},
    {"secret.sendgrid_api_key", "SendGrid API key (SG.)"},
    {"secret.npm_token", "npm access token (npm_)"},
    {"secret.pypi_token", "PyPI API token (pypi-AgEIcHlwaS5vcmc...)"},
    {"secret.dockerhub_pat", "Docker Hub personal access token (dckr_pat_)"},
    {"secret.huggingface_token", "Hugging Face access token (hf_)"},
    {"secret.jwt", "JSON Web Token (three base64url parts, a header with \"alg\")"},
    {"secret.pem_private_key", "PEM private key block (RSA, EC, DSA, PKCS#8, encrypted)"},
    {"secret.ssh_private_key", "OpenSSH private key block"},
    {"secret.pgp_private_key", "PGP private key block"},
    {"secret.putty_private_key", "PuTTY private key file (PPK v2/v3)"},
    {"secret.azure_storage_key", "Azure storage account key (AccountKey=...)"},
    {"secret.azure_ad_client_secret", "Microsoft Entra (Azure AD) client secret (..Q~..)"},
    {"secret.shopify_token",
     "Shopify access, custom-app, private-app or shared secret (shpat_ ...)"},
    {"secret.digitalocean_token", "DigitalOcean personal, OAuth or refresh token (dop_v1_ ...)"},
    {"secret.linear_api_key", "Linear API key (lin_api_)"},
    {"secret.databricks_token", "Databricks personal access token (dapi)"},
    {"secret.newrelic_user_key", "New Relic user API key (NRAK-)"},
    {"secret.discord_webhook", "Discord webhook URL"},
    {"secret.telegram_bot_token", "Telegram bot token (digits:AA...)"},
    {"secret.age_secret_key", "age encryption secret key (AGE-SECRET-KEY-1)"},
    {"secret.vault_token", "HashiCorp Vault service token (hvs.)"},
    {"secret.grafana_service_account_token", "Grafana service account token (glsa_)"},
    {"secret.mailchimp_api_key", "Mailchimp API key (32 hex -usN)"},
    {"secret.doppler_token", "Doppler token (dp.pt., dp.st., ...)"},
    {"secret.pulumi_token", "Pulumi access token (pul-)"},
    {"secret.terraform_cloud_token", "Terraform Cloud / Enterprise token (.atlasv1.)"},
    {"secret.square_token", "Square access token or OAuth secret (sq0atp-, sq0csp-)"},
    {"secret.sentry_token", "Sentry auth token (sntrys_, sntryu_)"},
    {"secret.connection_string_password",
     "password inside a connection URL (scheme://user:password@host)"},
    {"secret.generic_assignment",
     "a key/secret/token/password name assigned a high-entropy value (key = value, \"key\": "
     "\"value\")"},
    {"secret.env_assignment",
     "an environment dump (env, export, declare -x, a .env file, a JSON of process.env): a "
     "variable whose name says credential (..._TOKEN, ..._SECRET, ..._KEY) with a random value"},
    {"secret.credit_card", "payment card number (13-19 digits, separators allowed)"},
    {"secret.iban", "International Bank Account Number"},
    {"secret.crypto_wif_private_key", "Bitcoin private key in wallet import format"},
    {"secret.crypto_extended_private_key", "BIP-32 extended private key (xprv, yprv, zprv, tprv)"},
    {"secret.bip39_mnemonic", "BIP-39 seed phrase (12 to 24 words from the BIP-39 list)"},
    {"secret.documented_example",
     "a value that a standard or manual prints as its example (RFC 6749 and 6750 tokens, "
     "TOTP test keys, a man page's WireGuard key, the server keys of libmicrohttpd's "
     "examples) where `secret.generic_assignment`, `secret.env_assignment` or "
     "`secret.pem_private_key` would fire: reported without blocking. Vendor-format "
     "example keys (AKIAIOSFODNN7EXAMPLE) stay findings of their own detector"},
    {"exfil.host_labels",
     "data spelled into the labels of a host the agent chooses under a wildcard route "
     "(hex, base32, base64 runs, split over labels)"},
    {"egress.encoded_host_label",
     "an agent-chosen host label (under a wildcard route, or any label of an unrouted host) "
     "holding a run of 16 or more letters and digits that mixes both, the shape of an "
     "encoded value (DNS folds case, so a token's checksum no longer validates there); found "
     "by egress itself when no other detector fired"},
    {"injection.prompt",
     "prompt injection in a response: disclosure requests, instruction overrides, role "
     "markers and hidden-text tricks, scored together with their context (hidden, quoted, "
     "code); a finding from the warn score on, blocking from the block score on"},
};

std::string_view severity(Severity s) {
  switch (s) {
    case Severity::low:
      return "low";
    case Severity::medium:
      return "medium";
    case Severity::high:
      return "high";
    case Severity::critical:
      return "critical";
  }
  return "?";
}

// How a candidate is confirmed beyond the pattern.
std::string validator(const Detector& d) {
  switch (d.gate) {
    case Gate::card_run:
      return "Luhn checksum";
    case Gate::iban_run:
      return "mod-97 checksum";
    case Gate::base58_run:
      return "base58check checksum";
    case Gate::word_run:
      return "BIP-39 word list and checksum";
    case Gate::hyperscan:
      break;
  }
  if (d.kind != DetectorKind::secret) return "-";
  if (!d.validate) return "the pattern alone";
  return "yes (entropy, checksum or structure)";
}

std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else
      out += c;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "detectors_md: usage: detectors_md OUT.md\n";
    return 2;
  }
  std::string page =
      "<!-- Generated by docs/tools/detectors_md.cc from common/dlp/detectors.cc: do not edit.\n"
      "     Rebuild with `cmake --build build --target docs_detectors`. -->\n"
      "# Detectors reference\n\n"
      "Every detector the DLP engine runs, from its built-in table. Outbound detectors "
      "(`secret.*`, and `known_secret`) scan what the agent sends: URL, every header, bodies, "
      "WebSocket messages, and (in git-gate) pushed blobs. Inbound detectors (`injection.*`) "
      "scan responses.\n\n"
      "**Action.** A finding blocks when its detector's action is `block` and its "
      "direction's mode in `routes.yaml` (`dlp.outbound`, default `block`; `dlp.inbound`, "
      "default `warn`) is `block`. `dlp.detectors` sets one detector's action to `block`, "
      "`warn` or `off`, at the top level or per route; `bottle-egress --check` lists the "
      "effective actions. `injection.prompt` scores the signals of one passage: from " +
      std::to_string(bottle::dlp::kInjectionWarnScore) + " it is a finding, from " +
      std::to_string(bottle::dlp::kInjectionBlockScore) +
      " it is blocking. See [routes.yaml](routes.md#dlp).\n\n"
      "**Severity** is reported in each finding's log line; it does not change the action.\n\n"
      "| id | what it finds | direction | severity | default action | validator |\n"
      "|---|---|---|---|---|---|\n";
  std::set<std::string_view> seen;
  bool missing = false;
  auto rows = [&](auto detectors, std::string_view direction, std::string_view action) {
    for (const Detector& d : detectors) {
      if (!seen.insert(d.id).second) continue;  // one row per id (injection ids repeat)
      auto it = kWhat.find(d.id);
      if (it == kWhat.end()) {
        std::cerr << "detectors_md: " << d.id << ": no description in docs/tools/detectors_md.cc\n";
        missing = true;
        continue;
      }
      page += "| `" + std::string(d.id) + "` | " + escape(it->second) + " | " +
              std::string(direction) + " | " + std::string(severity(d.severity)) + " | " +
              std::string(action) + " | " + validator(d) + " |\n";
    }
  };
  rows(bottle::dlp::secret_detectors(), "outbound", "`dlp.outbound` (block)");
  page +=
      "| `known_secret` | the literal value of every provisioned credential and of each "
      "variable in `dlp.known_secrets_env`: raw, hex (either case), percent-encoded, "
      "base64 / base64url at each of the three byte alignments, and reversed, ROT13'd, "
      "case-changed or with a separator between characters (also then encoded) | outbound | "
      "critical | "
      "`dlp.outbound` (block) | exact value |\n";
  seen.insert("known_secret");
  for (const auto& d : bottle::dlp::detector_catalog()) {
    if (!seen.insert(d.id).second) continue;
    auto it = kWhat.find(d.id);
    if (it == kWhat.end()) {
      std::cerr << "detectors_md: " << d.id << ": no description in docs/tools/detectors_md.cc\n";
      missing = true;
      continue;
    }
    const bool out = d.direction == bottle::dlp::Direction::outbound;
    const std::string_view act = d.default_action == bottle::dlp::Action::block ? "block"
                                 : d.default_action == bottle::dlp::Action::warn ? "warn"
                                                                                 : "off";
    page += "| `" + std::string(d.id) + "` | " + escape(it->second) + " | " +
            (out ? "outbound" : "inbound") + " | " + std::string(severity(d.severity)) + " | " +
            (out ? "`dlp.outbound` (block)" : "`dlp.inbound` (warn)") +
            (act == "block" ? std::string() : "; the detector: " + std::string(act)) + " | " +
            (d.id == "secret.documented_example" ? "exact published value" : out ? "structure" : "score") + " |\n";
  }
  for (const auto& [id, text] : kWhat) {
    if (!seen.count(id)) {
      std::cerr << "detectors_md: " << id << ": described but not in the detector table\n";
      missing = true;
    }
  }
  if (missing) return 1;
  std::ofstream out(argv[1], std::ios::binary | std::ios::trunc);
  out << page;
  if (!out) {
    std::cerr << "detectors_md: " << argv[1] << ": cannot write\n";
    return 1;
  }
  return 0;
}
