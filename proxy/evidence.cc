#include "proxy/evidence.h"

#include "common/log.h"

namespace bottle::proxy {
namespace {

bool scanner_finds(const dlp::Scanner* scanner, std::string_view text) {
  return scanner && !text.empty() &&
         !scanner->scan(text, dlp::Direction::outbound, "url").empty();
}

// A URL the DLP stage did not read (the request was refused earlier) is checked here.
bool url_looks_secret(const ExchangeFacts& f) {
  if (f.url_scanned) return false;
  if (has_encoded_run(f.host) || has_encoded_run(f.path) || has_encoded_run(f.query)) return true;
  if (!f.scanner) return false;
  std::string url(f.host);
  url.append(f.path);
  if (!f.query.empty()) url.append("?").append(f.query);
  return scanner_finds(f.scanner, url);
}

nlohmann::json base(const ExchangeFacts& f, bool secret_in_url) {
  secret_in_url = secret_in_url || url_looks_secret(f);
  nlohmann::json j = {
      {"request_id", std::string(f.request_id)},
      {"method", std::string(f.method)},
      {"host", secret_in_url ? masked_host(f.scanner, f.host) : std::string(f.host)},
      {"port", f.port},
      {"path", loggable_target(f.path, f.query, secret_in_url)},
  };
  j["rule"] = f.rule.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::string(f.rule));
  return j;
}

bool url_finding(const std::vector<dlp::Finding>& findings) {
  for (const auto& f : findings) {
    // The Host header names the same host as the URL (the pipeline checks they agree).
    if (f.location == "url" || f.location == "header:host") return true;
  }
  return false;
}

nlohmann::json findings_json(const std::vector<dlp::Finding>& findings) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& f : findings) {
    nlohmann::json j = {{"detector", f.detector},
                        {"location", f.location},
                        {"offset", f.offset},
                        {"snippet", f.snippet},
                        {"blocking", f.blocking}};
    if (!f.signals.empty()) {  // an injection verdict: why it scored what it scored
      j["score"] = f.score;
      j["signals"] = f.signals;
    }
    arr.push_back(std::move(j));
  }
  return arr;
}

}  // namespace

std::string loggable_host(std::string_view host) {
  // Keep the last two labels: enough to know where it went, not a subdomain that may
  // carry the secret ("<secret>.allowed.example").
  size_t last = host.rfind('.');
  size_t cut = last == std::string_view::npos || last == 0 ? std::string_view::npos
                                                           : host.rfind('.', last - 1);
  if (cut == std::string_view::npos) return std::string(host);
  return "********" + std::string(host.substr(cut));
}

std::string redact_agent_text(const dlp::Scanner* scanner, std::string_view text) {
  if (scanner_finds(scanner, text)) return "(withheld: it carried a secret)";
  return log::mask_encoded_runs(text);
}

std::string masked_host(const dlp::Scanner* scanner, std::string_view host) {
  std::string kept = loggable_host(host);
  return has_encoded_run(kept) || scanner_finds(scanner, kept) ? "********" : kept;
}

std::string shown_host(const dlp::Scanner* scanner, std::string_view host) {
  if (has_encoded_run(host) || scanner_finds(scanner, host)) return masked_host(scanner, host);
  return std::string(host);
}

std::string loggable_target(std::string_view path, std::string_view query, bool secret_in_url) {
  std::string out;
  if (secret_in_url) return "/********";  // any segment may be the secret
  out = std::string(path);
  if (query.empty()) return out;
  out += '?';
  bool first = true;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (!first) out += '&';
    first = false;
    out += std::string(pair.substr(0, eq));
    if (eq != std::string_view::npos) out += "=********";
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

void log_block(config::LogLevel level, const ExchangeFacts& facts, BlockReason reason,
               std::string_view detail, const std::vector<dlp::Finding>& findings) {
  if (level == config::LogLevel::off) return;
  nlohmann::json j = base(facts, url_finding(findings));
  j["reason"] = std::string(reason_name(reason));
  j["detail"] = redact_agent_text(facts.scanner, detail);
  if (!findings.empty()) {
    j["detector"] = findings.front().detector;
    j["location"] = findings.front().location;
    j["snippet"] = findings.front().snippet;
    j["findings"] = findings_json(findings);
  }
  log::warn("egress_block", std::move(j));
}

void log_warn(config::LogLevel level, const ExchangeFacts& facts, std::string_view direction,
              const std::vector<dlp::Finding>& findings) {
  if (level == config::LogLevel::off || findings.empty()) return;
  nlohmann::json j = base(facts, url_finding(findings));
  j["direction"] = std::string(direction);
  j["detector"] = findings.front().detector;
  j["location"] = findings.front().location;
  j["snippet"] = findings.front().snippet;
  j["findings"] = findings_json(findings);
  log::warn("egress_dlp_warn", std::move(j));
}

void log_request(config::LogLevel level, const ExchangeFacts& facts) {
  if (level != config::LogLevel::full) return;
  log::info("egress_request", base(facts, false));
}

void log_response(config::LogLevel level, const ExchangeFacts& facts, int status, uint64_t bytes_up,
                  uint64_t bytes_down, double seconds) {
  if (level != config::LogLevel::full) return;
  nlohmann::json j = base(facts, false);
  j["status"] = status;
  j["bytes_up"] = bytes_up;
  j["bytes_down"] = bytes_down;
  j["duration_ms"] = seconds * 1000.0;
  log::info("egress_response", std::move(j));
}

}  // namespace bottle::proxy
