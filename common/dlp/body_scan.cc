// BodyScan: Hyperscan stream mode over the body as it arrives. Only a bounded tail of
// recent bytes is kept (for validation windows around hits and for words that straddle
// chunks), so a secret split across feed() calls is found without buffering the body.
#include <algorithm>

#include "common/dlp/class_runs.h"
#include "common/dlp/decode.h"
#include "common/dlp/engine.h"

namespace bottle::dlp::internal {
namespace {

constexpr size_t kWordLookback = 512;  // how far left a word may start before its trigger
constexpr size_t kMaxWord = 64 * 1024;  // longer words are decoded in pieces
constexpr size_t kMaxRegion = 4096 + 256;  // longest class-run region (BIP-39 words) plus margin

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

class StreamScan final : public BodyScan {
 public:
  StreamScan(std::shared_ptr<const Engine> engine, Direction dir, std::string_view location)
      : eng_(std::move(engine)),
        dir_(dir),
        location_(location),
        covered_(eng_->detector_count(dir), 0),
        tail_max_(std::max<size_t>(2 * eng_->max_window() + kWordLookback + 64, kMaxRegion)) {
    hs_stream_t* s = nullptr;
    if (hs_open_stream(eng_->stream_db(dir_), 0, &s) == HS_SUCCESS) stream_.reset(s);
  }

  void feed(std::string_view chunk, std::vector<Finding>& out) override {
    if (finished_ || chunk.empty()) return;
    // An ASCII chunk with nothing carried over normalizes to itself: no copy needed.
    if (dir_ == Direction::inbound && (!carry_.empty() || first_high_byte(chunk) != chunk.size())) {
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
      chunk = normalize_unicode(joined, normalized_) ? std::string_view(normalized_) : joined;
      if (chunk.empty()) return;
    }
    run(chunk, out, false);
  }

  void finish(std::vector<Finding>& out) override {
    if (finished_) return;
    if (!carry_.empty()) {
      const std::string rest = std::move(carry_);
      carry_.clear();
      run(rest, out, false);
    }
    run({}, out, true);
    finished_ = true;
  }

 private:
  char byte_at(uint64_t abs, std::string_view chunk, uint64_t base) const {
    if (abs >= base) return chunk[static_cast<size_t>(abs - base)];
    return tail_[static_cast<size_t>(abs - (base - tail_.size()))];
  }

  // Bytes [a, b) of the stream, from the tail and the current chunk: a view into the
  // chunk when they all lie there (the common case), else copied into scratch_.
  std::string_view slice(uint64_t a, uint64_t b, std::string_view chunk, uint64_t base) {
    a = std::max(a, base - tail_.size());
    b = std::min<uint64_t>(b, base + chunk.size());
    if (a >= b) return {};
    if (a >= base) return chunk.substr(static_cast<size_t>(a - base), static_cast<size_t>(b - a));
    slice_into(scratch_, a, b, chunk, base);
    return scratch_;
  }

  // slice() into a reused buffer: binary bodies open a word every few bytes.
  void slice_into(std::string& out, uint64_t a, uint64_t b, std::string_view chunk, uint64_t base) const {
    const uint64_t avail = base - tail_.size();
    a = std::max(a, avail);
    b = std::min<uint64_t>(b, base + chunk.size());
    out.clear();
    if (a >= b) return;
    if (a < base) {
      const uint64_t t_end = std::min(b, base);
      out.append(tail_, static_cast<size_t>(a - avail), static_cast<size_t>(t_end - a));
    }
    if (b > base) {
      const uint64_t c_begin = std::max(a, base);
      out.append(chunk.substr(static_cast<size_t>(c_begin - base), static_cast<size_t>(b - c_begin)));
    }
  }

  void scan_error(std::vector<Finding>& out) {
    if (error_reported_) return;
    error_reported_ = true;
    Finding f;
    f.detector = "dlp.scan_error";
    f.severity = Severity::high;
    f.location = location_;
    f.offset = consumed_;
    f.snippet = "body could not be scanned";
    out.push_back(std::move(f));
  }

