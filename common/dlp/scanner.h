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
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace bottle::dlp {

enum class Direction { outbound, inbound };  // outbound: secrets; inbound: prompt injection
enum class Severity { low, medium, high, critical };

struct Finding {
  std::string detector;  // "secret.github_pat", "known_secret", "exfil.host_labels", "injection.prompt", ...
  Severity severity = Severity::high;
  std::string location;  // "url", "header:<name>", "body", "response_body", "ws_frame", "<path>"
  uint64_t offset = 0;   // byte offset within the scanned unit (decoded view offsets map back)
  std::string snippet;   // redacted: never contains the secret itself
  bool blocking = true;  // false: report only (an injection verdict between the warn and
                         // block thresholds); routes.yaml dlp.detectors can lower it further
  int score = 0;         // injection.prompt: the verdict's score (thresholds: injection.h)
  std::vector<std::string> signals;  // injection.prompt: the signals that fired, with their
                                     // context ("override@hidden:comment", "reveal@quoted")
};

// The injection verdict's thresholds (the one place they live; common/dlp/README.md
// explains the scores): a cluster of signals scoring at least kInjectionWarnScore is an
// `injection.prompt` finding, blocking from kInjectionBlockScore on.
inline constexpr int kInjectionWarnScore = 6;
inline constexpr int kInjectionBlockScore = 10;

// What egress does with a detector's findings (routes.yaml `dlp.detectors`, SPEC §5):
// `off` drops them, `warn` logs them, `block` blocks when the finding is blocking.
enum class Action { off, warn, block };

struct DetectorInfo {
  std::string_view id;
  Direction direction;
  Severity severity;
  Action default_action;
};
// Every detector a finding can name, with its default action. (dlp.scan_error, the
// finding for a unit that could not be scanned, is not a detector: it always blocks.)
std::span<const DetectorInfo> detector_catalog();
const DetectorInfo* find_detector(std::string_view id);

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

  // Values that travel side by side (a request's header values, its query parameter
  // values), outbound: a secret cut into pieces across them. Reports only what no single
  // value holds (scan() each value for that).
  virtual std::vector<Finding> scan_split(std::span<const std::string_view> values,
                                          std::string_view location) const = 0;

  // The labels of a host name below the route's wildcard suffix ("<labels>.example.com"),
  // as the agent wrote them (case kept): data encoded into DNS labels (hex, base32,
  // base64url, chunked over labels, or random key material), `exfil.host_labels`.
  virtual std::vector<Finding> scan_host_labels(std::string_view labels, std::string_view location) const = 0;
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
