#include "common/dlp/class_runs.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/dlp/checksums.h"
#include "common/dlp/cpu.h"
#include "common/dlp/decode.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace bottle::dlp::internal {

struct KindSpec {
  unsigned min_len;
  size_t max_len;  // longer runs cannot hold a match (or are too costly to validate)
};

namespace {

constexpr unsigned kMinBase64 = 16;
// card: 13..19 digits with single separators; iban: up to 34 chars plus spaces (and a
// leading word); base58: unused here (see block()); words: 12..24 BIP-39 words.
constexpr KindSpec kSpecs[kRunKinds] = {{13, 64}, {15, 128}, {51, 128}, {47, 4096}};

// Bit i of the result: bytes i-N+1 .. i are all in the class (1 <= N <= 64), looking
// back into the previous block's mask. N is a template argument so every shift is
// constant. Windows inside the block are an AND of shifted copies of `m` (64-bit, the
// shifted-in zeros clear bits below N-1); windows reaching back are the leading run of
// `m` continuing the previous block's trailing run, computed from two bit counts.
template <unsigned N>
inline uint64_t at_least(uint64_t prev, uint64_t m) {
  static_assert(N >= 1 && N <= 64);
  uint64_t acc = ~uint64_t{0}, pow = m;
  unsigned have = 0;
  [&]<unsigned... I>(std::integer_sequence<unsigned, I...>) {
    (([&] {
       if constexpr (((N >> I) & 1) != 0) {
         acc &= pow << have;  // have < N - 2^I < 64
         have += 1u << I;
       }
       if constexpr ((1u << I) < 64) pow &= pow << (1u << I);
     }()),
     ...);
  }(std::make_integer_sequence<unsigned, 7>{});
  const unsigned carry = ~prev == 0 ? 64 : static_cast<unsigned>(__builtin_clzll(~prev));
  const unsigned lead = ~m == 0 ? 64 : static_cast<unsigned>(__builtin_ctzll(~m));
  const unsigned lo = carry >= N - 1 ? 0 : N - 1 - carry;
  const unsigned hi = lead < N - 1 ? lead : N - 1;
  if (hi > lo) acc |= ((uint64_t{1} << hi) - 1) & ~((uint64_t{1} << lo) - 1);  // hi <= 63
  return acc;
}

inline int ctz(uint64_t v) { return __builtin_ctzll(v); }

void add_trigger(std::vector<Hit>& out, uint32_t id, uint64_t pos) {
  for (size_t k = out.size(); k > 0 && out.size() - k < 4; --k) {
    Hit& h = out[k - 1];
    if (h.id == id && pos + 1 <= h.last_end + 4) {
      h.last_end = pos + 1;
      return;
    }
  }
  out.push_back({id, pos + 1, pos + 1});
}

}  // namespace

struct ClassScanner::Masks {
  uint64_t digit = 0, upper = 0, lower = 0, b64 = 0, space = 0, sep = 0, percent = 0, high = 0;
};

namespace {

using Masks = ClassScanner::Masks;

#if defined(__x86_64__) || defined(__i386__)
// Classes are combined in vector registers so each mask costs one movemask per lane.
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
BOTTLE_AVX2 inline void masks_avx2_one(const uint8_t* p, Masks& mk) {
  for (int half = 0; half < 2; ++half) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * half));
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
    mk.percent |= bits256(eq256(v, '%'), shift);
    mk.high |= bits256(v, shift);
  }
}

// One 64-byte register and one compare per class boundary: the masks come out of the
// compares directly, with no movemask per lane.
#define BOTTLE_AVX512 __attribute__((target("avx512f,avx512bw")))
BOTTLE_AVX512 inline __mmask64 range512(__m512i v, char lo, char hi) {
  return _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8(lo)), _mm512_set1_epi8(static_cast<char>(hi - lo)));
}
BOTTLE_AVX512 inline __mmask64 eq512(__m512i v, char c) { return _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(c)); }

BOTTLE_AVX512 inline void masks_avx512_one(const uint8_t* p, Masks& mk) {
  const __m512i v = _mm512_loadu_si512(p);
  const __mmask64 digit = range512(v, '0', '9'), upper = range512(v, 'A', 'Z'), lower = range512(v, 'a', 'z');
  const __mmask64 space = eq512(v, ' '), dash = eq512(v, '-');
  mk.digit = digit;
  mk.upper = upper;
  mk.lower = lower;
  mk.b64 = digit | upper | lower | dash | eq512(v, '+') | eq512(v, '/') | eq512(v, '_');
  mk.space = space;
  mk.sep = space | dash;
  mk.percent = eq512(v, '%');
  mk.high = _mm512_movepi8_mask(v);
}
#endif

