#include "common/encoded_run.h"

namespace bottle::log {
namespace {

bool is_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace

bool has_encoded_run(std::string_view text) {
  size_t run = 0;
  bool letter = false, digit = false;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && is_alnum(text[i])) {
      ++run;
      (text[i] <= '9' ? digit : letter) = true;
      continue;
    }
    if (run >= 16 && letter && digit) return true;
    run = 0;
    letter = digit = false;
  }
  return false;
}

std::string mask_encoded_runs(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (!is_alnum(text[i])) {
      out += text[i++];
      continue;
    }
    size_t end = i;
    while (end < text.size() && is_alnum(text[end])) ++end;
    const std::string_view run = text.substr(i, end - i);
    out.append(has_encoded_run(run) ? std::string_view("********") : run);
    i = end;
  }
  return out;
}

}  // namespace bottle::log
