// The forms of a known secret that the scanner matches literally (SPEC §5 `known_secret`):
// the value in any case, reversed, ROT13'd and with a separator between its characters;
// hex (either case); full percent-encoding; and the stable inner part of its
// base64/base64url text at each of the three byte alignments, so a secret embedded
// anywhere inside a larger base64 blob still matches. Other encodings of these forms are
// found by the decoded views (base64 of the reversed value decodes to a literal here).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bottle::dlp {

struct KnownPattern {
  std::string literal;
  bool caseless = false;
  std::string_view encoding;  // "raw", "reversed", "rot13", "separated", "hex", "percent", "base64", "base64url"
};

// Secrets shorter than this are too likely to occur by chance to match literally.
inline constexpr size_t kMinKnownSecret = 4;
// Base64 fragments only carry signal from this many secret bytes on.
inline constexpr size_t kMinKnownSecretBase64 = 8;

std::vector<KnownPattern> known_secret_patterns(std::string_view secret);

// Plain base64 (standard alphabet, with padding): used by tests and by the encoder above.
std::string base64_encode(std::string_view in, bool url = false, bool pad = true);

}  // namespace bottle::dlp