inline void masks_sse2_one(const uint8_t* p, Masks& mk) {
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
    mk.percent |= bits(eq('%'));
    mk.high |= bits(v);
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
    if (c == '%') mk.percent |= b;
    if (c >= 0x80) mk.high |= b;
  }
#endif
}

// Masks for `blocks` consecutive 64-byte blocks: one call per batch, so the class
// constants stay in registers instead of being broadcast again for every block.
#if defined(__x86_64__) || defined(__i386__)
BOTTLE_AVX2 void masks_avx2(const uint8_t* p, size_t blocks, Masks* out) {
  for (size_t k = 0; k < blocks; ++k) {
    out[k] = Masks{};  // the helpers OR lanes in
    masks_avx2_one(p + 64 * k, out[k]);
  }
}
BOTTLE_AVX512 void masks_avx512(const uint8_t* p, size_t blocks, Masks* out) {
  for (size_t k = 0; k < blocks; ++k) masks_avx512_one(p + 64 * k, out[k]);
}
#endif
void masks_sse2(const uint8_t* p, size_t blocks, Masks* out) {
  for (size_t k = 0; k < blocks; ++k) {
    out[k] = Masks{};  // the helpers OR lanes in
    masks_sse2_one(p + 64 * k, out[k]);
  }
}

using MaskFn = void (*)(const uint8_t*, size_t, Masks*);
MaskFn pick_masks() {
#if defined(__x86_64__) || defined(__i386__)
  if (vector_isa() == Isa::avx512) return masks_avx512;
  if (vector_isa() == Isa::avx2) return masks_avx2;
#endif
  return masks_sse2;
}
const MaskFn kMasks = pick_masks();

bool base64_byte(char c) { return (kCharClasses[static_cast<unsigned char>(c)] & kBase64Char) != 0; }

size_t span_end_scalar(std::string_view s, size_t i) {
  while (i < s.size() && base64_byte(s[i])) ++i;
  return i;
}
size_t span_begin_scalar(std::string_view s, size_t i) {
  while (i > 0 && base64_byte(s[i - 1])) --i;
  return i;
}

#if defined(__x86_64__) || defined(__i386__)
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
  return span_end_scalar(s, i);
}

BOTTLE_AVX2 size_t span_begin_avx2(std::string_view s, size_t i) {
  for (; i >= 32; i -= 32) {
    const uint32_t miss = ~b64_bits256(s.data() + i - 32);
    if (miss != 0) return i - static_cast<size_t>(__builtin_clz(miss));
  }
  return span_begin_scalar(s, i);
}
#endif

constexpr std::array<bool, 256> make_base58() {
  std::array<bool, 256> t{};
  for (char c : kBase58Alphabet) {
    t[static_cast<unsigned char>(c)] = true;
  }
  return t;
}
constexpr std::array<bool, 256> kBase58 = make_base58();

// Bits of '/' and of base58 characters in s[i, i+64).
void run_bits_scalar(std::string_view s, size_t i, uint64_t& slash, uint64_t& base58) {
  slash = base58 = 0;
  const size_t n = std::min<size_t>(64, s.size() - i);
  for (size_t k = 0; k < n; ++k) {
    slash |= static_cast<uint64_t>(s[i + k] == '/') << k;
    base58 |= static_cast<uint64_t>(kBase58[static_cast<unsigned char>(s[i + k])]) << k;
  }
}

// Bits of '/' and of base58 characters for `blocks` blocks of s from i on.
void run_bits_scalar_n(std::string_view s, size_t i, size_t blocks, uint64_t* slash, uint64_t* base58) {
  for (size_t k = 0; k < blocks; ++k) run_bits_scalar(s, i + 64 * k, slash[k], base58[k]);
}

