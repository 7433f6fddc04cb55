// The built-in detector table (SPEC §5). Each detector is one regex used twice: by
// Hyperscan as a fast prefilter over the whole input, then by RE2 on a small window
// around each Hyperscan hit to find the exact candidate, whose capture group 1 (or the
// whole match) is the secret handed to the validator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/dlp/scanner.h"

namespace bottle::dlp {

enum class DetectorKind { secret, mnemonic };

// How candidates are found: Hyperscan for patterns with a literal to anchor on; a
// SIMD character-class run (class_runs.h) for those without, which Hyperscan would
// scan byte by byte at a fraction of the speed.
enum class Gate : uint8_t { hyperscan, card_run, iban_run, base58_run, word_run };

struct Detector {
  std::string_view id;        // "secret.github_pat"
  std::string_view pattern;   // RE2 (and Hyperscan unless `prefilter` is set)
  std::string_view prefilter; // optional cheaper Hyperscan pattern that fires inside a match
  Severity severity;
  size_t max_len;             // longest match: bounds the validation window
  bool caseless = false;
  // Cuts false positives; gets the secret part of the match. Null: the pattern suffices.
  bool (*validate)(std::string_view secret) = nullptr;
  DetectorKind kind = DetectorKind::secret;
  Gate gate = Gate::hyperscan;
};

std::span<const Detector> secret_detectors();  // outbound

// Values people write where a secret would go in docs and templates ("<your-token>",
// "${API_KEY}", "changeme", "xxxx"). Documented example credentials (AWS's
// AKIAIOSFODNN7EXAMPLE and the like) are not placeholders: outbound they are findings
// like any other key, since the proxy cannot tell a drill from a leak (see
// documented_example for the few that are reported, without blocking, as examples).
bool looks_like_placeholder(std::string_view value);

// Values standards and manuals print as their examples (RFC 6749's tokens, the TOTP key of
// authenticator docs, a man page's WireGuard key, the keys of libmicrohttpd's examples),
// for the detectors that guess from a name and randomness or find a PEM key. Returns how
// many leading bytes of `value` (a detector's capture; `match`, its whole match) are such
// an example, 0 when none: the value is the example, or the example and then '&' and more
// query, which the caller checks on its own. Such a finding is
// `secret.documented_example` (warn by default): nobody's secret, yet still reported.
size_t documented_example(std::string_view detector, std::string_view value, std::string_view match);

}  // namespace bottle::dlp
