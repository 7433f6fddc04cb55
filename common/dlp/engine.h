// Internals of the Scanner shared by block scans (block_scan.cc), outbound body streams
// (body_scan.cc) and inbound scans (inbound_scan.cc). Not part of the public API.
#pragma once

#include <hs/hs.h>
#include <re2/re2.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/dlp/detectors.h"
#include "common/dlp/injection.h"
#include "common/dlp/scanner.h"

namespace bottle::dlp::internal {

struct HsDatabaseFree {
  void operator()(hs_database_t* db) const { hs_free_database(db); }
};
struct HsScratchFree {
  void operator()(hs_scratch_t* s) const { hs_free_scratch(s); }
};
struct HsStreamClose {
  void operator()(hs_stream_t* s) const { hs_close_stream(s, nullptr, nullptr, nullptr); }
};
using HsDatabase = std::unique_ptr<hs_database_t, HsDatabaseFree>;
using HsScratch = std::unique_ptr<hs_scratch_t, HsScratchFree>;
using HsStream = std::unique_ptr<hs_stream_t, HsStreamClose>;

// Hit ids: detectors index their table; known-secret encodings (Hyperscan) and the
// decoding triggers (ClassScanner, and Hyperscan for escapes) live in their own ranges.
inline constexpr uint32_t kKnownBase = 1u << 20;
inline constexpr uint32_t kTriggerPercent = 1u << 24;
inline constexpr uint32_t kTriggerBase64 = kTriggerPercent + 1;
inline constexpr uint32_t kTriggerUnicode = kTriggerPercent + 2;
inline constexpr uint32_t kTriggerEscape = kTriggerPercent + 3;  // "&#", "\\u", "\\x", "\\/", "\\n" in base64
inline constexpr uint32_t kTriggerHexRun = kTriggerPercent + 4;  // "41:4b:49", "41 4b 49"

inline constexpr int kMaxDecodeDepth = 4;  // base64(base64(base64(x))) plus one spare
inline constexpr size_t kMinBase64Run = 16;
inline constexpr size_t kMinHexRun = 16;
inline constexpr size_t kMaxFindingsPerCall = 1000;
// A payload sent without Content-Encoding but compressed (sniffed by its magic bytes) is
// scanned decompressed up to this many bytes, like a Content-Encoding body in egress.
inline constexpr size_t kMaxSniffedOutput = 64u << 20;
// Compressed data inside a decoded view (base64 of gzip) is inflated up to this.
inline constexpr size_t kMaxViewInflate = 1u << 20;
// How far left a word may start before its trigger, in a stream.
inline constexpr size_t kWordLookback = 512;

struct Hit {
  uint32_t id;
  uint64_t end;       // one past the last byte of the match
  uint64_t last_end;  // triggers: adjacent hits are merged into one range
};

// Collects Hyperscan matches (detector, known-secret, escape-trigger and signal ids;
// the other decoding triggers come from ClassScanner, which merges adjacent ones).
struct HitCollector {
  std::vector<Hit>* hits;
  static int on_match(unsigned int id, unsigned long long, unsigned long long to, unsigned int, void* ctx);
};

struct CompiledDetector {
  const Detector* def;
  std::unique_ptr<RE2> re;
};

struct CompiledSignal {
  const SignalPattern* def;
  std::unique_ptr<RE2> re;
};

struct KnownEntry {
  size_t length;
  std::string_view encoding;
};

// Where a view's findings point: the raw unit's byte range the view was decoded from.
struct Origin {
  uint64_t begin = 0;
  uint64_t end = 0;
  std::string how;  // "", "base64", "percent>base64", ...
};

// Output of one scan call with its deduplication rule.
struct Sink {
  std::vector<Finding>* out;
  std::string_view location;
  size_t first_new;  // findings before this index belong to earlier calls
  void add(Finding f, const Origin* origin);
};

// The finding for a unit that could not be scanned (fail closed), for block scans and
// streams alike.
Finding scan_error(std::string_view location, uint64_t offset, std::string_view why);
// A stream that cannot be scanned reports that once ("body could not be scanned" at
// `offset`), however many chunks follow.
void report_stream_error(bool& reported, std::string_view location, uint64_t offset, std::vector<Finding>& out);
// A stream's retained tail after `chunk`: the last `max` bytes of tail + chunk, for the
// windows and words that straddle the next chunk boundary.
void keep_tail(std::string& tail, std::string_view chunk, size_t max);

// Bytes of the input a scan can see, by absolute offset: one contiguous text (block
// scans), or a body's retained tail followed by its current chunk (streams).
class Window {
 public:
  explicit Window(std::string_view text) : chunk_(text) {}
  Window(std::string_view tail, std::string_view chunk, uint64_t chunk_abs)
      : tail_(tail), chunk_(chunk), chunk_abs_(chunk_abs) {}