#if defined(__x86_64__) || defined(__i386__)
BOTTLE_AVX2 inline void run_bits_avx2(std::string_view s, size_t i, uint64_t& slash, uint64_t& base58) {
  if (i + 64 > s.size()) return run_bits_scalar(s, i, slash, base58);
  slash = base58 = 0;
  for (int half = 0; half < 2; ++half) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s.data() + i + 32 * half));
    // base58: digits and letters except 0, O, I and l.
    const __m256i alnum =
        _mm256_or_si256(_mm256_or_si256(range256(v, '1', '9'), range256(v, 'A', 'Z')), range256(v, 'a', 'z'));
    const __m256i excluded = _mm256_or_si256(_mm256_or_si256(eq256(v, 'O'), eq256(v, 'I')), eq256(v, 'l'));
    slash |= bits256(eq256(v, '/'), 32 * half);
    base58 |= bits256(_mm256_andnot_si256(excluded, alnum), 32 * half);
  }
}

BOTTLE_AVX512 inline void run_bits_avx512(std::string_view s, size_t i, uint64_t& slash, uint64_t& base58) {
  if (i + 64 > s.size()) return run_bits_scalar(s, i, slash, base58);
  const __m512i v = _mm512_loadu_si512(s.data() + i);
  const __mmask64 alnum = range512(v, '1', '9') | range512(v, 'A', 'Z') | range512(v, 'a', 'z');
  slash = eq512(v, '/');
  base58 = alnum & ~(eq512(v, 'O') | eq512(v, 'I') | eq512(v, 'l'));
}

BOTTLE_AVX2 void run_bits_avx2_n(std::string_view s, size_t i, size_t blocks, uint64_t* slash, uint64_t* base58) {
  for (size_t k = 0; k < blocks; ++k) run_bits_avx2(s, i + 64 * k, slash[k], base58[k]);
}
BOTTLE_AVX512 void run_bits_avx512_n(std::string_view s, size_t i, size_t blocks, uint64_t* slash,
                                     uint64_t* base58) {
  for (size_t k = 0; k < blocks; ++k) run_bits_avx512(s, i + 64 * k, slash[k], base58[k]);
}
#endif

#if defined(__x86_64__) || defined(__i386__)
BOTTLE_AVX512 inline uint64_t b64_bits512(const char* p) {
  const __m512i v = _mm512_loadu_si512(p);
  return range512(v, '0', '9') | range512(v, 'A', 'Z') | range512(v, 'a', 'z') | eq512(v, '-') | eq512(v, '+') |
         eq512(v, '/') | eq512(v, '_');
}

BOTTLE_AVX512 size_t span_end_avx512(std::string_view s, size_t i) {
  for (; i + 64 <= s.size(); i += 64) {
    const uint64_t miss = ~b64_bits512(s.data() + i);
    if (miss != 0) return i + static_cast<size_t>(__builtin_ctzll(miss));
  }
  return span_end_avx2(s, i);
}

BOTTLE_AVX512 size_t span_begin_avx512(std::string_view s, size_t i) {
  for (; i >= 64; i -= 64) {
    const uint64_t miss = ~b64_bits512(s.data() + i - 64);
    if (miss != 0) return i - static_cast<size_t>(__builtin_clzll(miss));
  }
  return span_begin_avx2(s, i);
}
#endif

void run_shape_scalar(std::string_view s, size_t i, RunShape& r) {
  for (; i < s.size(); ++i) {
    const uint8_t c = kCharClasses[static_cast<unsigned char>(s[i])];
    if ((c & kBase64Char) == 0) break;
    r.all_hex = r.all_hex && (c & kHexChar) != 0;
    r.has_slash = r.has_slash || s[i] == '/';
  }
  r.end = i;
}

#if defined(__x86_64__) || defined(__i386__)
BOTTLE_AVX512 void run_shape_avx512(std::string_view s, size_t i, RunShape& r) {
  for (; i + 64 <= s.size(); i += 64) {
    const __m512i v = _mm512_loadu_si512(s.data() + i);
    const __mmask64 digit = range512(v, '0', '9');
    const __mmask64 b64 = digit | range512(v, 'A', 'Z') | range512(v, 'a', 'z') | eq512(v, '-') | eq512(v, '+') |
                          eq512(v, '/') | eq512(v, '_');
    const __mmask64 hex = digit | range512(v, 'a', 'f') | range512(v, 'A', 'F');
    const uint64_t miss = ~static_cast<uint64_t>(b64);
    const uint64_t inside = miss == 0 ? ~uint64_t{0} : (uint64_t{1} << __builtin_ctzll(miss)) - 1;
    r.all_hex = r.all_hex && (inside & ~static_cast<uint64_t>(hex)) == 0;
    r.has_slash = r.has_slash || (inside & static_cast<uint64_t>(eq512(v, '/'))) != 0;
    if (miss != 0) {
      r.end = i + static_cast<size_t>(__builtin_ctzll(miss));
      return;
    }
  }
  run_shape_scalar(s, i, r);
}
#endif

