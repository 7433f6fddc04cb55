// Internals of the Scanner shared by block scans (scanner.cc) and body streams
// (body_scan.cc). Not part of the public API.
#pragma once

#include <hs/hs.h>
#include <re2/re2.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/dlp/detectors.h"
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
// decoding triggers (ClassScanner) live in their own ranges.
inline constexpr uint32_t kKnownBase = 1u << 20;
inline constexpr uint32_t kTriggerPercent = 1u << 24;
inline constexpr uint32_t kTriggerBase64 = kTriggerPercent + 1;
inline constexpr uint32_t kTriggerUnicode = kTriggerPercent + 2;
inline constexpr uint32_t kTriggerEscape = kTriggerPercent + 3;  // "&#", "\u", "\x", "\/"
inline constexpr uint32_t kTriggerHexRun = kTriggerPercent + 4;  // "41:4b:49", "41 4b 49"

inline constexpr int kMaxDecodeDepth = 4;       // base64(base64(base64(x))) plus one spare
inline constexpr size_t kInjectionWindow = 500;  // disclosure + jailbreak within this → block
inline constexpr size_t kMinBase64Run = 16;
inline constexpr size_t kMinHexRun = 16;
inline constexpr size_t kMaxFindingsPerCall = 1000;

struct Hit {
  uint32_t id;
  uint64_t end;       // one past the last byte of the match
  uint64_t last_end;  // triggers: adjacent hits are merged into one range
};

// Collects Hyperscan matches (detector and known-secret ids; decoding triggers come
// from ClassScanner, which merges adjacent ones).
struct HitCollector {
  std::vector<Hit>* hits;
  static int on_match(unsigned int id, unsigned long long, unsigned long long to, unsigned int, void* ctx);
};

struct CompiledDetector {
  const Detector* def;
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

class Engine final : public Scanner, public std::enable_shared_from_this<Engine> {
 public:
  static Result<std::shared_ptr<const Engine>> create(const ScannerConfig& config);

  std::vector<Finding> scan(std::string_view data, Direction dir, std::string_view location) const override;
  std::unique_ptr<BodyScan> open_body(Direction dir, std::string_view location) const override;

  // --- shared with body_scan.cc ---
  hs_scratch_t* scratch() const;  // this thread's clone of the prototype
  const hs_database_t* stream_db(Direction dir) const {
    return dir == Direction::outbound ? out_stream_.get() : in_stream_.get();
  }
  const CompiledDetector& detector(Direction dir, uint32_t id) const {
    return dir == Direction::outbound ? secret_[id] : injection_[id];
  }
  size_t detector_count(Direction dir) const {
    return dir == Direction::outbound ? secret_.size() : injection_.size();
  }
  size_t max_window() const { return max_window_; }
  const KnownEntry& known(uint32_t id) const { return known_[id - kKnownBase]; }

  // Validates one detector hit inside `window` (which starts at absolute offset
  // `window_abs`); returns the absolute end of the matched candidate (so later hits
  // inside it are skipped), or `hit_end` when nothing matched.
  // With `whole_window`, every match in the window counts (class-run regions).
  uint64_t confirm(Sink& sink, Direction dir, uint32_t id, std::string_view window, uint64_t window_abs,
                   uint64_t hit_end, const Origin* origin, bool whole_window = false) const;
  // Detector validated on class-run regions of this kind (card, iban, base58, words).
  uint32_t region_detector(size_t kind) const { return region_detector_[kind]; }
  void emit_known(Sink& sink, uint32_t id, std::string_view window, uint64_t window_abs, uint64_t hit_end,
                  const Origin* origin) const;
  // Decodes one word (percent, unicode, base64, hex views) and scans each view.
  void scan_word(Sink& sink, std::string_view word, const Origin& origin, int depth) const;
  // Marks injection findings blocking when the other kind is within kInjectionWindow.
  static void apply_injection_proximity(std::vector<Finding>& out, size_t from);

 private:
  // One block-mode Hyperscan pass of `db` over `text`; false when no scratch is available.
  bool block_hits(const hs_database_t* db, std::string_view text, std::vector<Hit>& hits) const;
  void scan_view(Sink& sink, std::string_view text, const Origin* origin, int depth) const;
  void scan_inbound(Sink& sink, std::string_view text) const;
  bool exempt(std::string_view secret) const;

  uint64_t id_;
  std::vector<CompiledDetector> secret_;
  std::vector<CompiledDetector> injection_;
  std::vector<KnownEntry> known_;
  std::vector<std::string> exempt_;
  size_t max_window_ = 0;
  size_t min_view_ = 12;  // shortest decoded view worth scanning (shortest detector match)
  std::array<uint32_t, 4> region_detector_{};
  HsDatabase out_block_, out_stream_, in_block_, in_stream_;
  HsScratch proto_;
};

// Byte classes for word splitting and encoded-run detection, one table lookup each.
inline constexpr uint8_t kDelimiter = 1, kBase64Char = 2, kHexChar = 4, kPercentChar = 8, kHighByte = 16;
constexpr std::array<uint8_t, 256> make_char_classes() {
  std::array<uint8_t, 256> t{};
  for (unsigned char c : std::string_view(" \t\r\n\f\v\"'`<>(){}[],;:=&?!|\\*#")) t[c] |= kDelimiter;
  for (int c = 0; c < 256; ++c) {
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    const bool digit = c >= '0' && c <= '9';
    if (alpha || digit || c == '+' || c == '/' || c == '_' || c == '-') t[c] |= kBase64Char;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) t[c] |= kHexChar;
    if (c >= 0x80) t[c] |= kHighByte;
  }
  t['%'] |= kPercentChar;
  return t;
}
inline constexpr std::array<uint8_t, 256> kCharClasses = make_char_classes();
inline bool is_word_delimiter(unsigned char c) { return (kCharClasses[c] & kDelimiter) != 0; }

// For the base64 trigger: is this complete base64/hex run worth finding its word and
// decoding? Random runs (hashes, UUIDs, inline images) are the common case and fail
// the text-shape tests; WIF-length runs and path-like runs always pass.
struct RunShape;  // class_kernels.h
bool run_worth_decoding(std::string_view run, const RunShape* shape = nullptr);  // shape: run_shape() of run

}  // namespace bottle::dlp::internal
