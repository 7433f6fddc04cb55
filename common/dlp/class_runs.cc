// The run state machine over the class masks of class_kernels.h: decoding triggers and
// literal-less candidate regions, 64 bytes at a time, carried across feed() calls.
#include "common/dlp/class_runs.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/dlp/checksums.h"
#include "common/dlp/class_kernels.h"
#include "common/dlp/decode.h"

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
[[gnu::always_inline]] inline uint64_t at_least(uint64_t prev, uint64_t m) {
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

bool base64_byte(char c) { return (kCharClasses[static_cast<unsigned char>(c)] & kBase64Char) != 0; }

// x shifted left by k bits with the previous block's top bits shifted in (0 < k < 64).
template <unsigned K>
inline uint64_t shl(uint64_t x, uint64_t prev) {
  static_assert(K > 0 && K < 64);
  return (x << K) | (prev >> (64 - K));
}

// After a '\\' at p[at]: "\\u" or "\\x" with hex digits, "\\/" after a base64
// character, or "\\n" right after a base64 run (`b64_long`: runs of 16+ ending at each
// byte). p[0, readable) can be read (the block, and what follows it in the chunk); a
// sequence running past that counts, and the word decides.
inline bool escape_after_backslash(const uint8_t* p, size_t at, size_t readable, uint64_t b64_long,
                                   bool b64_long_before) {
  auto hex_at = [&](size_t i) { return i >= readable || (kCharClasses[p[i]] & kHexChar) != 0; };
  if (at + 1 >= readable) return true;
  const uint8_t next = p[at + 1];
  if (next == 'u' || next == 'U') return hex_at(at + 2) && hex_at(at + 3) && hex_at(at + 4) && hex_at(at + 5);
  if (next == 'x') return hex_at(at + 2) && hex_at(at + 3);
  if (next == '/') return at == 0 || base64_byte(static_cast<char>(p[at - 1]));
  if (next == 'n') return at == 0 ? b64_long_before : ((b64_long >> (at - 1)) & 1) != 0;
  return false;
}

}  // namespace

