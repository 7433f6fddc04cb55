// Evidence snippets that never carry the secret: a little context on each side of the
// match, the match itself replaced by a marker, and any long token-like run in the
// context (which could be a neighbouring secret) masked too.
#pragma once

#include <string>
#include <string_view>

namespace bottle::dlp {

// `text[begin, end)` is the secret. `view` names the decoding that exposed it ("" for
// the raw input, "base64", "percent>base64", ...).
std::string redacted_snippet(std::string_view text, size_t begin, size_t end, std::string_view view);

// For non-secret evidence (injection phrases): printable, bounded to `max` bytes.
std::string printable_excerpt(std::string_view text, size_t max);

}  // namespace bottle::dlp