using SpanFn = size_t (*)(std::string_view, size_t);
#if defined(__x86_64__) || defined(__i386__)
const bool kHaveAvx2 = vector_isa() >= Isa::avx2;
const bool kHaveAvx512 = vector_isa() == Isa::avx512;
const SpanFn kSpanEnd = kHaveAvx512 ? span_end_avx512 : kHaveAvx2 ? span_end_avx2 : span_end_scalar;
const SpanFn kSpanBegin = kHaveAvx512 ? span_begin_avx512 : kHaveAvx2 ? span_begin_avx2 : span_begin_scalar;
#else
const SpanFn kSpanEnd = span_end_scalar;
const SpanFn kSpanBegin = span_begin_scalar;
#endif

using RunShapeFn = void (*)(std::string_view, size_t, RunShape&);
#if defined(__x86_64__) || defined(__i386__)
const RunShapeFn kRunShape = kHaveAvx512 ? run_shape_avx512 : run_shape_scalar;
#else
const RunShapeFn kRunShape = run_shape_scalar;
#endif

using RunBitsFn = void (*)(std::string_view, size_t, size_t, uint64_t*, uint64_t*);
#if defined(__x86_64__) || defined(__i386__)
const RunBitsFn kRunBits = kHaveAvx512 ? run_bits_avx512_n : kHaveAvx2 ? run_bits_avx2_n : run_bits_scalar_n;
#else
const RunBitsFn kRunBits = run_bits_scalar_n;
#endif


}  // namespace

[[gnu::always_inline]] inline void ClassScanner::block(const uint8_t* p, const Masks& mk, std::vector<Hit>& triggers,
                         std::vector<Region>& regions) {
  const uint64_t base = pos_;

  // Decoding triggers.
  const uint64_t b64 = mk.b64;
  const uint64_t b64_long = at_least<kMinBase64>(prev_b64_, b64);
  for (uint64_t first = b64_long & ~((b64_long << 1) | (prev_b64_long_ ? 1 : 0)); first != 0; first &= first - 1) {
    add_trigger(triggers, kTriggerBase64, base + static_cast<uint64_t>(ctz(first)));
  }
  prev_b64_ = b64;
  prev_b64_long_ = (b64_long >> 63) != 0;
  // A '%' opens a word only as an escape: "%" and two hex digits (or the block ends first).
  for (uint64_t m = mk.percent; m != 0; m &= m - 1) {
    const auto at = static_cast<size_t>(ctz(m));
    if ((at + 1 >= 64 || (kCharClasses[p[at + 1]] & kHexChar) != 0) &&
        (at + 2 >= 64 || (kCharClasses[p[at + 2]] & kHexChar) != 0)) {
      add_trigger(triggers, kTriggerPercent, base + at);
    }
  }
  // Only code points the Unicode view would change open a word: random binary is half
  // high bytes, and a trigger on each of them meant a word opened every few bytes.
  if (mk.high != 0) {
    const std::string_view bytes(reinterpret_cast<const char*>(p), 64);
    for (uint64_t m = fold_candidates(bytes.data()); m != 0; m &= m - 1) {
      const auto at = static_cast<size_t>(ctz(m));
      if (fold_at(bytes, at) != FoldAt::no) add_trigger(triggers, kTriggerUnicode, base + at);
    }
  }

  // Separators count only right after a member, so "1234 5678" is one run, "a  b" is not.
  const uint64_t digit_prev = (mk.digit << 1) | (prev_digit_ ? 1 : 0);
  const uint64_t alnum_upper = mk.digit | mk.upper;
  const uint64_t an_prev = (alnum_upper << 1) | (prev_alnum_upper_ ? 1 : 0);
  const uint64_t lower_prev = (mk.lower << 1) | (prev_lower_ >> 63);
  prev_digit_ = (mk.digit >> 63) != 0;
  prev_alnum_upper_ = (alnum_upper >> 63) != 0;

  const uint64_t card = mk.digit | (mk.sep & digit_prev);
  const uint64_t iban = alnum_upper | (mk.space & an_prev);
  // BIP-39 words are 3..8 letters, so a run is cut after a word of one or two letters
  // ("a", "of", "is") and inside one of nine or more: prose then rarely makes a run long
  // enough to be a phrase, and a phrase inside a long lowercase text gets a region of
  // its own. (region_may_match applies the same rule; it sees far fewer regions.)
  const uint64_t lower_2 = (mk.lower << 2) | (prev_lower_ >> 62);
  const uint64_t lower_3 = (mk.lower << 3) | (prev_lower_ >> 61);
  const uint64_t after_short = mk.space & lower_prev & (~lower_2 | (lower_2 & ~lower_3));
  const uint64_t long_word = at_least<9>(prev_lower_, mk.lower);
  const uint64_t words = (mk.lower | (mk.space & lower_prev)) & ~after_short & ~long_word;
  prev_lower_ = mk.lower;
  // Base58 keys are base64 runs of 51-52 characters: Engine::scan_word checks them on
  // the base64 trigger instead of a fifth class here.
  classify<0>(card, RunKind::card, regions);
  classify<1>(iban, RunKind::iban, regions);
  classify<3>(words, RunKind::words, regions);
  pos_ += 64;
}

