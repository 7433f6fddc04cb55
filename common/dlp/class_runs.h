// Character-class runs found 64 bytes at a time with SIMD masks, for the detectors
// Hyperscan is slow at (no literal to anchor on: card numbers, IBANs, base58 keys,
// BIP-39 word runs) and for the cheap "this word may be encoded" triggers (base64/hex
// runs, '%' escapes, non-ASCII bytes). Streams: state carries across feed() calls.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/dlp/class_kernels.h"
#include "common/dlp/engine.h"

namespace bottle::dlp::internal {

enum class RunKind : uint8_t { card, iban, base58, words };
struct KindSpec;
inline constexpr size_t kRunKinds = 4;

// A maximal run of one class that reached the kind's minimum length, [begin, end).
struct Region {
  RunKind kind;
  uint64_t begin;
  uint64_t end;
};

// Cheap necessary condition checked before validating a region: a card number starts
// (at the region start or after a separator) with an issuer digit 2-6, which UUID and
// timestamp digit runs mostly do not; a BIP-39 phrase has at least eleven spaces.
bool region_may_match(std::string_view region, RunKind kind);

// Base64-alphabet spans (A-Z a-z 0-9 + / - _), 32 bytes per step where AVX2 exists:
// inline images and long tokens make byte-by-byte walks over them the hot loop.
// base64_span_end: first index >= from that is not a base64 character (or s.size()).
// base64_span_begin: start of the base64 span that ends at `to` (to itself when s[to-1] is not).
size_t base64_span_end(std::string_view s, size_t from);
size_t base64_span_begin(std::string_view s, size_t to);

// For finding WIF-shaped pieces and path segments of a base64 run, with vector compares
// where AVX2 exists. Call run_masks for i = 0, 64 * kBlocks, ... of one run with the same
// RunMasks (it carries stretches across calls); it fills `blocks` blocks from i on.
// For block k, s[i + 64k, +64): bit j of slash[k] is set when s[i + 64k + j] is '/', bit j
// of wif_ends[k] when it is the 51st character of a stretch of base58 characters (the
// shortest WIF key).
struct RunMasks {
  static constexpr size_t kBlocks = 16;
  size_t blocks = 0;
  std::array<uint64_t, kBlocks> slash{}, wif_ends{};
  uint64_t clean = 0, long_clean = 0;  // carried: base58 bits, and 51-long stretches
};
void run_masks(std::string_view s, size_t i, RunMasks& masks);
bool is_base58(char c);

// The shape of the base64 run starting at s[begin] (class_kernels.h). One vector step
// covers a hash or an id.
RunShape run_shape(std::string_view s, size_t begin);

// Word bounds around a non-delimiter byte (see is_word_delimiter), skipping base64 spans fast.
size_t word_begin(std::string_view s, size_t p);
size_t word_end(std::string_view s, size_t p);

class ClassScanner {
 public:
  // Triggers are appended as Hits (kTrigger* ids, merged when adjacent); regions
  // are reported once the run has ended.
  void feed(std::string_view data, std::vector<Hit>& triggers, std::vector<Region>& regions);
  void finish(std::vector<Hit>& triggers, std::vector<Region>& regions);

 private:
  struct RunState {
    uint64_t prev = 0;        // previous block's class mask
    bool prev_long = false;   // last byte of previous block was >= minimum length into a run
    bool open = false;
    uint64_t start = 0;
  };
  static constexpr size_t kBatch = 16;  // blocks whose masks are computed in one call
  // One 64-byte block at p; p[0, readable) are real bytes (readable may pass 64).
  void block(const uint8_t* p, size_t readable, const ClassMasks& mk, std::vector<Hit>& triggers,
             std::vector<Region>& regions);
  template <size_t K>
  void classify(uint64_t m, RunKind kind, std::vector<Region>& regions);
  // `m`: this block's class mask; `r`: positions at least the minimum length into a run.
  void run_class(RunState& st, uint64_t m, uint64_t r, const KindSpec& spec, RunKind kind,
                 std::vector<Region>& regions);

  uint64_t pos_ = 0;  // absolute offset of the next block
  std::array<uint8_t, 64> pending_{};
  size_t pending_len_ = 0;
  uint64_t prev_b64_ = 0;
  bool prev_b64_long_ = false;
  bool prev_digit_ = false, prev_alnum_upper_ = false;
  uint64_t prev_lower_ = 0;  // previous block's lowercase mask
  uint64_t prev_hex_ = 0, prev_hex_sep_ = 0, prev_paired_ = 0;  // hex-pair runs
  bool prev_paired_long_ = false;
  std::array<RunState, kRunKinds> runs_{};
};

}  // namespace bottle::dlp::internal