  uint64_t begin() const { return chunk_abs_ - tail_.size(); }
  uint64_t end() const { return chunk_abs_ + chunk_.size(); }
  uint64_t chunk_begin() const { return chunk_abs_; }
  std::string_view chunk() const { return chunk_; }
  char at(uint64_t p) const {
    return p >= chunk_abs_ ? chunk_[static_cast<size_t>(p - chunk_abs_)]
                           : tail_[static_cast<size_t>(p - begin())];
  }
  // [a, b) clamped to the window: a view into the chunk when it lies there, else a copy in `buf`.
  std::string_view slice(uint64_t a, uint64_t b, std::string& buf) const;

 private:
  std::string_view tail_, chunk_;
  uint64_t chunk_abs_ = 0;
};

// How a trigger's word is delimited and decoded.
enum class WordKind : uint8_t { plain, escaped, hex_groups };
inline constexpr size_t kWordKinds = 3;
inline WordKind word_kind(uint32_t trigger) {
  return trigger == kTriggerEscape ? WordKind::escaped : trigger == kTriggerHexRun ? WordKind::hex_groups : WordKind::plain;
}
// Base64 wrapped at kMinWrapWidth..kMaxWrapWidth columns is joined across its line breaks.
inline constexpr uint64_t kMinWrapWidth = 40, kMaxWrapWidth = 256;

// Byte classes for word splitting and encoded-run detection, one table lookup each.
inline constexpr uint8_t kDelimiter = 1, kBase64Char = 2, kHexChar = 4, kPercentChar = 8, kHighByte = 16,
                         kEscapeDelimiter = 32, kHexGroupChar = 64;
constexpr std::array<uint8_t, 256> make_char_classes() {
  std::array<uint8_t, 256> t{};
  for (unsigned char c : std::string_view(" \t\r\n\f\v\"'`<>(){}[],;:=&?!|\\*#")) t[c] |= kDelimiter;
  for (unsigned char c : std::string_view(" \t\r\n\f\v\"'`<>(){}[],|")) t[c] |= kEscapeDelimiter;
  for (unsigned char c : std::string_view("xX :,.-\\")) t[c] |= kHexGroupChar;
  for (int c = 0; c < 256; ++c) {
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    const bool digit = c >= '0' && c <= '9';
    if (alpha || digit || c == '+' || c == '/' || c == '_' || c == '-') t[c] |= kBase64Char;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) t[c] |= kHexChar | kHexGroupChar;
    if (c >= 0x80) t[c] |= kHighByte;
  }
  t['%'] |= kPercentChar;
  return t;
}
inline constexpr std::array<uint8_t, 256> kCharClasses = make_char_classes();
inline bool is_word_delimiter(unsigned char c) { return (kCharClasses[c] & kDelimiter) != 0; }
inline bool is_delimiter(unsigned char c, WordKind kind) {
  switch (kind) {
    case WordKind::plain: return (kCharClasses[c] & kDelimiter) != 0;
    case WordKind::escaped: return (kCharClasses[c] & kEscapeDelimiter) != 0;
    case WordKind::hex_groups: return (kCharClasses[c] & kHexGroupChar) == 0;
  }
  return true;
}

// Word bounds in a window. A plain word continues over the line break of a base64 block
// wrapped at 40+ columns (MIME, PEM, `base64` output), so the block decodes as one.
// Unless `final`, word_end returns end() for a word that may go on past the window (a
// stream keeps it open), and *resume is where to look again once more bytes are in: the
// window's end, or a line break whose next line is not there yet.
uint64_t word_begin(const Window& w, uint64_t p, uint64_t lowest, WordKind kind);
uint64_t word_end(const Window& w, uint64_t p, uint64_t word_start, WordKind kind, bool final,
                  uint64_t* resume = nullptr);

// For the base64 trigger: is this complete base64/hex run worth finding its word and
// decoding? Random runs (hashes, UUIDs, inline images) are the common case and fail
// the text-shape tests; WIF-length runs and path-like runs always pass.
struct RunShape;  // class_kernels.h
bool run_worth_decoding(std::string_view run, const RunShape& shape);  // shape: run_shape() of run
// run_worth_decoding for the run a base64 trigger fired in (true for other triggers, and
// while a stream's run may still go on).
bool base64_run_worth(const Window& w, const Hit& h, bool final);