  void run(std::string_view chunk, std::vector<Finding>& out, bool final) {
    hs_scratch_t* scratch = eng_->scratch();
    if (stream_ == nullptr || scratch == nullptr) return scan_error(out);
    hits_.clear();
    HitCollector collector{&hits_};
    if (!chunk.empty() && hs_scan_stream(stream_.get(), chunk.data(), static_cast<unsigned>(chunk.size()), 0,
                                         scratch, &HitCollector::on_match, &collector) != HS_SUCCESS) {
      return scan_error(out);
    }
    if (final) {
      hs_close_stream(stream_.release(), scratch, &HitCollector::on_match, &collector);
    }
    const uint64_t base = consumed_;
    const uint64_t end = base + chunk.size();
    Sink sink{&out, location_, out.size()};
    if (dir_ == Direction::outbound) {
      classes_.feed(chunk, hits_, pending_regions_);
      if (final) classes_.finish(hits_, pending_regions_);
    }

    if (dir_ == Direction::outbound) decode_words(sink, chunk, base, final);
    for (const Hit& h : hits_) {
      if (h.id < kTriggerPercent) pending_.push_back(h);
    }
    size_t done = 0;
    for (; done < pending_.size(); ++done) {
      const Hit& h = pending_[done];
      const bool known = h.id >= kKnownBase;
      const size_t before = known ? eng_->known(h.id).length + 16 : eng_->detector(dir_, h.id).def->max_len + 1;
      const size_t after = known ? 8 : (dir_ == Direction::inbound ? 1 : eng_->detector(dir_, h.id).def->max_len);
      if (!final && h.end + after > end) break;  // wait for lookahead bytes
      const uint64_t from = h.end > before ? h.end - before : 0;
      const std::string_view window = slice(from, h.end + after, chunk, base);
      const uint64_t window_abs = std::max(from, base - tail_.size());
      if (known) {
        eng_->emit_known(sink, h.id, window, window_abs, h.end, nullptr);
      } else if (h.end > covered_[h.id]) {
        covered_[h.id] = eng_->confirm(sink, dir_, h.id, window, window_abs, h.end, nullptr);
      }
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(done));
    const uint64_t avail = base - tail_.size();
    size_t regions_done = 0;
    for (; regions_done < pending_regions_.size(); ++regions_done) {
      const Region& r = pending_regions_[regions_done];
      if (!final && r.end + 1 > end) break;
      const uint64_t from = std::max<uint64_t>(r.begin > 0 ? r.begin - 1 : 0, avail);
      const std::string_view window = slice(from, r.end + 1, chunk, base);
      const size_t skip = r.begin > from ? static_cast<size_t>(r.begin - from) : 0;
      if (!region_may_match(std::string_view(window).substr(std::min(skip, window.size()),
                                                           static_cast<size_t>(r.end - r.begin)),
                            r.kind)) {
        continue;
      }
      eng_->confirm(sink, dir_, eng_->region_detector(static_cast<size_t>(r.kind)), window, from, r.end, nullptr,
                    true);
    }
    pending_regions_.erase(pending_regions_.begin(),
                           pending_regions_.begin() + static_cast<std::ptrdiff_t>(regions_done));
    if (dir_ == Direction::inbound) mark_injection_proximity(out, sink.first_new);

    // Keep the last tail_max_ bytes for windows and straddling words.
    if (chunk.size() >= tail_max_) {
      tail_.assign(chunk.substr(chunk.size() - tail_max_));
    } else {
      tail_.append(chunk);
      if (tail_.size() > tail_max_) tail_.erase(0, tail_.size() - tail_max_);
    }
    consumed_ = end;
  }

  void mark_injection_proximity(std::vector<Finding>& out, size_t from) {
    for (size_t i = from; i < out.size(); ++i) {
      Finding& f = out[i];
      const bool disclosure = f.detector == "injection.disclosure";
      const uint64_t other = disclosure ? last_jailbreak_ : last_disclosure_;
      if (other != kNone && (f.offset > other ? f.offset - other : other - f.offset) <= kInjectionWindow) {
        f.blocking = true;
      }
      (disclosure ? last_disclosure_ : last_jailbreak_) = f.offset;
    }
  }

  void close_word(Sink& sink) {
    const Origin o{word_begin_, word_begin_ + word_.size(), ""};
    eng_->scan_word(sink, word_, o, 0);
    words_done_ = o.end;
    word_open_ = false;
    word_.clear();
  }

