// DLP engine (SPEC §5): bytes in, findings out. No sockets, no globals, so egress,
// gitgate, tests and fuzzers all call the same code.
//
// A Scanner is compiled once per config (Hyperscan databases + RE2 validators) and is
// immutable and thread-safe; egress holds it in its config snapshot. Scanning a body
// uses a BodyScan (Hyperscan stream mode), so a secret split across chunks is found
// without buffering the body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace bottle::dlp {

enum class Direction { outbound, inbound };  // outbound: secrets; inbound: prompt injection
enum class Severity { low, medium, high, critical };

struct Finding {
  std::string detector;  // "secret.github_pat", "known_secret", "injection.disclosure", ...
  Severity severity = Severity::high;
  std::string location;  // "url", "header:<name>", "body", "response_body", "ws_frame", "<path>"
  uint64_t offset = 0;   // byte offset within the scanned unit (decoded view offsets map back)
  std::string snippet;   // redacted: never contains the secret itself
  bool blocking = true;  // inbound injection: false for a lone phrase (warn), true when
                         // disclosure and jailbreak occur within 500 chars
};

struct ScannerConfig {
  // Literal values that must never leave: provisioned credentials and operator-listed
  // secrets. Matched in their encodings too (base64 x3 alignments, base64url, hex, percent).
  std::vector<std::string> known_secrets;
  // Values that are allowed to appear (the injected credential on its own header is
  // never scanned; this list covers the same value echoed elsewhere by design).
  std::vector<std::string> exempt_values;
};

class BodyScan;

class Scanner {
 public:
  static Result<std::shared_ptr<const Scanner>> build(const ScannerConfig& config);
  virtual ~Scanner() = default;

  // One complete unit: a URL, one header value, a commit message, a small body.
  virtual std::vector<Finding> scan(std::string_view data, Direction dir,
                                    std::string_view location) const = 0;

  // A body in chunks. The returned object is single-threaded and owned by the caller.
  virtual std::unique_ptr<BodyScan> open_body(Direction dir, std::string_view location) const = 0;
};

class BodyScan {
 public:
  virtual ~BodyScan() = default;
  // Feeds the next chunk; findings so far (new ones only) are appended to `out`.
  virtual void feed(std::string_view chunk, std::vector<Finding>& out) = 0;
  // End of body: flushes pending state and appends any last findings.
  virtual void finish(std::vector<Finding>& out) = 0;
};

}  // namespace bottle::dlp