template <size_t K>
void ClassScanner::classify(uint64_t m, RunKind kind, std::vector<Region>& regions) {
  RunState& st = runs_[K];
  constexpr unsigned kMin = kSpecs[K].min_len;
  // Too few members here, even with the run carried in, to reach the minimum: digits and
  // capitals in prose mostly, at the cost of two bit counts.
  if (!st.open) {
    const unsigned carried = ~st.prev == 0 ? 64 : static_cast<unsigned>(__builtin_clzll(~st.prev));
    if (carried + static_cast<unsigned>(__builtin_popcountll(m)) < kMin) {
      st.prev = m;
      st.prev_long = false;
      return;
    }
  }
  const uint64_t r = at_least<kMin>(st.prev, m);
  // No run reaches the minimum here and none is open: only the carry changes.
  if (!st.open && r == 0) {
    st.prev = m;
    st.prev_long = false;
    return;
  }
  run_class(st, m, r, kSpecs[K], kind, regions);
}

void ClassScanner::run_class(RunState& st, uint64_t m, uint64_t r, const KindSpec& spec, RunKind kind,
                             std::vector<Region>& regions) {
  const unsigned min_len = spec.min_len;
  const size_t max_len = spec.max_len;
  const uint64_t base = pos_;
  uint64_t first = r & ~((r << 1) | (st.prev_long ? 1 : 0));
  const uint64_t ends = ~m & ((m << 1) | (st.prev >> 63));
  st.prev = m;
  st.prev_long = (r >> 63) != 0;
  if (!st.open && first == 0) return;
  unsigned from = 0;
  for (;;) {
    if (!st.open) {
      if (first == 0) return;
      const int i = ctz(first);
      first &= first - 1;
      st.open = true;
      st.start = base + static_cast<uint64_t>(i) + 1 - min_len;
      from = static_cast<unsigned>(i) + 1;
    }
    const uint64_t e = from >= 64 ? 0 : ends & (~uint64_t{0} << from);
    if (e == 0) return;  // still running into the next block
    const int j = ctz(e);
    const uint64_t end = base + static_cast<uint64_t>(j);
    if (end - st.start <= max_len) regions.push_back({kind, st.start, end});
    st.open = false;
    first &= j >= 63 ? 0 : (~uint64_t{0} << (j + 1));
    from = static_cast<unsigned>(j) + 1;
  }
}

bool is_base58(char c) { return kBase58[static_cast<unsigned char>(c)]; }

RunShape run_shape(std::string_view s, size_t begin) {
  RunShape r;
  kRunShape(s, begin, r);
  return r;
}

void run_masks(std::string_view s, size_t i, RunMasks& m) {
  m.blocks = std::min(RunMasks::kBlocks, (s.size() - i + 63) / 64);
  std::array<uint64_t, RunMasks::kBlocks> base58;
  kRunBits(s, i, m.blocks, m.slash.data(), base58.data());
  for (size_t k = 0; k < m.blocks; ++k) {
    const uint64_t long_clean = at_least<51>(m.clean, base58[k]);
    m.wif_ends[k] = long_clean & ~((long_clean << 1) | (m.long_clean >> 63));
    m.clean = base58[k];
    m.long_clean = long_clean;
  }
}

