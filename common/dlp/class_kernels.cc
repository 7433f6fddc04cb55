#include "common/dlp/class_kernels.h"

#include <algorithm>
#include <array>

#include "common/dlp/checksums.h"
#include "common/dlp/cpu.h"
#include "common/dlp/engine.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BOTTLE_X86 1
#endif

namespace bottle::dlp::internal {
namespace {

constexpr std::array<bool, 256> make_base58() {
  std::array<bool, 256> t{};
  for (char c : kBase58Alphabet) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kBase58 = make_base58();

bool base64_byte(char c) { return (kCharClasses[static_cast<unsigned char>(c)] & kBase64Char) != 0; }

bool base32_byte(char c) { return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'); }
bool base32_lower_byte(char c) { return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'); }

// ---- portable (SSE2 where the compiler has it) ----------------------------------------

void masks_one_portable(const uint8_t* p, ClassMasks& mk) {
  mk = ClassMasks{};
#if defined(__SSE2__)
  for (int q = 0; q < 4; ++q) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * q));
    auto range = [&](char lo, char hi) {
      return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                           _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(hi + 1))));
    };
    auto eq = [&](char c) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); };
    const __m128i digit = range('0', '9'), upper = range('A', 'Z'), lower = range('a', 'z');
    const __m128i space = eq(' '), dash = eq('-');
    const __m128i b64 = _mm_or_si128(_mm_or_si128(_mm_or_si128(digit, upper), _mm_or_si128(lower, dash)),
                                     _mm_or_si128(_mm_or_si128(eq('+'), eq('/')), eq('_')));
    const int shift = 16 * q;
    auto bits = [&](__m128i x) {
      return static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(x))) << shift;
    };
    mk.digit |= bits(digit);
    mk.upper |= bits(upper);
    mk.lower |= bits(lower);
    mk.b64 |= bits(b64);
    mk.space |= bits(space);
    mk.sep |= bits(_mm_or_si128(space, dash));
    mk.escape |= bits(_mm_or_si128(_mm_or_si128(eq('%'), eq('&')), eq('\\')));
    mk.high |= bits(v);
    mk.pair_sep |= bits(_mm_or_si128(_mm_or_si128(space, range(',', '.')), eq(':')));
  }
#else
  for (int i = 0; i < 64; ++i) {
    const uint8_t c = p[i];
    const uint64_t b = uint64_t{1} << i;
    const bool digit = c >= '0' && c <= '9', upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z';
    if (digit) mk.digit |= b;
    if (upper) mk.upper |= b;
    if (lower) mk.lower |= b;
    if (digit || upper || lower || c == '+' || c == '/' || c == '-' || c == '_') mk.b64 |= b;
    if (c == ' ') mk.space |= b;
    if (c == ' ' || c == '-') mk.sep |= b;
    if (c == '%' || c == '&' || c == '\\') mk.escape |= b;
    if (c >= 0x80) mk.high |= b;
    if (c == ' ' || c == ',' || c == '-' || c == '.' || c == ':') mk.pair_sep |= b;
  }
#endif
}

void masks_portable(const uint8_t* p, size_t blocks, ClassMasks* out) {
  for (size_t k = 0; k < blocks; ++k) masks_one_portable(p + 64 * k, out[k]);
}

size_t span_end_portable(std::string_view s, size_t i) {
  while (i < s.size() && base64_byte(s[i])) ++i;
  return i;
}
size_t span_begin_portable(std::string_view s, size_t i) {
  while (i > 0 && base64_byte(s[i - 1])) --i;
  return i;
}

void run_bits_one_portable(std::string_view s, size_t i, uint64_t& slash, uint64_t& base58) {
  slash = base58 = 0;
  const size_t n = i < s.size() ? std::min<size_t>(64, s.size() - i) : 0;
  for (size_t k = 0; k < n; ++k) {
    slash |= static_cast<uint64_t>(s[i + k] == '/') << k;
    base58 |= static_cast<uint64_t>(kBase58[static_cast<unsigned char>(s[i + k])]) << k;
  }
}
void run_bits_portable(std::string_view s, size_t i, size_t blocks, uint64_t* slash, uint64_t* base58) {
  for (size_t k = 0; k < blocks; ++k) run_bits_one_portable(s, i + 64 * k, slash[k], base58[k]);
}