// The one word walk around decoding triggers, for block scans and streams alike: for each
// trigger (sorted by end), every word of its kind overlapping [end-1, last_end-1], each
// visited once (`done`, per kind, carries across calls); a base64 trigger in a random run
// is skipped. A word starts at most `lookback` bytes before its trigger. on_word(begin,
// end, resume, kind) sees end == w.end() for a word that may go on past the window
// (word_end's `resume`); returning false stops the walk.
template <typename OnWord>
void for_each_trigger_word(const Window& w, std::span<const Hit> triggers, std::array<uint64_t, kWordKinds>& done,
                           uint64_t lookback, bool final, OnWord on_word) {
  for (const Hit& h : triggers) {
    const WordKind kind = word_kind(h.id);
    uint64_t& words_done = done[static_cast<size_t>(kind)];
    if (h.last_end <= words_done || h.last_end <= w.begin() || !base64_run_worth(w, h, final)) continue;
    uint64_t p = std::max<uint64_t>(h.end - 1, w.begin());
    const uint64_t last = h.last_end - 1;
    while (p <= last && p < w.end()) {
      if (p < words_done) {
        p = words_done;
        continue;
      }
      if (is_delimiter(static_cast<unsigned char>(w.at(p)), kind)) {
        ++p;
        continue;
      }
      const uint64_t b = std::max(word_begin(w, p, p > lookback ? p - lookback : 0, kind), words_done);
      uint64_t resume = 0;
      const uint64_t e = word_end(w, p, b, kind, final, &resume);
      if (!on_word(b, e, resume, kind)) return;
      words_done = e;
      p = e;
    }
  }
}

// The bytes validating a hit needs, around its end.
struct HitWindow {
  uint64_t from, to;
};

class Engine final : public Scanner, public std::enable_shared_from_this<Engine> {
 public:
  static Result<std::shared_ptr<const Engine>> create(const ScannerConfig& config);

  std::vector<Finding> scan(std::string_view data, Direction dir, std::string_view location) const override;
  std::unique_ptr<BodyScan> open_body(Direction dir, std::string_view location) const override;
  std::vector<Finding> scan_split(std::span<const std::string_view> values, std::string_view location) const override;
  std::vector<Finding> scan_host_labels(std::string_view labels, std::string_view location) const override;

  // Inbound bodies and units (inbound_scan.cc): normalized, then judged for injection.
  std::unique_ptr<BodyScan> open_inbound(std::string_view location) const;

  // --- shared with body_scan.cc and inbound_scan.cc ---
  hs_scratch_t* scratch() const;  // this thread's clone of the prototype
  const hs_database_t* stream_db(Direction dir) const {
    return dir == Direction::outbound ? out_stream_.get() : in_stream_.get();
  }
  size_t detector_count() const { return secret_.size(); }
  const KnownEntry& known(uint32_t id) const { return known_[id - kKnownBase]; }
  const CompiledSignal& signal(uint32_t id) const { return signals_[id]; }
  size_t signal_count() const { return signals_.size(); }
  size_t max_window() const { return max_window_; }
  size_t max_signal_len() const { return max_signal_len_; }

  // Outbound: the bytes validating hit `h` needs (a detector's longest match before its
  // end and after it, or a known-secret encoding with a little context).
  HitWindow hit_window(const Hit& h) const;
  // Validates one detector or known-secret hit inside `window` (which starts at `window_abs`;
  // HitWindow bytes); `covered[id]` skips hits inside a candidate already reported.
  void confirm_hit(Sink& sink, const Hit& h, std::string_view window, uint64_t window_abs, const Origin* origin,
                   std::vector<uint64_t>& covered) const;
  // Validates the class-run region [begin, end) (card, IBAN, BIP-39 words) inside `window`.
  void confirm_region(Sink& sink, size_t kind, std::string_view window, uint64_t window_abs, uint64_t region_begin,
                      uint64_t region_end, const Origin* origin) const;
  // Decodes one word (percent, unicode, base64, base32, hex, escapes) and scans each view.
  void scan_word(Sink& sink, std::string_view word, WordKind kind, const Origin& origin, int depth) const;
  // A decoded view: inflated when compressed, converted when UTF-16/32, then scanned when it is text.
  void scan_decoded(Sink& sink, std::string_view decoded, const Origin& from, std::string_view how, int depth) const;

 private:
  // Validates one detector hit inside `window`; returns the absolute end of the matched
  // candidate (so later hits inside it are skipped), or `hit_end` when nothing matched.
  // With `whole_window`, every match in the window counts (class-run regions).
  uint64_t confirm(Sink& sink, uint32_t id, std::string_view window, uint64_t window_abs, uint64_t hit_end,
                   const Origin* origin, bool whole_window = false) const;
  void emit_known(Sink& sink, uint32_t id, std::string_view window, uint64_t window_abs, uint64_t hit_end,
                  const Origin* origin) const;
  // One block-mode Hyperscan pass of `db` over `text`; false when no scratch is available.
  bool block_hits(const hs_database_t* db, std::string_view text, std::vector<Hit>& hits) const;
  void scan_view(Sink& sink, std::string_view text, const Origin* origin, int depth) const;
  bool exempt(std::string_view secret) const;

  uint64_t id_;
  std::vector<CompiledDetector> secret_;
  std::vector<CompiledSignal> signals_;
  std::vector<KnownEntry> known_;
  std::vector<std::string> exempt_;
  size_t max_window_ = 0;
  size_t max_signal_len_ = 0;
  size_t min_view_ = 12;  // shortest decoded view worth scanning (shortest detector match)
  std::array<uint32_t, 4> region_detector_{};
  HsDatabase out_block_, out_stream_, in_stream_;
  HsScratch proto_;
};

}  // namespace bottle::dlp::internal
