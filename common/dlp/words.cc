// Words around decoding triggers: their bounds in a Window, shared by block scans and
// streams (engine.h, for_each_trigger_word).
#include <algorithm>

#include "common/dlp/class_runs.h"
#include "common/dlp/engine.h"

namespace bottle::dlp::internal {
namespace {

bool base64_char(char c) { return (kCharClasses[static_cast<unsigned char>(c)] & kBase64Char) != 0; }

// Word bounds inside one contiguous view. Plain words skip whole base64 spans at once
// (base64 characters are never delimiters).
size_t begin_in(std::string_view s, size_t p, WordKind kind) {
  if (kind == WordKind::plain) return word_begin(s, p);
  while (p > 0 && !is_delimiter(static_cast<unsigned char>(s[p - 1]), kind)) --p;
  return p;
}
size_t end_in(std::string_view s, size_t p, WordKind kind) {
  if (kind == WordKind::plain) return word_end(s, p);
  while (p < s.size() && !is_delimiter(static_cast<unsigned char>(s[p]), kind)) ++p;
  return p;
}

}  // namespace

uint64_t word_begin(const Window& w, uint64_t p, uint64_t lowest, WordKind kind) {
  lowest = std::max(lowest, w.begin());
  uint64_t b = p;
  if (b > w.chunk_begin()) b = w.chunk_begin() + begin_in(w.chunk(), static_cast<size_t>(b - w.chunk_begin()), kind);
  while (b > lowest && !is_delimiter(static_cast<unsigned char>(w.at(b - 1)), kind)) --b;
  return std::max(b, lowest);
}

uint64_t word_end(const Window& w, uint64_t p, uint64_t word_start, WordKind kind, bool final, uint64_t* resume) {
  const std::string_view chunk = w.chunk();
  if (resume != nullptr) *resume = w.end();
  uint64_t e = p;
  for (;;) {
    while (e < w.chunk_begin() && !is_delimiter(static_cast<unsigned char>(w.at(e)), kind)) ++e;
    if (e >= w.chunk_begin()) e = w.chunk_begin() + end_in(chunk, static_cast<size_t>(e - w.chunk_begin()), kind);
    if (e >= w.end() || kind != WordKind::plain) return e;
    const char c = w.at(e);
    if (c != '\r' && c != '\n') return e;
    // A line break inside wrapped base64: the line so far is a whole number of 4-character
    // groups of base64, at least kMinWrapWidth wide, and the next line goes on with it.
    uint64_t line = e;
    while (line > std::max(word_start, w.begin()) && w.at(line - 1) != '\n' && e - line <= kMaxWrapWidth) --line;
    const uint64_t width = e - line;
    if (width < kMinWrapWidth || width > kMaxWrapWidth || width % 4 != 0) return e;
    for (uint64_t k = line; k < e; ++k) {
      if (!base64_char(w.at(k))) return e;
    }
    // The next line is another line of the block: as wide, or the last one (narrower,
    // then padding or a line break). A stream that cannot see it yet leaves it undecided.
    auto undecided = [&] {
      if (final) return e;
      if (resume != nullptr) *resume = e;
      return w.end();
    };
    uint64_t next = e + (c == '\r' ? 1 : 0);
    if (next >= w.end()) return undecided();
    if (w.at(next) != '\n') return e;
    ++next;
    uint64_t q = next;
    while (q < w.end() && base64_char(w.at(q))) ++q;
    const uint64_t next_width = q - next;
    if (next_width == 0 && next < w.end()) return e;
    if (next_width > width) return e;
    if (q >= w.end()) {
      if (!final) return undecided();
      return next_width >= 4 ? w.end() : e;  // the text's last line
    }
    const char after = w.at(q);
    if (after != '=' && after != '\r' && after != '\n') return e;
    e = next;
  }
}

bool base64_run_worth(const Window& w, const Hit& h, bool final) {
  if (h.id != kTriggerBase64 || h.last_end != h.end || h.end < kMinBase64Run + w.begin()) return true;
  const uint64_t begin = h.end - kMinBase64Run;
  std::string buf;
  if (begin >= w.chunk_begin()) {
    const std::string_view chunk = w.chunk();
    const size_t rel = static_cast<size_t>(begin - w.chunk_begin());
    const RunShape shape = run_shape(chunk, rel);
    if (shape.end == chunk.size() && !final) return true;  // the run goes on: decided when its word closes
    return run_worth_decoding(chunk.substr(rel, shape.end - rel), shape);
  }
  uint64_t end = h.end;
  while (end < w.end() && base64_char(w.at(end))) ++end;
  if (end == w.end() && !final) return true;
  // The run began in an earlier chunk: its shape over the whole run (a base32 run's
  // shape decides whether it is tried as base32).
  const std::string_view run = w.slice(begin, end, buf);
  return run_worth_decoding(run, run_shape(run, 0));
}

}  // namespace bottle::dlp::internal
