#include "common/dlp/class_runs.h"

#include <cstring>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace bottle::dlp::internal {

struct KindSpec {
  unsigned min_len;
  size_t max_len;  // longer runs cannot hold a match (or are too costly to validate)
};

namespace {

constexpr unsigned kMinBase64 = 16;
// card: 13..19 digits with single separators; iban: up to 34 chars plus spaces (and a
// leading word); base58: WIF keys are 51-52 chars; words: 12..24 BIP-39 words.
constexpr KindSpec kSpecs[kRunKinds] = {{13, 64}, {15, 128}, {51, 52}, {47, 4096}};

// Bit i of the result: bytes i-N+1 .. i are all in the class (N <= 64), looking back
// into the previous block's mask. N is a template argument so every shift is constant.
template <unsigned N>
inline uint64_t at_least(uint64_t prev, uint64_t m) {
  using u128 = unsigned __int128;
  const u128 x = (static_cast<u128>(m) << 64) | prev;
  u128 acc = ~static_cast<u128>(0);
  u128 pow = x;
  unsigned have = 0;
  [&]<unsigned... I>(std::integer_sequence<unsigned, I...>) {
    (([&] {
       if constexpr (((N >> I) & 1) != 0) {
         acc &= pow << have;
         have += 1u << I;
       }
       pow &= pow << (1u << I);
     }()),
     ...);
  }(std::make_integer_sequence<unsigned, 7>{});
  return static_cast<uint64_t>(acc >> 64);
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
  uint64_t digit = 0, upper = 0, lower = 0, plus_slash = 0, dash = 0, underscore = 0, space = 0, percent = 0,
           high = 0, zero = 0, cap_i = 0, cap_o = 0, low_l = 0;
};

namespace {

#if defined(__SSE2__)
inline uint64_t bits(__m128i a, __m128i b, __m128i c, __m128i d) {
  return static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(a))) |
         static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(b))) << 16 |
         static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(c))) << 32 |
         static_cast<uint64_t>(static_cast<uint16_t>(_mm_movemask_epi8(d))) << 48;
}
#endif

}  // namespace

