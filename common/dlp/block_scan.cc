// Block-mode scanning (one unit at a time, outbound): one Hyperscan pass and one
// class-run pass per view, RE2 validation around each candidate, and decoded views for
// the words that look encoded (percent, Unicode, base64, base32, hex, hex groups, HTML and
// JSON escapes; compressed or UTF-16/32 payloads), scanned the same way up to
// kMaxDecodeDepth levels deep. Validation and decoding are shared with body_scan.cc.
#include <algorithm>
#include <array>
#include <cctype>
#include <iterator>
#include <string>

#include "common/dlp/bip39_words.h"
#include "common/dlp/checksums.h"
#include "common/dlp/class_runs.h"
#include "common/dlp/decode.h"
#include "common/dlp/decompress.h"
#include "common/dlp/engine.h"
#include "common/dlp/redact.h"

namespace bottle::dlp::internal {
namespace {

bool base64_char(unsigned char c) { return (kCharClasses[c] & kBase64Char) != 0; }

// A card number [b, e) inside a longer run of four-digit groups ("quanta 2650 1514 1514
// 1514 1514 1514", a table of numbers), where a Luhn match is chance: one window in ten.
// A run that is a list of card numbers (a whole number of them, each Luhn-valid) still
// counts, and so does a card followed by something else (a CVV, a date).
bool inside_number_table(std::string_view text, size_t b, size_t e) {
  const auto digit = [&](size_t i) { return i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); };
  const auto sep = [&](size_t i) { return i < text.size() && (text[i] == ' ' || text[i] == '-'); };
  // A group of exactly four digits at [i, i + 4).
  const auto group = [&](size_t i) { return digit(i) && digit(i + 1) && digit(i + 2) && digit(i + 3) && !digit(i + 4); };
  size_t rb = b, re = e;
  while (rb >= 5 && sep(rb - 1) && group(rb - 5) && !digit(rb - 6)) rb -= 5;
  while (sep(re) && group(re + 1)) re += 5;
  if (rb == b && re == e) return false;
  std::string run, card;
  for (size_t i = rb; i < re; ++i) {
    if (!digit(i)) continue;
    run.push_back(text[i]);
    if (i >= b && i < e) card.push_back(text[i]);
  }
  if (card.empty() || run.size() % card.size() != 0) return true;
  for (size_t k = 0; k < run.size(); k += card.size()) {
    if (!luhn_ok(std::string_view(run).substr(k, card.size()))) return true;
  }
  return false;
}

// A documented example (detectors.h) is reported as one, unless the rest of the value
// after it ('&' and more query) holds another value this detector reports.
bool documented(const CompiledDetector& cd, std::string_view value, std::string_view match) {
  const size_t n = documented_example(cd.def->id, value, match);
  if (n == 0) return false;
  if (n >= value.size()) return true;
  const std::string_view rest = value.substr(n + 1);
  const re2::StringPiece input(rest.data(), rest.size());
  re2::StringPiece groups[2];
  const int ngroups = std::min(2, cd.re->NumberOfCapturingGroups() + 1);
  for (size_t pos = 0; pos < rest.size() && cd.re->Match(input, pos, rest.size(), RE2::UNANCHORED, groups, ngroups);) {
    const re2::StringPiece v = ngroups > 1 && groups[1].data() != nullptr ? groups[1] : groups[0];
    if (cd.def->validate == nullptr || cd.def->validate(std::string_view(v.data(), v.size()))) return false;
    pos = std::max(pos + 1, static_cast<size_t>(groups[0].data() + groups[0].size() - rest.data()));
  }
  return true;
}
bool hex_char(unsigned char c) { return (kCharClasses[c] & kHexChar) != 0; }

// Base64 of printable ASCII has a telltale shape: the first character of each 4-char
// group carries a byte's top six bits, 0x08..0x1F for 0x20..0x7E, so it is one of
// I-Z or a-f. Random bytes (hashes, images, ids) rarely keep that up for long.
constexpr std::array<bool, 256> make_text_lead() {
  std::array<bool, 256> t{};
  for (int c = 'I'; c <= 'Z'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'f'; ++c) t[c] = true;
  return t;
}
constexpr std::array<bool, 256> kTextLead = make_text_lead();

bool base64_of_text(std::string_view run) {
  const size_t groups = std::min<size_t>(32, run.size() / 4);
  const size_t allowed = groups / 8;
  size_t misses = 0;
  for (size_t g = 0; g < groups; ++g) {
    misses += !kTextLead[static_cast<unsigned char>(run[4 * g])];
    if (misses > allowed) return false;
  }
  return groups > 0;
}

// Base32 of printable ASCII: the first character of each 8-character group carries a
// byte's top five bits, 0x04..0x0F for 0x20..0x7E, so it is one of E..P (either case).
bool base32_of_text(std::string_view run) {
  const size_t groups = std::min<size_t>(16, run.size() / 8);
  size_t misses = 0;
  for (size_t g = 0; g < groups; ++g) {
    const char c = static_cast<char>(run[8 * g] & ~0x20);
    misses += c < 'E' || c > 'P';
    if (misses * 8 > groups) return false;
  }
  return groups > 0;
}

bool all_hex(std::string_view run) {
  return std::all_of(run.begin(), run.end(), [](char c) { return hex_char(static_cast<unsigned char>(c)); });
}

bool all_of_base32(std::string_view run) {
  const bool upper = std::all_of(run.begin(), run.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'); });
  return upper || std::all_of(run.begin(), run.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'); });
}

// At most one pair in eight may miss; random hex (hashes, ids) misses half the time,
// so the answer is usually known after a few pairs.
bool hex_of_text(std::string_view run) {
  const size_t pairs = std::min<size_t>(64, run.size() / 2);
  size_t misses = 0;
  for (size_t p = 0; p < pairs; ++p) {
    const char c = run[2 * p];
    misses += !(c == '0' || (c >= '2' && c <= '7'));
    if (misses * 8 > pairs) return false;
  }
  return pairs > 0;
}



// The pieces of a base64 run worth a closer look, found in one pass 64 bytes at a time
// (inline images make this a hot loop), each callback returning true to stop:
// - on_wif(offset, length): stretches between '+', '/' and '-' (where the WIF
//   pattern's \b holds) of 51-52 base58 characters opening with 5, K or L, so a key used
//   as a path segment or glued to a dash is found too;
// - on_segment(offset, length): the '/'-separated segments of a run with a '/' in it.
template <typename OnWif, typename OnSegment>
void for_each_run_piece(std::string_view run, OnWif on_wif, OnSegment on_segment) {
  auto separator = [&](size_t at) { return run[at] == '+' || run[at] == '/' || run[at] == '-'; };
  size_t segment = 0;  // start of the current '/' segment
  RunMasks m;
  for (size_t i = 0; i < run.size(); i += 64) {
    const size_t k = (i / 64) % RunMasks::kBlocks;
    if (k == 0) run_masks(run, i, m);
    // A stretch of 51 base58 characters: a key if it starts and ends at a separator (or
    // the run's ends) and is 51 or 52 long. Random base64 rarely gets this far.
    for (uint64_t w = m.wif_ends[k]; w != 0; w &= w - 1) {
      const size_t begin = i + static_cast<size_t>(__builtin_ctzll(w)) - 50;
      size_t end = begin + 51;
      if (end < run.size() && is_base58(run[end])) ++end;
      if ((begin != 0 && !separator(begin - 1)) || (end < run.size() && !separator(end))) continue;
      if ((run[begin] == '5' || run[begin] == 'K' || run[begin] == 'L') && on_wif(begin, end - begin)) return;
    }
    for (uint64_t slash = m.slash[k]; slash != 0; slash &= slash - 1) {
      const size_t at = i + static_cast<size_t>(__builtin_ctzll(slash));
      if (on_segment(segment, at - segment)) return;
      segment = at + 1;
    }
  }
  if (segment != 0) on_segment(segment, run.size() - segment);
}

// Scans word runs of BIP-39 words around `hit_end` for a 12..24-word window whose
// checksum holds. Returns the matched range relative to `text`.
bool find_mnemonic(std::string_view text, size_t hit_end, size_t& begin, size_t& end, size_t& covered) {
  // The single-space-separated lowercase run containing hit_end-1.
  auto word_char = [](char c) { return (c >= 'a' && c <= 'z') || c == ' '; };
  size_t s = hit_end;
  while (s > 0 && word_char(text[s - 1])) --s;
  size_t e = hit_end;
  while (e < text.size() && word_char(text[e])) ++e;
  covered = e;
  // Walk the words; `run` holds the current stretch of consecutive BIP-39 words.
  std::vector<std::pair<size_t, size_t>> run;
  auto check_run = [&]() {
    if (run.size() < 12) return false;
    for (size_t len = std::min<size_t>(24, run.size() / 3 * 3); len >= 12; len -= 3) {
      for (size_t k = 0; k + len <= run.size(); ++k) {
        std::string joined;
        for (size_t w = k; w < k + len; ++w) {
          if (!joined.empty()) joined.push_back(' ');
          joined.append(text.substr(run[w].first, run[w].second - run[w].first));
        }
        if (bip39_mnemonic_ok(joined)) {
          begin = run[k].first;
          end = run[k + len - 1].second;
          return true;
        }
      }
    }
    return false;
  };
  constexpr size_t kShortestPhrase = 12 * 4 - 1;  // twelve 3-letter words and their spaces
  size_t i = s;
  while (i < e) {
    while (i < e && text[i] == ' ') ++i;
    // No room left for a fresh twelve-word phrase: stop looking words up.
    if (run.empty() && e - i < kShortestPhrase) break;
    size_t j = i;
    while (j < e && text[j] != ' ') ++j;
    if (j > i) {
      if (bip39_index(text.substr(i, j - i)) >= 0) {
        run.emplace_back(i, j);
      } else {
        if (check_run()) return true;
        run.clear();
      }
    }
    i = j;
  }
  return check_run();
}


}  // namespace

// Longest base64 run searched for WIF keys and base64 path segments when it is not text.
constexpr size_t kMaxPathRun = 1024;

bool run_worth_decoding(std::string_view run, const RunShape& shape) {
  if (shape.all_hex ? hex_of_text(run)
                    : base64_of_text(run) || ((shape.all_base32 || shape.all_base32_lower) && base32_of_text(run))) {
    return true;
  }
  // Hashes and UUIDs: too short for a WIF key, and no path in them. Blobs over a
  // kilobyte that are not text (images, archives) are not paths either: looking for a
  // key between their '/'s cost a tenth of the scan.
  if ((run.size() < 51 && !shape.has_slash) || run.size() > kMaxPathRun) return false;
  // WIF keys, and path-like runs (scan_word also decodes each '/'-separated segment).
  bool worth = false;
  for_each_run_piece(
      run, [&](size_t, size_t) { return worth = true; },
      [&](size_t at, size_t n) {
        // Base32 has no '/': a path-like run's segments are checked as base64 or hex only.
        const std::string_view piece = run.substr(at, n);
        return worth = n >= kMinBase64Run && (all_hex(piece) ? hex_of_text(piece) : base64_of_text(piece));
      });
  return worth;
}

uint64_t Engine::confirm(Sink& sink, uint32_t id, std::string_view window, uint64_t window_abs, uint64_t hit_end,
                         const Origin* origin, bool whole_window) const {
  const CompiledDetector& cd = secret_[id];
  const Detector& d = *cd.def;
  const size_t rel_end = static_cast<size_t>(hit_end - window_abs);
  const std::string_view how = origin != nullptr ? std::string_view(origin->how) : std::string_view();

  if (d.kind == DetectorKind::mnemonic) {
    size_t b = 0, e = 0, covered = rel_end;
    if (!find_mnemonic(window, rel_end, b, e, covered)) return window_abs + covered;
    Finding f;
    f.detector = std::string(d.id);
    f.severity = d.severity;
    f.offset = origin != nullptr ? origin->begin : window_abs + b;
    f.snippet = redacted_snippet(window, b, e, how);
    sink.add(std::move(f), origin);
    return window_abs + covered;
  }

  re2::StringPiece input(window.data(), window.size());
  re2::StringPiece groups[2];
  const int ngroups = std::min(2, cd.re->NumberOfCapturingGroups() + 1);
  size_t pos = 0;
  while (pos <= window.size() && cd.re->Match(input, pos, window.size(), RE2::UNANCHORED, groups, ngroups)) {
    const size_t m_begin = static_cast<size_t>(groups[0].data() - window.data());
    const size_t m_end = m_begin + groups[0].size();
    if (m_end == m_begin) {
      ++pos;
      continue;
    }
    if (!whole_window && m_begin >= rel_end) break;  // past the hit: a later hit will handle it
    if (!whole_window && m_end < rel_end) {
      pos = m_end;
      continue;
    }
    const re2::StringPiece secret = ngroups > 1 && groups[1].data() != nullptr ? groups[1] : groups[0];
    const std::string_view sv(secret.data(), secret.size());
    const size_t s_begin = static_cast<size_t>(secret.data() - window.data());
    if ((d.validate == nullptr || d.validate(sv)) && !exempt(sv) &&
        !(d.gate == Gate::card_run && inside_number_table(window, s_begin, s_begin + sv.size()))) {
      const bool example = documented(cd, sv, std::string_view(groups[0].data(), groups[0].size()));
      Finding f;
      f.detector = example ? "secret.documented_example" : std::string(d.id);
      f.severity = example ? Severity::low : d.severity;
      f.offset = origin != nullptr ? origin->begin : window_abs + s_begin;
      f.snippet = redacted_snippet(window, s_begin, s_begin + sv.size(), how);
      sink.add(std::move(f), origin);
    }
    if (!whole_window) return window_abs + m_end;
    pos = m_end;
  }
  return hit_end;
}

void Engine::emit_known(Sink& sink, uint32_t id, std::string_view window, uint64_t window_abs, uint64_t hit_end,
                        const Origin* origin) const {
  const KnownEntry& k = known(id);
  const size_t rel_end = static_cast<size_t>(hit_end - window_abs);
  const size_t rel_begin = rel_end - std::min(rel_end, k.length);
  Finding f;
  f.detector = "known_secret";
  f.severity = Severity::critical;
  f.offset = origin != nullptr ? origin->begin : window_abs + rel_begin;
  std::string how = origin != nullptr ? origin->how : "";
  if (k.encoding != "raw") {
    if (!how.empty()) how.push_back('>');
    how.append(k.encoding);
  }
  f.snippet = redacted_snippet(window, rel_begin, rel_end, how);
  sink.add(std::move(f), origin);
}

HitWindow Engine::hit_window(const Hit& h) const {
  if (h.id >= kKnownBase) {
    const size_t len = known(h.id).length;
    return {h.end > len + 16 ? h.end - len - 16 : 0, h.end + 8};
  }
  const size_t max_len = secret_[h.id].def->max_len;
  return {h.end > max_len + 1 ? h.end - max_len - 1 : 0, h.end + max_len};
}

void Engine::confirm_hit(Sink& sink, const Hit& h, std::string_view window, uint64_t window_abs, const Origin* origin,
                         std::vector<uint64_t>& covered) const {
  if (h.id >= kKnownBase) {
    emit_known(sink, h.id, window, window_abs, h.end, origin);
  } else if (h.end > covered[h.id]) {
    covered[h.id] = confirm(sink, h.id, window, window_abs, h.end, origin);
  }
}

void Engine::confirm_region(Sink& sink, size_t kind, std::string_view window, uint64_t window_abs,
                            uint64_t region_begin, uint64_t region_end, const Origin* origin) const {
  const size_t skip = region_begin > window_abs ? static_cast<size_t>(region_begin - window_abs) : 0;
  const std::string_view region =
      window.substr(std::min(skip, window.size()), static_cast<size_t>(region_end - region_begin));
  if (!region_may_match(region, static_cast<RunKind>(kind))) return;
  confirm(sink, region_detector_[kind], window, window_abs, region_end, origin, true);
}

void Engine::scan_decoded(Sink& sink, std::string_view decoded, const Origin& from, std::string_view how,
                          int depth) const {
  // Too short to hold any detector's match or known secret.
  if (decoded.size() < min_view_) return;
  const Origin o{from.begin, from.end, from.how.empty() ? std::string(how) : from.how + ">" + std::string(how)};
  // Text is scanned as it is (it is neither compressed nor wide). Otherwise it may be
  // compressed (base64 of gzip) or UTF-16/32 text (PowerShell's -EncodedCommand): undone
  // first, then scanned like any other view; random bytes (hashes, images, UUIDs read as
  // base64) hide no credential.
  if (!mostly_text(decoded)) {
    if (const Packing packing = sniff_packing(decoded); packing != Packing::none && depth + 1 < kMaxDecodeDepth) {
      auto decoder = packing_decoder(packing, kMaxViewInflate);
      std::string inflated;
      (void)decoder->feed(decoded, inflated);  // a cut or broken stream still yields its first bytes
      if (!inflated.empty()) scan_decoded(sink, inflated, o, packing_name(packing), depth + 1);
    } else if (const WideText wide = sniff_wide_text(decoded); wide != WideText::none) {
      std::string narrow;
      wide_to_utf8(decoded, wide, narrow);
      if (narrow.size() < decoded.size()) scan_decoded(sink, narrow, o, "utf16", depth);
    }
    return;
  }
  scan_view(sink, decoded, &o, depth + 1);
}

void Engine::scan_word(Sink& sink, std::string_view word, WordKind kind, const Origin& origin, int depth) const {
  // Shorter than every view and every run worth decoding (random binary is full of such
  // words): none of the decoders below could produce anything.
  if (depth >= kMaxDecodeDepth || word.size() < std::min(min_view_, kMinHexRun)) return;
  static_assert(kMinHexRun <= kMinBase64Run && kMinHexRun <= 51);
  std::string buf;
  if (kind == WordKind::escaped) {
    if (unescape(word, buf)) scan_decoded(sink, buf, origin, "unescape", depth);
    return;
  }
  if (kind == WordKind::hex_groups) {
    if (hex_groups_decode(word, buf)) scan_decoded(sink, buf, origin, "hex", depth);
    return;
  }
  // Base64 wrapped over lines (see word_end): decoded as the one run it is. The first line
  // break, if any, comes within the widest wrap.
  if (word.substr(0, kMaxWrapWidth + 2).find('\n') != std::string_view::npos) {
    std::string joined;
    joined.reserve(word.size());
    for (char c : word) {
      if (c != '\r' && c != '\n') joined.push_back(c);
    }
    scan_word(sink, joined, kind, origin, depth);
    return;
  }
  const auto percents = static_cast<size_t>(std::count(word.begin(), word.end(), '%'));
  // A short word with escapes ("hello%20world") whose decoded view would be too short, no
  // non-ASCII byte and no room for a base64/hex run: nothing below can apply.
  const bool non_ascii = first_high_byte(word) != word.size();
  if (word.size() < kMinHexRun && word.size() < min_view_ + 2 * percents && !non_ascii) return;
  // Each %XX shrinks by two bytes; a view that ends up too short is not worth decoding.
  if (percents != 0 && word.size() >= min_view_ + 2 * percents && percent_decode(word, buf)) {
    scan_decoded(sink, buf, origin, "percent", depth);
  }
  // Normalizing never lengthens a word, so a word shorter than a view is not worth it
  // (random binary is full of such words).
  if (word.size() >= min_view_ && non_ascii && unicode_would_change(word) && normalize_unicode(word, buf)) {
    scan_decoded(sink, buf, origin, "unicode", depth);
  }

  // Base64 / base32 / hex runs inside the word.
  size_t i = 0;
  while (i < word.size()) {
    if (!base64_char(static_cast<unsigned char>(word[i]))) {
      ++i;
      continue;
    }
    const size_t j = base64_span_end(word, i);
    const std::string_view run = word.substr(i, j - i);
    const uint64_t run_abs = origin.begin + i;
    i = j;
    if (run.size() < kMinHexRun) continue;
    // WIF keys, and path-like runs: each segment may be base64 of its own.
    if (run.size() >= 51 || run.find('/') != std::string_view::npos) {
      for_each_run_piece(
          run,
          [&](size_t at, size_t n) {
            // Raw words point at the key itself; decoded ones at the encoded word they came from.
            const uint64_t abs = run_abs + at;
            const Origin o = origin.how.empty() ? Origin{abs, abs + n, ""} : origin;
            confirm(sink, region_detector_[static_cast<size_t>(RunKind::base58)], run.substr(at, n), abs, abs + n, &o,
                    true);
            return false;
          },
          [&](size_t at, size_t n) {
            const std::string_view part = run.substr(at, n);
            if (n >= kMinBase64Run && base64_of_text(part) && base64_decode(part, buf)) {
              scan_decoded(sink, buf, origin, "base64", depth);
            }
            return false;
          });
    }
    if (all_hex(run)) {
      if (hex_of_text(run) && hex_decode(run.substr(0, run.size() & ~size_t{1}), buf)) {
        scan_decoded(sink, buf, origin, "hex", depth);
      }
      continue;
    }
    if (run.size() < kMinBase64Run) continue;
    if (base64_of_text(run) && base64_decode(run, buf)) scan_decoded(sink, buf, origin, "base64", depth);
    if (base32_of_text(run) && all_of_base32(run) && base32_decode(run, buf)) {
      scan_decoded(sink, buf, origin, "base32", depth);
    }
  }
}

bool Engine::block_hits(const hs_database_t* db, std::string_view text, std::vector<Hit>& hits) const {
  HitCollector collector{&hits};
  hs_scratch_t* s = scratch();
  if (s == nullptr) return false;
  hs_scan(db, text.data(), static_cast<unsigned>(text.size()), 0, s, &HitCollector::on_match, &collector);
  return true;
}

void Engine::scan_view(Sink& sink, std::string_view text, const Origin* origin, int depth) const {
  std::vector<Hit> hits;
  if (!block_hits(out_block_.get(), text, hits)) return;
  const size_t hs_hits = hits.size();
  std::vector<Region> regions;
  ClassScanner classes;
  classes.feed(text, hits, regions);
  classes.finish(hits, regions);
  for (const Region& r : regions) {
    const uint64_t from = r.begin > 0 ? r.begin - 1 : 0;
    const uint64_t to = std::min<uint64_t>(text.size(), r.end + 1);
    confirm_region(sink, static_cast<size_t>(r.kind), text.substr(static_cast<size_t>(from), static_cast<size_t>(to - from)),
                   from, r.begin, r.end, origin);
  }
  if (hits.empty()) return;

  // Hyperscan's hits come first, in end order (detectors, known secrets and the escape
  // and hex-run triggers), then the class pass's triggers, also in end order.
  const size_t class_from = hs_hits;
  std::vector<uint64_t> covered(secret_.size(), 0);
  std::vector<Hit> hs_triggers;
  for (size_t i = 0; i < class_from; ++i) {
    const Hit& h = hits[i];
    if (h.id >= kTriggerPercent) {
      hs_triggers.push_back(h);
      continue;
    }
    const HitWindow hw = hit_window(h);
    const uint64_t to = std::min<uint64_t>(hw.to, text.size());
    confirm_hit(sink, h, text.substr(static_cast<size_t>(hw.from), static_cast<size_t>(to - hw.from)), hw.from, origin,
                covered);
  }
  if ((hs_triggers.empty() && class_from == hits.size()) || depth >= kMaxDecodeDepth) return;
  std::span<const Hit> triggers(hits.data() + class_from, hits.size() - class_from);
  std::vector<Hit> merged;
  if (!hs_triggers.empty()) {
    merged.reserve(hs_triggers.size() + triggers.size());
    std::merge(hs_triggers.begin(), hs_triggers.end(), triggers.begin(), triggers.end(), std::back_inserter(merged),
               [](const Hit& a, const Hit& b) { return a.end < b.end; });
    triggers = merged;
  }
  const Window w(text);
  std::array<uint64_t, kWordKinds> done{};
  for_each_trigger_word(w, triggers, done, ~uint64_t{0}, true, [&](uint64_t b, uint64_t e, uint64_t, WordKind kind) {
    const Origin o = origin != nullptr ? *origin : Origin{b, e, ""};
    scan_word(sink, text.substr(static_cast<size_t>(b), static_cast<size_t>(e - b)), kind, o, depth);
    return true;
  });
}

std::vector<Finding> Engine::scan(std::string_view data, Direction dir, std::string_view location) const {
  std::vector<Finding> out;
  if (dir == Direction::inbound) {
    auto body = open_body(dir, location);
    body->feed(data, out);
    body->finish(out);
    return out;
  }
  if (scratch() == nullptr) {
    // Fail closed: a unit we could not scan is reported, never waved through.
    out.push_back(scan_error(location, 0, "scanner out of memory"));
    return out;
  }
  Sink sink{&out, location, 0};
  // A whole payload sent compressed or in UTF-16/32: scanned as what it says, too. (A URL
  // or header value is text from its first byte: that test is all it pays.)
  const Origin whole{0, data.size(), ""};
  const auto first = data.empty() ? 0 : static_cast<unsigned char>(data[0]);
  if (first >= 0x20 && first < 0x7f && first != 'x' && first != 'P') {
    // Text: not gzip (0x1f), zlib (0x78 'x'), zip ("PK"), a byte-order mark, UTF-16 BE
    // (0x00 first) or brotli's usual first bytes; UTF-16 LE of text starts printable.
    if (data.size() >= 16 && sniff_wide_text(data) != WideText::none) scan_decoded(sink, data, whole, "", 0);
  } else if (const Packing packing = sniff_packing(data); packing != Packing::none) {
    auto decoder = packing_decoder(packing, kMaxSniffedOutput);
    std::string inflated;
    (void)decoder->feed(data, inflated);
    scan_decoded(sink, inflated, whole, packing_name(packing), 0);
  } else if (sniff_wide_text(data) != WideText::none) {
    scan_decoded(sink, data, whole, "", 0);
  } else if (looks_binary(data.substr(0, 64))) {
    // Brotli has no magic: a binary payload that inflates to text was brotli.
    auto decoder = packing_decoder(Packing::brotli, kMaxSniffedOutput);
    std::string inflated;
    if (decoder->feed(data, inflated).ok() && mostly_text(std::string_view(inflated).substr(0, 4096))) {
      scan_decoded(sink, inflated, whole, "br", 0);
    }
  }
  scan_view(sink, data, nullptr, 0);
  return out;
}

}  // namespace bottle::dlp::internal
