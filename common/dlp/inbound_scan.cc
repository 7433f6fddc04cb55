// Inbound scanning (responses, WebSocket messages from upstream): text is normalized as a
// reader would see it (confusables folded, zero-width characters dropped, Unicode tag
// characters spelled out as hidden text), streamed through Hyperscan for injection
// signals, each signal is confirmed by RE2 and read in its context, and InjectionJudge
// turns them into verdicts (injection.h). Block scans of inbound units use the same
// stream, so there is one injection rule.
#include <algorithm>

#include "common/dlp/decode.h"
#include "common/dlp/engine.h"

namespace bottle::dlp::internal {
namespace {

// Length of an incomplete UTF-8 sequence at the end of `s` (0 when it ends cleanly).
size_t incomplete_utf8_tail(std::string_view s) {
  for (size_t k = 1; k <= 3 && k <= s.size(); ++k) {
    const auto c = static_cast<unsigned char>(s[s.size() - k]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = 0;
    if ((c & 0xE0) == 0xC0) need = 2;
    else if ((c & 0xF0) == 0xE0) need = 3;
    else if ((c & 0xF8) == 0xF0) need = 4;
    return need > k ? k : 0;
  }
  return 0;
}

// Signals whose context is read at most this many times per body; past it (a page made of
// attack phrases) they count at full weight, which only blocks sooner.
constexpr size_t kMaxContextReads = 1024;

class InboundScan final : public BodyScan {
 public:
  InboundScan(std::shared_ptr<const Engine> engine, std::string_view location)
      : eng_(std::move(engine)),
        location_(location),
        covered_(eng_->signal_count(), 0),
        tail_max_(kContextLookback + 2 * eng_->max_signal_len() + 64) {
    hs_stream_t* s = nullptr;
    if (hs_open_stream(eng_->stream_db(Direction::inbound), 0, &s) == HS_SUCCESS) stream_.reset(s);
  }

  void feed(std::string_view chunk, std::vector<Finding>& out) override {
    if (finished_ || chunk.empty()) return;
    // An ASCII chunk with nothing carried over normalizes to itself: no copy needed.
    if (!carry_.empty() || reading_.in_tags || first_high_byte(chunk) != chunk.size()) {
      // Normalize before matching so zero-width characters cannot split a phrase. The
      // buffers are members: binary responses come this way chunk after chunk.
      std::string_view joined = chunk;
      if (!carry_.empty()) {
        joined_.assign(carry_);
        joined_.append(chunk);
        joined = joined_;
      }
      const size_t hold = incomplete_utf8_tail(joined);
      carry_.assign(joined.substr(joined.size() - hold));
      joined.remove_suffix(hold);
      normalize_for_reading(joined, reading_, normalized_);
      chunk = normalized_;
      if (chunk.empty()) return;
    } else {
      reading_.out_offset += chunk.size();
    }
    run(chunk, out, false);
  }

  void finish(std::vector<Finding>& out) override {
    if (finished_) return;
    if (!carry_.empty()) {
      const std::string rest = std::move(carry_);
      carry_.clear();
      reading_.out_offset += rest.size();
      run(rest, out, false);
    }
    run({}, out, true);
    finished_ = true;
  }

 private:
  void run(std::string_view chunk, std::vector<Finding>& out, bool final) {
    hs_scratch_t* scratch = eng_->scratch();
    if (stream_ == nullptr || scratch == nullptr ||
        (!chunk.empty() && hs_scan_stream(stream_.get(), chunk.data(), static_cast<unsigned>(chunk.size()), 0,
                                          scratch, &HitCollector::on_match, &collector_) != HS_SUCCESS)) {
      report_stream_error(error_reported_, location_, consumed_, out);
      return;
    }
    if (final) hs_close_stream(stream_.release(), scratch, &HitCollector::on_match, &collector_);
    const uint64_t base = consumed_;
    const uint64_t end = base + chunk.size();
    const Window w(tail_, chunk, base);
    const size_t first_new = out.size();

    size_t done = 0;
    for (; done < pending_.size(); ++done) {
      const Hit& h = pending_[done];
      // The match may go on after its anchor: wait until the window's bytes are in.
      if (!final && h.end + eng_->signal(h.id).def->max_len + 1 > end) break;
      confirm(w, h, out);
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(done));
    // No signal still to come can begin before this point (a match reaches at most its
    // maximum length back from its anchor).
    const uint64_t settled = pending_.empty() ? end : pending_.front().end;
    judge_.advance(settled > eng_->max_signal_len() ? settled - eng_->max_signal_len() : 0, out);
    if (final) judge_.finish(out);
    for (size_t i = first_new; i < out.size(); ++i) out[i].location = location_;

    keep_tail(tail_, chunk, tail_max_);
    consumed_ = end;
  }

  // One signal hit: the exact match by RE2 around it, its weight, its context.
  void confirm(const Window& w, const Hit& h, std::vector<Finding>& out) {
    if (h.end <= covered_[h.id]) return;
    const CompiledSignal& cs = eng_->signal(h.id);
    const uint64_t from = std::max<uint64_t>(h.end > cs.def->max_len + 1 ? h.end - cs.def->max_len - 1 : 0, w.begin());
    const std::string_view window = w.slice(from, h.end + cs.def->max_len + 1, window_buf_);
    const size_t rel_end = static_cast<size_t>(h.end - from);
    re2::StringPiece input(window.data(), window.size());
    re2::StringPiece m;
    size_t pos = 0;
    while (pos < window.size() && cs.re->Match(input, pos, window.size(), RE2::UNANCHORED, &m, 1)) {
      const size_t b = static_cast<size_t>(m.data() - window.data()), e = b + m.size();
      if (b >= rel_end) return;  // the match must hold the anchor
      if (e < rel_end || e == b) {
        pos = std::max(e, b + 1);
        continue;
      }
      covered_[h.id] = from + e;
      const std::string_view match(m.data(), m.size());
      const int weight = cs.def->judge != nullptr ? cs.def->judge(match) : cs.def->weight;
      if (weight <= 0) return;
      // Patterns that start at a line or tag boundary include it; the signal starts after.
      size_t lead = 0;
      while (lead + 1 < match.size() && (match[lead] == '\n' || match[lead] == '>' || match[lead] == '\r')) ++lead;
      const uint64_t abs_b = from + b + lead, abs_e = from + e;
      SignalContext ctx;
      if (context_reads_ < kMaxContextReads) {
        ++context_reads_;
        ctx = signal_context(w.slice(abs_b > kContextLookback ? abs_b - kContextLookback : 0, abs_b, context_buf_));
      }
      judge_.add(cs.def->kind, weight, abs_b, abs_e, ctx, obfuscated(abs_b, abs_e), match, out);
      return;
    }
  }

  // Whether a zero-width or bidi character was dropped inside [b, e).
  bool obfuscated(uint64_t b, uint64_t e) {
    auto& d = reading_.dropped;
    const auto it = std::upper_bound(d.begin(), d.end(), b);
    const bool inside = it != d.end() && *it < e;
    // Offsets before the lookback cannot matter any more.
    const uint64_t keep = b > kContextLookback ? b - kContextLookback : 0;
    d.erase(d.begin(), std::lower_bound(d.begin(), d.end(), keep));
    return inside;
  }

  std::shared_ptr<const Engine> eng_;
  std::string location_;
  HsStream stream_;
  std::vector<Hit> pending_;
  HitCollector collector_{&pending_};
  std::vector<uint64_t> covered_;
  size_t tail_max_;
  std::string tail_;
  uint64_t consumed_ = 0;
  bool finished_ = false;
  bool error_reported_ = false;
  std::string carry_;                // incomplete UTF-8 sequence held for the next chunk
  std::string joined_, normalized_;  // reused normalization buffers
  ReadingState reading_;
  std::string window_buf_, context_buf_;
  size_t context_reads_ = 0;
  InjectionJudge judge_;
};

}  // namespace

std::unique_ptr<BodyScan> Engine::open_inbound(std::string_view location) const {
  return std::make_unique<InboundScan>(shared_from_this(), location);
}

}  // namespace bottle::dlp::internal
