// Small text helpers every component needs once: joining, splitting a list, reading a
// port. Byte-level and locale-free (see ascii.h for case mapping).
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bottle {

// POSIX shell single-quoting: the value comes back as one word, whatever it holds.
inline std::string shell_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// "a, b, c" from {"a", "b", "c"} and ", ".
inline std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

// Splits on `sep`, trims spaces and tabs off each piece and drops the empty ones:
// " a, ,b " gives {"a", "b"}.
inline std::vector<std::string> split_trim(std::string_view text, char sep) {
  std::vector<std::string> out;
  while (true) {
    const size_t at = text.find(sep);
    std::string_view piece = text.substr(0, at);
    while (!piece.empty() && (piece.front() == ' ' || piece.front() == '\t')) piece.remove_prefix(1);
    while (!piece.empty() && (piece.back() == ' ' || piece.back() == '\t')) piece.remove_suffix(1);
    if (!piece.empty()) out.emplace_back(piece);
    if (at == std::string_view::npos) return out;
    text.remove_prefix(at + 1);
  }
}

// A TCP port written as decimal digits only: 1-65535, or 0-65535 with `allow_zero`
// (a listener asking the kernel to pick). Signs, spaces and leading '+' are refused.
inline std::optional<uint16_t> parse_port(std::string_view text, bool allow_zero = false) {
  unsigned v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || p != end || v > 65535 || (v == 0 && !allow_zero)) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(v);
}

}  // namespace bottle