[[gnu::always_inline]] inline void ClassScanner::block(const uint8_t* p, size_t readable, const ClassMasks& mk,
                                                       std::vector<Hit>& triggers, std::vector<Region>& regions) {
  const uint64_t base = pos_;

  // Decoding triggers.
  const uint64_t b64 = mk.b64;
  const uint64_t b64_long = at_least<kMinBase64>(prev_b64_, b64);
  for (uint64_t first = b64_long & ~((b64_long << 1) | (prev_b64_long_ ? 1 : 0)); first != 0; first &= first - 1) {
    add_trigger(triggers, kTriggerBase64, base + static_cast<uint64_t>(ctz(first)));
  }
  const bool b64_long_before = prev_b64_long_;  // the previous block's last byte ends a long run
  prev_b64_ = b64;
  prev_b64_long_ = (b64_long >> 63) != 0;
  // Hex pairs with separators ("41:4b:49", "41 4b 49", "41-4b"): 24 bytes in a row where
  // each byte is a separator after two letters or digits, one after a separator, or the
  // second of two after a separator. Words of three or more letters break it, so prose,
  // hashes and timestamps rarely get that far; the word decides whether it is hex.
  const uint64_t sp = mk.pair_sep;
  // Cheap first: a hex dump ends a two-character token with a separator every third byte;
  // prose has few two-letter words (four in one block is rare), code and logs fewer.
  const uint64_t hx = mk.digit | mk.upper | mk.lower;
  uint64_t paired_long = 0, paired = 0;
  const bool maybe_pairs = __builtin_popcountll(sp & (hx << 1) & (hx << 2) & ~(hx << 3)) >= 4;
  if (maybe_pairs || prev_paired_ != 0) {
    const uint64_t pair_end = sp & shl<1>(hx, prev_hex_) & shl<2>(hx, prev_hex_);
    const uint64_t pair_lead = hx & shl<1>(sp, prev_hex_sep_);
    const uint64_t pair_tail = hx & shl<1>(hx, prev_hex_) & shl<2>(sp, prev_hex_sep_);
    paired = pair_end | pair_lead | pair_tail;
    // Too few members here, even with the run carried in, to reach 24.
    const unsigned carried = ~prev_paired_ == 0 ? 64 : static_cast<unsigned>(__builtin_clzll(~prev_paired_));
    if (carried + static_cast<unsigned>(__builtin_popcountll(paired)) >= 24) paired_long = at_least<24>(prev_paired_, paired);
  }
  for (uint64_t first = paired_long & ~((paired_long << 1) | (prev_paired_long_ ? 1 : 0)); first != 0;
       first &= first - 1) {
    add_trigger(triggers, kTriggerHexRun, base + static_cast<uint64_t>(ctz(first)));
  }
  prev_hex_ = hx;
  prev_hex_sep_ = sp;
  prev_paired_ = paired;
  prev_paired_long_ = (paired_long >> 63) != 0;
  // Escapes open a word only when they are escapes: '%' and two hex digits; "&#" (an
  // HTML numeric entity); '\\' before 'u' 'U' 'x' or '/' (JSON and C escapes), or before
  // 'n' right after a base64 run (a wrapped blob inside a JSON string: code is full of
  // other "\\n"). A byte whose successor is in the next block decides with what it has.
  // JSON and HTML escapes are ASCII text; a block of mostly high bytes is binary (or
  // text with invisible characters in it, whose Unicode view is scanned again anyway).
  const bool ascii_text = __builtin_popcountll(mk.high) <= 16;
  for (uint64_t m = mk.escape; m != 0; m &= m - 1) {
    const auto at = static_cast<size_t>(ctz(m));
    const uint8_t c = p[at];
    if (c != '%' && !ascii_text) continue;
    // Bytes past `readable` are not here yet: an escape running into them counts.
    auto hex_at = [&](size_t i) { return i >= readable || (kCharClasses[p[i]] & kHexChar) != 0; };
    if (c == '%') {
      if (hex_at(at + 1) && hex_at(at + 2)) add_trigger(triggers, kTriggerPercent, base + at);
    } else if (c == '&') {
      // "&#" and a digit, or "&#x": a numeric entity.
      const bool entity = at + 1 >= readable ||
                          (p[at + 1] == '#' && (at + 2 >= readable || (p[at + 2] >= '0' && p[at + 2] <= '9') ||
                                                (p[at + 2] | 0x20) == 'x'));
      if (entity) add_trigger(triggers, kTriggerEscape, base + at);
    } else if (escape_after_backslash(p, at, readable, b64_long, b64_long_before)) {
      add_trigger(triggers, kTriggerEscape, base + at);
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

bool is_base58(char c) { return c > 0 && kBase58Alphabet.find(c) != std::string_view::npos; }

RunShape run_shape(std::string_view s, size_t begin) {
  RunShape r;
  class_kernels().run_shape(s, begin, r);
  return r;
}

void run_masks(std::string_view s, size_t i, RunMasks& m) {
  m.blocks = std::min(RunMasks::kBlocks, (s.size() - i + 63) / 64);
  std::array<uint64_t, RunMasks::kBlocks> base58;
  class_kernels().run_bits(s, i, m.blocks, m.slash.data(), base58.data());
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
  return class_kernels().span_end(s, from);
}
size_t base64_span_begin(std::string_view s, size_t to) {
  for (size_t k = 0; k < 4; ++k, --to) {
    if (to == 0 || !base64_byte(s[to - 1])) return to;
  }
  return class_kernels().span_begin(s, to);
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
      for (uint64_t m = class_kernels().space_bits(region, i); m != 0; m &= m - 1) {
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
  ClassMasks masks[kBatch];
  const auto masks_of = class_kernels().masks;
  if (pending_len_ > 0) {
    const size_t take = std::min(n, 64 - pending_len_);
    std::memcpy(pending_.data() + pending_len_, p, take);
    pending_len_ += take;
    p += take;
    n -= take;
    if (pending_len_ < 64) return;
    masks_of(pending_.data(), 1, masks);
    block(pending_.data(), 64, masks[0], triggers, regions);
    pending_len_ = 0;
  }
  while (n >= 64) {
    const size_t blocks = std::min(kBatch, n / 64);
    masks_of(p, blocks, masks);
    for (size_t k = 0; k < blocks; ++k, p += 64, n -= 64) block(p, n, masks[k], triggers, regions);
  }
  std::memcpy(pending_.data(), p, n);
  pending_len_ = n;
}

void ClassScanner::finish(std::vector<Hit>& triggers, std::vector<Region>& regions) {
  // Zero padding belongs to no class, so every open run ends inside this block.
  std::memset(pending_.data() + pending_len_, 0, 64 - pending_len_);
  const uint64_t real_end = pos_ + pending_len_;
  ClassMasks masks;
  class_kernels().masks(pending_.data(), 1, &masks);
  block(pending_.data(), pending_len_, masks, triggers, regions);
  pending_len_ = 0;
  for (auto& r : regions) r.end = std::min(r.end, real_end);
}

}  // namespace bottle::dlp::internal
