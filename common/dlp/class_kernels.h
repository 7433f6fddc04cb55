// The vector kernels behind the character-class pass (class_runs.h): one table of
// function pointers, filled once for the best instruction set the CPU has (AVX-512 VBMI,
// AVX2, or SSE2/portable; BOTTLE_DLP_ISA caps the choice, see cpu.h). Each kernel has
// the same contract on every path, so tests run all three (ctest DlpFallbackPath.*).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bottle::dlp::internal {

// Per-64-byte-block class bitmaps: bit i describes byte i of the block.
struct ClassMasks {
  uint64_t digit = 0, upper = 0, lower = 0;
  uint64_t b64 = 0;      // A-Z a-z 0-9 + / - _
  uint64_t space = 0;    // ' '
  uint64_t sep = 0;      // ' ' or '-' (card number separators)
  uint64_t escape = 0;   // '%' '&' '\\': may open a percent escape, an HTML entity, a JSON/C escape
  uint64_t high = 0;     // >= 0x80
  uint64_t pair_sep = 0; // ' ' ',' '-' '.' ':': separators between hex pairs ("41:4b", "41 4b")
};

// The base64 run starting at s[begin]: where it ends, whether every character is a hex
// digit, or in one case of the base32 alphabet (A-Z 2-7, a-z 2-7), and whether it holds a '/'.
struct RunShape {
  size_t end = 0;
  bool all_hex = true;
  bool all_base32 = true;        // upper case
  bool all_base32_lower = true;  // lower case
  bool has_slash = false;
};

struct ClassKernels {
  // Masks for `blocks` consecutive 64-byte blocks at p.
  void (*masks)(const uint8_t* p, size_t blocks, ClassMasks* out);
  // First index >= from that is not a base64 character (or s.size()).
  size_t (*span_end)(std::string_view s, size_t from);
  // Start of the base64 span that ends at `to`.
  size_t (*span_begin)(std::string_view s, size_t to);
  // Bits of '/' and of base58 characters in `blocks` blocks of s from i on (a block past
  // the end of s is filled from what is left).
  void (*run_bits)(std::string_view s, size_t i, size_t blocks, uint64_t* slash, uint64_t* base58);
  void (*run_shape)(std::string_view s, size_t begin, RunShape& out);
  // Bit k set: s[i + k] is a space, for the (up to) 64 bytes from i.
  uint64_t (*space_bits)(std::string_view s, size_t i);
};

// The table for this CPU (and BOTTLE_DLP_ISA), chosen when the program starts (no
// scan runs during static initialisation).
extern const ClassKernels kClassKernels;
inline const ClassKernels& class_kernels() { return kClassKernels; }

}  // namespace bottle::dlp::internal
