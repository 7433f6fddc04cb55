#include "common/dlp/redact.h"

#include <algorithm>
#include <cctype>

namespace bottle::dlp {
namespace {

constexpr size_t kBefore = 16;
constexpr size_t kAfter = 8;

bool token_char(unsigned char c) { return std::isalnum(c) || c == '+' || c == '/' || c == '_' || c == '-'; }

// Printable ASCII only; runs of 6+ token characters containing a digit are masked
// because they may be part of another credential next to this one.
std::string safe_context(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (token_char(c)) {
      size_t j = i;
      bool digit = false;
      while (j < s.size() && token_char(static_cast<unsigned char>(s[j]))) {
        digit = digit || std::isdigit(static_cast<unsigned char>(s[j]));
        ++j;
      }
      if (j - i >= 6 && digit) {
        out += "***";
      } else {
        out.append(s.substr(i, j - i));
      }
      i = j;
      continue;
    }
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '.');
    ++i;
  }
  return out;
}

}  // namespace

std::string redacted_snippet(std::string_view text, size_t begin, size_t end, std::string_view view) {
  begin = std::min(begin, text.size());
  end = std::clamp(end, begin, text.size());
  const size_t from = begin > kBefore ? begin - kBefore : 0;
  const size_t to = std::min(text.size(), end + kAfter);
  std::string out;
  if (!view.empty()) {
    out += "[";
    out += view;
    out += "] ";
  }
  out += safe_context(text.substr(from, begin - from));
  out += "[REDACTED:" + std::to_string(end - begin) + "]";
  out += safe_context(text.substr(end, to - end));
  return out;
}

std::string printable_excerpt(std::string_view text, size_t max) {
  std::string out;
  for (unsigned char c : text.substr(0, max)) {
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : ' ');
  }
  return out;
}

}  // namespace bottle::dlp