void run_shape_portable(std::string_view s, size_t i, RunShape& r) {
  for (; i < s.size(); ++i) {
    const uint8_t c = kCharClasses[static_cast<unsigned char>(s[i])];
    if ((c & kBase64Char) == 0) break;
    r.all_hex = r.all_hex && (c & kHexChar) != 0;
    r.all_base32 = r.all_base32 && base32_byte(s[i]);
    r.all_base32_lower = r.all_base32_lower && base32_lower_byte(s[i]);
    r.has_slash = r.has_slash || s[i] == '/';
  }
  r.end = i;
}

uint64_t space_bits_portable(std::string_view s, size_t i) {
  uint64_t bits = 0;
  size_t k = 0;
#if defined(__SSE2__)
  for (; k < 64 && i + k + 16 <= s.size(); k += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i + k));
    bits |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')))))
            << k;
  }
#endif
  for (; k < 64 && i + k < s.size(); ++k) bits |= static_cast<uint64_t>(s[i + k] == ' ') << k;
  return bits;
}

#if defined(BOTTLE_X86)
// ---- AVX2 -------------------------------------------------------------------------------

#define BOTTLE_AVX2 __attribute__((target("avx2")))
BOTTLE_AVX2 inline __m256i range256(__m256i v, char lo, char hi) {
  return _mm256_and_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8(static_cast<char>(lo - 1))),
                          _mm256_cmpgt_epi8(_mm256_set1_epi8(static_cast<char>(hi + 1)), v));
}
BOTTLE_AVX2 inline __m256i eq256(__m256i v, char c) { return _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c)); }
BOTTLE_AVX2 inline uint64_t bits256(__m256i x, int shift) {
  return static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(x))) << shift;
}

// Classes are combined in vector registers so each mask costs one movemask per lane.
BOTTLE_AVX2 void masks_avx2(const uint8_t* p, size_t blocks, ClassMasks* out) {
  for (size_t k = 0; k < blocks; ++k) {
    ClassMasks& mk = out[k];
    mk = ClassMasks{};
    for (int half = 0; half < 2; ++half) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 64 * k + 32 * half));
      const __m256i digit = range256(v, '0', '9'), upper = range256(v, 'A', 'Z'), lower = range256(v, 'a', 'z');
      const __m256i space = eq256(v, ' '), dash = eq256(v, '-');
      const __m256i b64 = _mm256_or_si256(
          _mm256_or_si256(_mm256_or_si256(digit, upper), _mm256_or_si256(lower, dash)),
          _mm256_or_si256(_mm256_or_si256(eq256(v, '+'), eq256(v, '/')), eq256(v, '_')));
      const int shift = 32 * half;
      mk.digit |= bits256(digit, shift);
      mk.upper |= bits256(upper, shift);
      mk.lower |= bits256(lower, shift);
      mk.b64 |= bits256(b64, shift);
      mk.space |= bits256(space, shift);
      mk.sep |= bits256(_mm256_or_si256(space, dash), shift);
      mk.escape |= bits256(_mm256_or_si256(_mm256_or_si256(eq256(v, '%'), eq256(v, '&')), eq256(v, '\\')), shift);
      mk.high |= bits256(v, shift);
      mk.pair_sep |= bits256(_mm256_or_si256(_mm256_or_si256(space, range256(v, ',', '.')), eq256(v, ':')), shift);
    }
  }
}

BOTTLE_AVX2 inline uint32_t b64_bits256(const char* p) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i b64 = _mm256_or_si256(
      _mm256_or_si256(_mm256_or_si256(range256(v, '0', '9'), range256(v, 'A', 'Z')),
                      _mm256_or_si256(range256(v, 'a', 'z'), eq256(v, '-'))),
      _mm256_or_si256(_mm256_or_si256(eq256(v, '+'), eq256(v, '/')), eq256(v, '_')));
  return static_cast<uint32_t>(_mm256_movemask_epi8(b64));
}

BOTTLE_AVX2 size_t span_end_avx2(std::string_view s, size_t i) {
  for (; i + 32 <= s.size(); i += 32) {
    const uint32_t miss = ~b64_bits256(s.data() + i);
    if (miss != 0) return i + static_cast<size_t>(__builtin_ctz(miss));
  }
  return span_end_portable(s, i);
}

BOTTLE_AVX2 size_t span_begin_avx2(std::string_view s, size_t i) {
  for (; i >= 32; i -= 32) {
    const uint32_t miss = ~b64_bits256(s.data() + i - 32);
    if (miss != 0) return i - static_cast<size_t>(__builtin_clz(miss));
  }
  return span_begin_portable(s, i);
}