// Spans in random binary are a byte or two long: those end before the vector setup pays.
size_t base64_span_end(std::string_view s, size_t from) {
  for (size_t k = 0; k < 4; ++k, ++from) {
    if (from == s.size() || !base64_byte(s[from])) return from;
  }
  return kSpanEnd(s, from);
}
size_t base64_span_begin(std::string_view s, size_t to) {
  for (size_t k = 0; k < 4; ++k, --to) {
    if (to == 0 || !base64_byte(s[to - 1])) return to;
  }
  return kSpanBegin(s, to);
}

// Base64 characters are never delimiters, so whole spans of them are skipped at once.
size_t word_begin(std::string_view s, size_t p) {
  for (;;) {
    p = base64_span_begin(s, p);
    if (p == 0 || is_word_delimiter(static_cast<unsigned char>(s[p - 1]))) return p;
    --p;
  }
}
size_t word_end(std::string_view s, size_t p) {
  for (;;) {
    p = base64_span_end(s, p);
    if (p == s.size() || is_word_delimiter(static_cast<unsigned char>(s[p]))) return p;
    ++p;
  }
}

namespace {

// Bit k: region[i + k] is a space, for up to 64 bytes.
uint64_t space_bits(std::string_view region, size_t i) {
  uint64_t bits = 0;
  size_t k = 0;
#if defined(__SSE2__)
  for (; k < 64 && i + k + 16 <= region.size(); k += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(region.data() + i + k));
    bits |= static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')))))
            << k;
  }
#endif
  for (; k < 64 && i + k < region.size(); ++k) bits |= static_cast<uint64_t>(region[i + k] == ' ') << k;
  return bits;
}

}  // namespace

bool region_may_match(std::string_view region, RunKind kind) {
  if (kind == RunKind::words) {
    // Twelve consecutive words of 3..8 letters (every BIP-39 word's length): prose
    // breaks such stretches with "a", "of", "is" or a long word almost at once. Words
    // are measured from one space to the next, 64 bytes of spaces at a time.
    size_t streak = 0, word = 0;  // word: where the current word starts
    auto close = [&](size_t end) {
      const size_t len = end - word;
      if (len != 0) streak = len >= 3 && len <= 8 ? streak + 1 : 0;
      return streak >= 12;
    };
    for (size_t i = 0; i < region.size(); i += 64) {
      for (uint64_t m = space_bits(region, i); m != 0; m &= m - 1) {
        const size_t at = i + static_cast<size_t>(__builtin_ctzll(m));
        if (close(at)) return true;
        word = at + 1;
      }
    }
    return close(region.size());
  }
  if (kind != RunKind::card) return true;
  for (size_t i = 0; i < region.size(); ++i) {
    const bool starts = i == 0 || region[i - 1] == ' ' || region[i - 1] == '-';
    if (starts && region[i] >= '2' && region[i] <= '6') return true;
  }
  return false;
}

void ClassScanner::feed(std::string_view data, std::vector<Hit>& triggers, std::vector<Region>& regions) {
  if (data.empty()) return;  // also keeps a null data() away from memcpy
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t n = data.size();
  Masks masks[kBatch];
  if (pending_len_ > 0) {
    const size_t take = std::min(n, 64 - pending_len_);
    std::memcpy(pending_.data() + pending_len_, p, take);
    pending_len_ += take;
    p += take;
    n -= take;
    if (pending_len_ < 64) return;
    kMasks(pending_.data(), 1, masks);
    block(pending_.data(), masks[0], triggers, regions);
    pending_len_ = 0;
  }
  while (n >= 64) {
    const size_t blocks = std::min(kBatch, n / 64);
    kMasks(p, blocks, masks);
    for (size_t k = 0; k < blocks; ++k, p += 64, n -= 64) block(p, masks[k], triggers, regions);
  }
  std::memcpy(pending_.data(), p, n);
  pending_len_ = n;
}

void ClassScanner::finish(std::vector<Hit>& triggers, std::vector<Region>& regions) {
  // Zero padding belongs to no class, so every open run ends inside this block.
  std::memset(pending_.data() + pending_len_, 0, 64 - pending_len_);
  const uint64_t real_end = pos_ + pending_len_;
  Masks masks;
  kMasks(pending_.data(), 1, &masks);
  block(pending_.data(), masks, triggers, regions);
  pending_len_ = 0;
  for (auto& r : regions) r.end = std::min(r.end, real_end);
}

}  // namespace bottle::dlp::internal