void ClassScanner::block(const uint8_t* p, std::vector<Hit>& triggers, std::vector<Region>& regions) {
  Masks mk;
#if defined(__SSE2__)
  __m128i v[4];
  for (int i = 0; i < 4; ++i) v[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
  auto range = [&](char lo, char hi) {
    __m128i r[4];
    for (int i = 0; i < 4; ++i) {
      r[i] = _mm_and_si128(_mm_cmpgt_epi8(v[i], _mm_set1_epi8(static_cast<char>(lo - 1))),
                           _mm_cmplt_epi8(v[i], _mm_set1_epi8(static_cast<char>(hi + 1))));
    }
    return bits(r[0], r[1], r[2], r[3]);
  };
  auto eq = [&](char c) {
    const __m128i s = _mm_set1_epi8(c);
    return bits(_mm_cmpeq_epi8(v[0], s), _mm_cmpeq_epi8(v[1], s), _mm_cmpeq_epi8(v[2], s),
                _mm_cmpeq_epi8(v[3], s));
  };
  mk.digit = range('0', '9');
  mk.upper = range('A', 'Z');
  mk.lower = range('a', 'z');
  mk.plus_slash = eq('+') | eq('/');
  mk.dash = eq('-');
  mk.underscore = eq('_');
  mk.space = eq(' ');
  mk.percent = eq('%');
  mk.high = bits(v[0], v[1], v[2], v[3]);
  mk.zero = eq('0');
  mk.cap_i = eq('I');
  mk.cap_o = eq('O');
  mk.low_l = eq('l');
#else
  for (int i = 0; i < 64; ++i) {
    const uint8_t c = p[i];
    const uint64_t b = uint64_t{1} << i;
    if (c >= '0' && c <= '9') mk.digit |= b;
    if (c >= 'A' && c <= 'Z') mk.upper |= b;
    if (c >= 'a' && c <= 'z') mk.lower |= b;
    if (c == '+' || c == '/') mk.plus_slash |= b;
    if (c == '-') mk.dash |= b;
    if (c == '_') mk.underscore |= b;
    if (c == ' ') mk.space |= b;
    if (c == '%') mk.percent |= b;
    if (c >= 0x80) mk.high |= b;
    if (c == '0') mk.zero |= b;
    if (c == 'I') mk.cap_i |= b;
    if (c == 'O') mk.cap_o |= b;
    if (c == 'l') mk.low_l |= b;
  }
#endif
  const uint64_t base = pos_;

  // Decoding triggers.
  const uint64_t b64 = mk.digit | mk.upper | mk.lower | mk.plus_slash | mk.dash | mk.underscore;
  const uint64_t b64_long = at_least<kMinBase64>(prev_b64_, b64);
  for (uint64_t first = b64_long & ~((b64_long << 1) | (prev_b64_long_ ? 1 : 0)); first != 0; first &= first - 1) {
    add_trigger(triggers, kTriggerBase64, base + static_cast<uint64_t>(ctz(first)));
  }
  prev_b64_ = b64;
  prev_b64_long_ = (b64_long >> 63) != 0;
  for (uint64_t m = mk.percent; m != 0; m &= m - 1) add_trigger(triggers, kTriggerPercent, base + static_cast<uint64_t>(ctz(m)));
  for (uint64_t m = mk.high; m != 0; m &= m - 1) add_trigger(triggers, kTriggerUnicode, base + static_cast<uint64_t>(ctz(m)));

  // Separators count only right after a member, so "1234 5678" is one run, "a  b" is not.
  const uint64_t digit_prev = (mk.digit << 1) | (prev_digit_ ? 1 : 0);
  const uint64_t alnum_upper = mk.digit | mk.upper;
  const uint64_t an_prev = (alnum_upper << 1) | (prev_alnum_upper_ ? 1 : 0);
  const uint64_t lower_prev = (mk.lower << 1) | (prev_lower_ ? 1 : 0);
  prev_digit_ = (mk.digit >> 63) != 0;
  prev_alnum_upper_ = (alnum_upper >> 63) != 0;
  prev_lower_ = (mk.lower >> 63) != 0;

  const uint64_t card = mk.digit | ((mk.space | mk.dash) & digit_prev);
  const uint64_t iban = alnum_upper | (mk.space & an_prev);
  const uint64_t b58 = (mk.digit & ~mk.zero) | (mk.upper & ~mk.cap_i & ~mk.cap_o) | (mk.lower & ~mk.low_l);
  const uint64_t words = mk.lower | (mk.space & lower_prev);
  run_class(runs_[0], card, at_least<kSpecs[0].min_len>(runs_[0].prev, card), kSpecs[0], RunKind::card, regions);
  run_class(runs_[1], iban, at_least<kSpecs[1].min_len>(runs_[1].prev, iban), kSpecs[1], RunKind::iban, regions);
  run_class(runs_[2], b58, at_least<kSpecs[2].min_len>(runs_[2].prev, b58), kSpecs[2], RunKind::base58, regions);
  run_class(runs_[3], words, at_least<kSpecs[3].min_len>(runs_[3].prev, words), kSpecs[3], RunKind::words,
            regions);
  pos_ += 64;
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

void ClassScanner::feed(std::string_view data, std::vector<Hit>& triggers, std::vector<Region>& regions) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t n = data.size();
  if (pending_len_ > 0) {
    const size_t take = std::min(n, 64 - pending_len_);
    std::memcpy(pending_.data() + pending_len_, p, take);
    pending_len_ += take;
    p += take;
    n -= take;
    if (pending_len_ < 64) return;
    block(pending_.data(), triggers, regions);
    pending_len_ = 0;
  }
  while (n >= 64) {
    block(p, triggers, regions);
    p += 64;
    n -= 64;
  }
  std::memcpy(pending_.data(), p, n);
  pending_len_ = n;
}

void ClassScanner::finish(std::vector<Hit>& triggers, std::vector<Region>& regions) {
  // Zero padding belongs to no class, so every open run ends inside this block.
  std::memset(pending_.data() + pending_len_, 0, 64 - pending_len_);
  const uint64_t real_end = pos_ + pending_len_;
  block(pending_.data(), triggers, regions);
  pending_len_ = 0;
  for (auto& r : regions) r.end = std::min(r.end, real_end);
}

}  // namespace bottle::dlp::internal