BOTTLE_AVX2 void run_bits_avx2(std::string_view s, size_t i, size_t blocks, uint64_t* slash, uint64_t* base58) {
  for (size_t k = 0; k < blocks; ++k, i += 64) {
    if (i + 64 > s.size()) {
      run_bits_one_portable(s, i, slash[k], base58[k]);
      continue;
    }
    slash[k] = base58[k] = 0;
    for (int half = 0; half < 2; ++half) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s.data() + i + 32 * half));
      // base58: digits and letters except 0, O, I and l.
      const __m256i alnum =
          _mm256_or_si256(_mm256_or_si256(range256(v, '1', '9'), range256(v, 'A', 'Z')), range256(v, 'a', 'z'));
      const __m256i excluded = _mm256_or_si256(_mm256_or_si256(eq256(v, 'O'), eq256(v, 'I')), eq256(v, 'l'));
      slash[k] |= bits256(eq256(v, '/'), 32 * half);
      base58[k] |= bits256(_mm256_andnot_si256(excluded, alnum), 32 * half);
    }
  }
}

// ---- AVX-512 (F + BW; the table picks it only where VBMI exists too) --------------------

// One 64-byte register and one compare per class boundary: the masks come out of the
// compares directly, with no movemask per lane.
#define BOTTLE_AVX512 __attribute__((target("avx512f,avx512bw")))
BOTTLE_AVX512 inline __mmask64 range512(__m512i v, char lo, char hi) {
  return _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8(lo)), _mm512_set1_epi8(static_cast<char>(hi - lo)));
}
BOTTLE_AVX512 inline __mmask64 eq512(__m512i v, char c) { return _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(c)); }

// Every class of an ASCII byte as one byte of flags, looked up for all 64 bytes at once
// with a two-table byte permute (VBMI): one lookup and a bit test per mask instead of a
// compare per character and range (the kernel is the scan's single hottest function).
enum : uint8_t {
  kClsDigit = 1, kClsUpper = 2, kClsLower = 4, kClsB64Punct = 8, kClsSpace = 16, kClsDash = 32, kClsEscape = 64,
  kClsPairSep = 128
};
constexpr std::array<uint8_t, 128> make_ascii_classes() {
  std::array<uint8_t, 128> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] |= kClsDigit;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] |= kClsUpper;
  for (int c = 'a'; c <= 'z'; ++c) t[c] |= kClsLower;
  for (char c : std::string_view("+/-_")) t[static_cast<unsigned char>(c)] |= kClsB64Punct;
  t[' '] |= kClsSpace | kClsPairSep;
  t['-'] |= kClsDash | kClsPairSep;
  for (char c : std::string_view(",.:")) t[static_cast<unsigned char>(c)] |= kClsPairSep;
  for (char c : std::string_view("%&\\")) t[static_cast<unsigned char>(c)] |= kClsEscape;
  return t;
}
alignas(64) constexpr std::array<uint8_t, 128> kAsciiClasses = make_ascii_classes();

// The same for the shape of a base64 run (run_shape) and base64 spans.
enum : uint8_t { kShapeB64 = 1, kShapeHex = 2, kShapeB32Upper = 4, kShapeB32Lower = 8, kShapeSlash = 16 };
constexpr std::array<uint8_t, 128> make_shape_classes() {
  std::array<uint8_t, 128> t{};
  for (int c = 0; c < 128; ++c) {
    const bool digit = c >= '0' && c <= '9', upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z';
    if (digit || upper || lower || c == '+' || c == '/' || c == '-' || c == '_') t[c] |= kShapeB64;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) t[c] |= kShapeHex;
    if (upper || (c >= '2' && c <= '7')) t[c] |= kShapeB32Upper;
    if (lower || (c >= '2' && c <= '7')) t[c] |= kShapeB32Lower;
  }
  t['/'] |= kShapeSlash;
  return t;
}
alignas(64) constexpr std::array<uint8_t, 128> kShapeClasses = make_shape_classes();

#define BOTTLE_AVX512_VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))
BOTTLE_AVX512_VBMI inline __mmask64 test512(__m512i cls, uint8_t bits) {
  return _mm512_test_epi8_mask(cls, _mm512_set1_epi8(static_cast<char>(bits)));
}
// The class flags of 64 bytes from a 128-entry table (bytes >= 0x80 get none).
BOTTLE_AVX512_VBMI inline __m512i classes512(__m512i v, const std::array<uint8_t, 128>& table) {
  const __mmask64 high = _mm512_movepi8_mask(v);
  return _mm512_maskz_permutex2var_epi8(~high, _mm512_load_si512(table.data()), v, _mm512_load_si512(table.data() + 64));
}


