// What blocks, warnings and exchanges look like in the JSON-lines log (SPEC §4.5).
// Nothing here ever receives the injected credential; query values are always redacted,
// and a URL that carried a DLP finding is logged without its path and subdomains.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/dlp/scanner.h"
#include "common/encoded_run.h"
#include "config/route_table.h"
#include "proxy/block.h"

namespace bottle::proxy {

struct ExchangeFacts {
  // Redacts agent-sent text the pipeline did not already scan (SPEC §4.4); may be null.
  const dlp::Scanner* scanner = nullptr;
  bool url_scanned = false;  // the DLP stage scanned host, path and query and found nothing
  std::string_view request_id;
  std::string_view method;
  std::string_view host;
  uint16_t port = 0;
  std::string_view path;
  std::string_view query;
  std::string_view rule;  // route id, or empty
};

// "path?name=********&other=********"; with `secret_in_url`, "/********".
std::string loggable_target(std::string_view path, std::string_view query, bool secret_in_url);
// "a.b.example.com" → "********.example.com" (for URLs that carried a secret).
std::string loggable_host(std::string_view host);

// The shape of an encoded value (common/encoded_run.h), shared with the vm console log.
using log::has_encoded_run;

// Agent-sent text bound for a log line. Unchanged when it looks harmless; a run with the
// encoded shape becomes "********"; text in which the DLP scanner finds anything is
// withheld as a whole (a finding does not say where the secret ends).
std::string redact_agent_text(const dlp::Scanner* scanner, std::string_view text);

// loggable_host, then "********" when even the last two labels carry a value.
std::string masked_host(const dlp::Scanner* scanner, std::string_view host);

// A host for a detail line: as is, or masked_host when it looks like it carries a value.
std::string shown_host(const dlp::Scanner* scanner, std::string_view host);

// egress_block (level blocks and full). `findings` may be empty.
void log_block(config::LogLevel level, const ExchangeFacts& facts, BlockReason reason,
               std::string_view detail, const std::vector<dlp::Finding>& findings);

// egress_dlp_warn: findings that did not block.
void log_warn(config::LogLevel level, const ExchangeFacts& facts, std::string_view direction,
              const std::vector<dlp::Finding>& findings);

// egress_request / egress_response (level full only).
void log_request(config::LogLevel level, const ExchangeFacts& facts);
void log_response(config::LogLevel level, const ExchangeFacts& facts, int status, uint64_t bytes_up,
                  uint64_t bytes_down, double seconds);

}  // namespace bottle::proxy
