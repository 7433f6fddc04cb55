// Block-mode scanning (one unit at a time): one Hyperscan pass and one class-run pass
// per view, RE2 validation around each candidate, and decoded views for the words that
// look encoded, scanned the same way up to kMaxDecodeDepth levels deep.
#include <algorithm>
#include <array>

#include "common/dlp/bip39_words.h"
#include "common/dlp/checksums.h"
#include "common/dlp/class_runs.h"
#include "common/dlp/decode.h"
#include "common/dlp/engine.h"
#include "common/dlp/redact.h"

namespace bottle::dlp::internal {
namespace {

bool has_high_byte(std::string_view s) { return first_high_byte(s) != s.size(); }

// Credentials are text; a decoded view full of control bytes is binary (a hash, an
// image, a UUID read as base64) and not worth scanning.
bool mostly_text(std::string_view s) {
  size_t control = 0;
  for (unsigned char c : s) control += (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f;
  return control * 32 <= s.size();
}

bool base64_char(unsigned char c) { return (kCharClasses[c] & kBase64Char) != 0; }
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

bool run_worth_decoding(std::string_view run, const RunShape* shape) {
  auto all_hex = [](std::string_view r) {
    return std::all_of(r.begin(), r.end(), [](char c) { return hex_char(static_cast<unsigned char>(c)); });
  };
  auto text_like = [&](std::string_view r) { return all_hex(r) ? hex_of_text(r) : base64_of_text(r); };
  if (shape != nullptr ? (shape->all_hex ? hex_of_text(run) : base64_of_text(run)) : text_like(run)) return true;
  // Hashes and UUIDs: too short for a WIF key, and no path in them.
  const bool slash = shape != nullptr ? shape->has_slash : std::find(run.begin(), run.end(), '/') != run.end();
  if (run.size() < 51 && !slash) return false;
  // WIF keys, and path-like runs (scan_word also decodes each '/'-separated segment).
  bool worth = false;
  for_each_run_piece(
      run, [&](size_t, size_t) { return worth = true; },
      [&](size_t at, size_t n) { return worth = n >= kMinBase64Run && text_like(run.substr(at, n)); });
  return worth;
}

int HitCollector::on_match(unsigned int id, unsigned long long, unsigned long long to, unsigned int, void* ctx) {
  static_cast<HitCollector*>(ctx)->hits->push_back({id, to, to});
  return 0;
}

void Sink::add(Finding f, const Origin* origin) {
  // A unit with this many findings is blocked many times over; more only costs time.
  if (out->size() - first_new >= kMaxFindingsPerCall) return;
  for (size_t i = first_new; i < out->size(); ++i) {
    const Finding& g = (*out)[i];
    if (g.detector != f.detector) continue;
    if (g.offset == f.offset) return;
    // A decoded view re-finding what a raw or other view already reported in the same word.
    if (origin != nullptr && g.offset >= origin->begin && g.offset <= origin->end) return;
  }
  f.location = std::string(location);
  out->push_back(std::move(f));
}


uint64_t Engine::confirm(Sink& sink, Direction dir, uint32_t id, std::string_view window, uint64_t window_abs,
                         uint64_t hit_end, const Origin* origin, bool whole_window) const {
  const CompiledDetector& cd = detector(dir, id);
  const Detector& d = *cd.def;
  const size_t rel_end = static_cast<size_t>(hit_end - window_abs);

  if (d.kind == DetectorKind::mnemonic) {
    size_t b = 0, e = 0, covered = rel_end;
    if (!find_mnemonic(window, rel_end, b, e, covered)) return window_abs + covered;
    Finding f;
    f.detector = std::string(d.id);
    f.severity = d.severity;
    f.offset = origin != nullptr ? origin->begin : window_abs + b;
    f.snippet = redacted_snippet(window, b, e, origin != nullptr ? origin->how : "");
    sink.add(std::move(f), origin);
    return window_abs + covered;
  }

  re2::StringPiece input(window.data(), window.size());
  re2::StringPiece groups[2];
  const int ngroups = std::min(2, cd.re->NumberOfCapturingGroups() + 1);
  size_t pos = 0;
  while (pos <= window.size() &&
         cd.re->Match(input, pos, window.size(), RE2::UNANCHORED, groups, ngroups)) {
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
    const bool is_secret = d.kind == DetectorKind::secret;
    if ((d.validate == nullptr || d.validate(sv)) && !(is_secret && (is_documented_example(sv) || exempt(sv)))) {
      Finding f;
      f.detector = std::string(d.id);
      f.severity = d.severity;
      if (is_secret) {
        f.offset = origin != nullptr ? origin->begin : window_abs + s_begin;
        f.snippet = redacted_snippet(window, s_begin, s_begin + sv.size(), origin != nullptr ? origin->how : "");
      } else {
        f.offset = window_abs + m_begin;
        f.snippet = printable_excerpt(window.substr(m_begin, m_end - m_begin), 120);
        f.blocking = false;  // apply_injection_proximity decides
      }
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

void Engine::scan_word(Sink& sink, std::string_view word, const Origin& origin, int depth) const {
  // Shorter than every view and every run worth decoding (random binary is full of such
  // words): none of the decoders below could produce anything.
  if (depth >= kMaxDecodeDepth || word.size() < std::min(min_view_, kMinHexRun)) return;
  static_assert(kMinHexRun <= kMinBase64Run && kMinHexRun <= 51);
  auto nested = [&](std::string_view decoded, std::string_view how) {
    // Too short to hold any detector's match or known secret, or random bytes (hashes,
    // images, UUIDs read as base64) that hide no credential.
    if (decoded.size() < min_view_ || !mostly_text(decoded)) return;
    Origin o{origin.begin, origin.end, origin.how.empty() ? std::string(how) : origin.how + ">" + std::string(how)};
    scan_view(sink, decoded, &o, depth + 1);
  };
  const auto percents = static_cast<size_t>(std::count(word.begin(), word.end(), '%'));
  // A short word with escapes ("hello%20world") whose decoded view would be too short, no
  // non-ASCII byte and no room for a base64/hex run: nothing below can apply.
  const bool non_ascii = first_high_byte(word) != word.size();
  if (word.size() < kMinHexRun && word.size() < min_view_ + 2 * percents && !non_ascii) return;
  std::string buf;
  // Each %XX shrinks by two bytes; a view that ends up too short is not worth decoding.
  if (percents != 0 && word.size() >= min_view_ + 2 * percents && percent_decode(word, buf)) {
    nested(buf, "percent");
  }
  // Normalizing never lengthens a word, so a word shorter than a view is not worth it
  // (random binary is full of such words).
  if (word.size() >= min_view_ && non_ascii && unicode_would_change(word) &&
      normalize_unicode(word, buf)) {
    nested(buf, "unicode");
  }

  // Base64 / hex runs inside the word.
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
            confirm(sink, Direction::outbound, region_detector_[static_cast<size_t>(RunKind::base58)],
                    run.substr(at, n), abs, abs + n, &o, true);
            return false;
          },
          [&](size_t at, size_t n) {
            const std::string_view part = run.substr(at, n);
            if (n >= kMinBase64Run && base64_of_text(part) && base64_decode(part, buf)) nested(buf, "base64");
            return false;
          });
    }
    if (std::all_of(run.begin(), run.end(), [](char c) { return hex_char(static_cast<unsigned char>(c)); })) {
      if (hex_of_text(run) && hex_decode(run.substr(0, run.size() & ~size_t{1}), buf)) nested(buf, "hex");
      continue;
    }
    if (run.size() < kMinBase64Run) continue;
    if (base64_of_text(run) && base64_decode(run, buf)) nested(buf, "base64");
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
  std::vector<Region> regions;
  ClassScanner classes;
  classes.feed(text, hits, regions);
  classes.finish(hits, regions);
  for (const Region& r : regions) {
    if (!region_may_match(text.substr(static_cast<size_t>(r.begin), static_cast<size_t>(r.end - r.begin)), r.kind)) {
      continue;
    }
    const uint64_t from = r.begin > 0 ? r.begin - 1 : 0;
    const uint64_t to = std::min<uint64_t>(text.size(), r.end + 1);
    confirm(sink, Direction::outbound, region_detector_[static_cast<size_t>(r.kind)],
            text.substr(static_cast<size_t>(from), static_cast<size_t>(to - from)), from, r.end, origin, true);
  }
  if (hits.empty()) return;

  std::vector<uint64_t> covered(secret_.size(), 0);
  uint64_t words_done = 0;
  bool any_trigger = false;
  for (const Hit& h : hits) {
    if (h.id < kKnownBase) {
      if (h.end <= covered[h.id]) continue;
      const size_t max_len = secret_[h.id].def->max_len;
      const size_t from = h.end > max_len + 1 ? h.end - max_len - 1 : 0;
      const size_t to = std::min<size_t>(text.size(), h.end + max_len);
      covered[h.id] = confirm(sink, Direction::outbound, h.id, text.substr(from, to - from), from, h.end, origin);
    } else if (h.id < kTriggerPercent) {
      const size_t len = known(h.id).length;
      const size_t from = h.end > len + 16 ? h.end - len - 16 : 0;
      const size_t to = std::min<size_t>(text.size(), h.end + 8);
      emit_known(sink, h.id, text.substr(from, to - from), from, h.end, origin);
    } else {
      any_trigger = true;
    }
  }
  if (!any_trigger || depth >= kMaxDecodeDepth) return;
  for (const Hit& h : hits) {
    if (h.id < kTriggerPercent) continue;
    if (h.id == kTriggerBase64 && h.last_end == h.end && h.end >= kMinBase64Run) {
      const size_t begin = static_cast<size_t>(h.end) - kMinBase64Run;
      const RunShape shape = run_shape(text, begin);
      if (!run_worth_decoding(text.substr(begin, shape.end - begin), &shape)) continue;
    }
    // Every word overlapping [h.end-1, h.last_end-1].
    size_t p = static_cast<size_t>(h.end - 1);
    const size_t last = static_cast<size_t>(h.last_end - 1);
    while (p <= last && p < text.size()) {
      if (p < words_done) {
        p = static_cast<size_t>(words_done);
        continue;
      }
      if (is_word_delimiter(static_cast<unsigned char>(text[p]))) {
        ++p;
        continue;
      }
      const size_t b = word_begin(text, p), e = word_end(text, p);
      const Origin o = origin != nullptr ? *origin : Origin{b, e, ""};
      scan_word(sink, text.substr(b, e - b), o, depth);
      words_done = e;
      p = e;
    }
  }
}

void Engine::apply_injection_proximity(std::vector<Finding>& out, size_t from) {
  for (size_t i = from; i < out.size(); ++i) {
    const bool disclosure = out[i].detector == "injection.disclosure";
    for (size_t j = from; j < out.size(); ++j) {
      const bool other = disclosure ? out[j].detector == "injection.jailbreak"
                                    : out[j].detector == "injection.disclosure";
      if (!other) continue;
      const uint64_t a = out[i].offset, b = out[j].offset;
      if ((a > b ? a - b : b - a) <= kInjectionWindow) {
        out[i].blocking = true;
        break;
      }
    }
  }
}

void Engine::scan_inbound(Sink& sink, std::string_view text) const {
  std::string normalized;
  if (has_high_byte(text) && normalize_unicode(text, normalized)) text = normalized;
  std::vector<Hit> hits;
  if (!block_hits(in_block_.get(), text, hits)) return;
  std::vector<uint64_t> covered(injection_.size(), 0);
  for (const Hit& h : hits) {
    if (h.end <= covered[h.id]) continue;
    const size_t max_len = injection_[h.id].def->max_len;
    const size_t from = h.end > max_len + 1 ? h.end - max_len - 1 : 0;
    const size_t to = std::min<size_t>(text.size(), h.end + 1);
    covered[h.id] = confirm(sink, Direction::inbound, h.id, text.substr(from, to - from), from, h.end, nullptr);
  }
}

std::vector<Finding> Engine::scan(std::string_view data, Direction dir, std::string_view location) const {
  std::vector<Finding> out;
  if (scratch() == nullptr) {
    // Fail closed: a unit we could not scan is reported, never waved through.
    Finding f;
    f.detector = "dlp.scan_error";
    f.location = std::string(location);
    f.snippet = "scanner out of memory";
    out.push_back(std::move(f));
    return out;
  }
  Sink sink{&out, location, 0};
  if (dir == Direction::outbound) {
    scan_view(sink, data, nullptr, 0);
  } else {
    scan_inbound(sink, data);
    apply_injection_proximity(out, 0);
  }
  return out;
}


}  // namespace bottle::dlp::internal