  void decode_words(Sink& sink, std::string_view chunk, uint64_t base, bool final) {
    const uint64_t end = base + chunk.size();
    if (word_open_) {
      size_t d = 0;
      while (d < chunk.size() && !is_word_delimiter(static_cast<unsigned char>(chunk[d]))) ++d;
      word_.append(chunk.substr(0, d));
      if (d < chunk.size() || final) {
        close_word(sink);
      } else if (word_.size() >= kMaxWord) {
        // Decode a piece now; cut on a multiple of 4 so base64 stays aligned.
        const size_t cut = word_.size() - word_.size() % 4;
        const Origin o{word_begin_, word_begin_ + cut, ""};
        eng_->scan_word(sink, std::string_view(word_).substr(0, cut), o, 0);
        word_.erase(0, cut);
        word_begin_ += cut;
      }
    }
    std::vector<const Hit*> triggers;
    for (const Hit& h : hits_) {
      if (h.id >= kTriggerPercent) triggers.push_back(&h);
    }
    std::sort(triggers.begin(), triggers.end(), [](const Hit* a, const Hit* b) { return a->end < b->end; });
    const uint64_t avail = base - tail_.size();
    for (const Hit* h : triggers) {
      uint64_t p = h->end - 1;
      const uint64_t last = h->last_end - 1;
      while (p <= last && p < end && !word_open_) {
        if (p < words_done_) {
          p = words_done_;
          continue;
        }
        if (p < avail) {
          p = avail;
          continue;
        }
        if (is_word_delimiter(static_cast<unsigned char>(byte_at(p, chunk, base)))) {
          ++p;
          continue;
        }
        if (h->id == kTriggerBase64 && h->last_end == h->end && p == h->end - 1 && h->end >= kMinBase64Run + avail) {
          // A random run that ends inside this chunk is not worth its word (see run_worth_decoding).
          uint64_t run_end = h->end;
          while (run_end < base && (kCharClasses[static_cast<unsigned char>(byte_at(run_end, chunk, base))] &
                                    kBase64Char) != 0) {
            ++run_end;
          }
          if (run_end >= base) run_end = base + base64_span_end(chunk, static_cast<size_t>(run_end - base));
          if (run_end < end && !run_worth_decoding(slice(h->end - kMinBase64Run, run_end, chunk, base))) break;
        }
        // Inside the chunk the word bounds come from the fast string_view walkers; the
        // byte-wise loops only cover the part of a word that lies in the tail.
        const uint64_t lowest = std::max<uint64_t>(avail, p > kWordLookback ? p - kWordLookback : 0);
        uint64_t b = p, e = p;
        if (b > base) b = std::max(lowest, base + word_begin(chunk, static_cast<size_t>(b - base)));
        while (b > lowest && !is_word_delimiter(static_cast<unsigned char>(byte_at(b - 1, chunk, base)))) --b;
        while (e < base && !is_word_delimiter(static_cast<unsigned char>(byte_at(e, chunk, base)))) ++e;
        if (e >= base) e = base + word_end(chunk, static_cast<size_t>(e - base));
        b = std::max(b, words_done_);
        word_begin_ = b;
        slice_into(word_, b, e, chunk, base);
        word_open_ = true;
        if (e < end || final) close_word(sink);
        p = e;
      }
    }
  }

  static constexpr uint64_t kNone = ~uint64_t{0};

  std::shared_ptr<const Engine> eng_;
  Direction dir_;
  std::string location_;
  HsStream stream_;
  std::vector<uint64_t> covered_;
  size_t tail_max_;
  std::string tail_;
  uint64_t consumed_ = 0;
  std::vector<Hit> hits_;
  std::vector<Hit> pending_;
  ClassScanner classes_;
  std::vector<Region> pending_regions_;
  bool finished_ = false;
  bool error_reported_ = false;
  std::string carry_;  // inbound: incomplete UTF-8 sequence held for the next chunk
  std::string joined_, normalized_;  // inbound: reused normalization buffers
  bool word_open_ = false;
  uint64_t word_begin_ = 0;
  std::string word_;
  std::string scratch_;  // slice() of bytes reaching back into the tail
  uint64_t words_done_ = 0;
  uint64_t last_disclosure_ = kNone;
  uint64_t last_jailbreak_ = kNone;
};

}  // namespace

std::unique_ptr<BodyScan> Engine::open_body(Direction dir, std::string_view location) const {
  return std::make_unique<StreamScan>(shared_from_this(), dir, location);
}

}  // namespace bottle::dlp::internal