BOTTLE_AVX512_VBMI void masks_avx512(const uint8_t* p, size_t blocks, ClassMasks* out) {
  for (size_t k = 0; k < blocks; ++k) {
    ClassMasks& mk = out[k];
    const __m512i v = _mm512_loadu_si512(p + 64 * k);
    const __mmask64 high = _mm512_movepi8_mask(v);
    const __m512i cls = classes512(v, kAsciiClasses);
    mk.digit = test512(cls, kClsDigit);
    mk.upper = test512(cls, kClsUpper);
    mk.lower = test512(cls, kClsLower);
    mk.b64 = test512(cls, kClsDigit | kClsUpper | kClsLower | kClsB64Punct);
    mk.space = test512(cls, kClsSpace);
    mk.sep = test512(cls, kClsSpace | kClsDash);
    mk.escape = test512(cls, kClsEscape);
    mk.high = high;
    mk.pair_sep = test512(cls, kClsPairSep);
  }
}

BOTTLE_AVX512_VBMI inline uint64_t b64_bits512(const char* p) {
  return test512(classes512(_mm512_loadu_si512(p), kShapeClasses), kShapeB64);
}

BOTTLE_AVX512_VBMI size_t span_end_avx512(std::string_view s, size_t i) {
  for (; i + 64 <= s.size(); i += 64) {
    const uint64_t miss = ~b64_bits512(s.data() + i);
    if (miss != 0) return i + static_cast<size_t>(__builtin_ctzll(miss));
  }
  return span_end_avx2(s, i);
}

BOTTLE_AVX512_VBMI size_t span_begin_avx512(std::string_view s, size_t i) {
  for (; i >= 64; i -= 64) {
    const uint64_t miss = ~b64_bits512(s.data() + i - 64);
    if (miss != 0) return i - static_cast<size_t>(__builtin_clzll(miss));
  }
  return span_begin_avx2(s, i);
}

BOTTLE_AVX512 void run_bits_avx512(std::string_view s, size_t i, size_t blocks, uint64_t* slash, uint64_t* base58) {
  for (size_t k = 0; k < blocks; ++k, i += 64) {
    if (i + 64 > s.size()) {
      run_bits_one_portable(s, i, slash[k], base58[k]);
      continue;
    }
    const __m512i v = _mm512_loadu_si512(s.data() + i);
    const __mmask64 alnum = range512(v, '1', '9') | range512(v, 'A', 'Z') | range512(v, 'a', 'z');
    slash[k] = eq512(v, '/');
    base58[k] = alnum & ~(eq512(v, 'O') | eq512(v, 'I') | eq512(v, 'l'));
  }
}

BOTTLE_AVX512_VBMI void run_shape_avx512(std::string_view s, size_t i, RunShape& r) {
  for (; i + 64 <= s.size(); i += 64) {
    const __m512i cls = classes512(_mm512_loadu_si512(s.data() + i), kShapeClasses);
    const uint64_t miss = ~static_cast<uint64_t>(test512(cls, kShapeB64));
    const uint64_t inside = miss == 0 ? ~uint64_t{0} : (uint64_t{1} << __builtin_ctzll(miss)) - 1;
    r.all_hex = r.all_hex && (inside & ~static_cast<uint64_t>(test512(cls, kShapeHex))) == 0;
    r.all_base32 = r.all_base32 && (inside & ~static_cast<uint64_t>(test512(cls, kShapeB32Upper))) == 0;
    r.all_base32_lower = r.all_base32_lower && (inside & ~static_cast<uint64_t>(test512(cls, kShapeB32Lower))) == 0;
    r.has_slash = r.has_slash || (inside & static_cast<uint64_t>(test512(cls, kShapeSlash))) != 0;
    if (miss != 0) {
      r.end = i + static_cast<size_t>(__builtin_ctzll(miss));
      return;
    }
  }
  run_shape_portable(s, i, r);
}
#endif

ClassKernels pick() {
#if defined(BOTTLE_X86)
  if (vector_isa() == Isa::avx512) {
    return {masks_avx512, span_end_avx512, span_begin_avx512, run_bits_avx512, run_shape_avx512, space_bits_portable};
  }
  if (vector_isa() == Isa::avx2) {
    return {masks_avx2, span_end_avx2, span_begin_avx2, run_bits_avx2, run_shape_portable, space_bits_portable};
  }
#endif
  return {masks_portable, span_end_portable, span_begin_portable, run_bits_portable, run_shape_portable,
          space_bits_portable};
}

}  // namespace

const ClassKernels kClassKernels = pick();

}  // namespace bottle::dlp::internal
