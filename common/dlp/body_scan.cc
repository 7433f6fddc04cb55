// Outbound BodyScan: Hyperscan stream mode over the body as it arrives. Only a bounded
// tail of recent bytes is kept (for validation windows around hits and for words that
// straddle chunks), so a secret split across feed() calls is found without buffering the
// body. A body whose first bytes say it is compressed (no Content-Encoding) or UTF-16/32
// text is also fed, decoded, to an inner stream. Validation and decoding are the block
// scan's (block_scan.cc); the word walk is shared (engine.h).
#include <algorithm>

#include "common/dlp/class_runs.h"
#include "common/dlp/decode.h"
#include "common/dlp/decompress.h"
#include "common/dlp/engine.h"

namespace bottle::dlp::internal {
namespace {

constexpr size_t kMaxWord = 64 * 1024;     // longer words are decoded in pieces
constexpr size_t kMaxRegion = 4096 + 256;  // longest class-run region (BIP-39 words) plus margin
constexpr size_t kSniffBytes = 64;         // how much of the body's start decides what it is

// "[gzip] ..." or "[gzip>base64] ...": a finding inside a decoded payload.
void mark_decoded(Finding& f, std::string_view how) {
  if (!f.snippet.empty() && f.snippet.front() == '[') {
    f.snippet.insert(1, std::string(how) + ">");
  } else {
    f.snippet.insert(0, "[" + std::string(how) + "] ");
  }
  f.offset = 0;  // decoded offsets point at the payload as a whole
}

class StreamScan final : public BodyScan {
 public:
  StreamScan(std::shared_ptr<const Engine> engine, std::string_view location, bool sniff)
      : eng_(std::move(engine)),
        location_(location),
        covered_(eng_->detector_count(), 0),
        tail_max_(std::max<size_t>(2 * eng_->max_window() + kWordLookback + 64, kMaxRegion)),
        sniffing_(sniff) {
    hs_stream_t* s = nullptr;
    if (hs_open_stream(eng_->stream_db(Direction::outbound), 0, &s) == HS_SUCCESS) stream_.reset(s);
  }

  void feed(std::string_view chunk, std::vector<Finding>& out) override {
    if (finished_ || chunk.empty()) return;
    if (sniffing_) {
      const size_t take = std::min(kSniffBytes - head_.size(), chunk.size());
      head_.append(chunk.substr(0, take));
      if (head_.size() >= kSniffBytes) {
        decide(out);
        if (inner_ && take < chunk.size()) feed_inner(chunk.substr(take), out, false);
      }
    } else if (inner_) {
      feed_inner(chunk, out, false);
    }
    run(chunk, out, false);
  }

  void finish(std::vector<Finding>& out) override {
    if (finished_) return;
    if (sniffing_) decide(out);
    if (inner_) feed_inner({}, out, true);
    run({}, out, true);
    finished_ = true;
  }

 private:
  // A word running past the chunk: bytes [begin, end) so far, and where to look for its
  // end again (word_end's `resume`).
  struct OpenWord {
    bool open = false;
    uint64_t begin = 0, end = 0, resume = 0;
    std::string bytes;
  };

  // The body's first bytes are in: is it a compressed payload or wide text?
  void decide(std::vector<Finding>& out) {
    sniffing_ = false;
    if (const Packing packing = sniff_packing(head_); packing != Packing::none) {
      open_inner(packing_decoder(packing, kMaxSniffedOutput), packing_name(packing));
    } else if (wide_ = sniff_wide_text(head_); wide_ != WideText::none) {
      open_inner(nullptr, "utf16");
    } else if (looks_binary(head_)) {
      open_inner(packing_decoder(Packing::brotli, kMaxSniffedOutput), "br");
      trial_ = true;  // kept only if it decodes to text
    }
    if (inner_) feed_inner(head_, out, false);
    head_.clear();
  }

  void open_inner(std::unique_ptr<BodyDecoder> decoder, std::string_view how) {
    decoder_ = std::move(decoder);
    how_ = how;
    inner_ = std::make_unique<StreamScan>(eng_, location_, false);
  }

  void feed_inner(std::string_view chunk, std::vector<Finding>& out, bool final) {
    decoded_.clear();
    bool ok = true;
    if (decoder_) {
      ok = decoder_->feed(chunk, decoded_).ok() && (!final || decoder_->finish(decoded_).ok());
    } else {
      wide_carry_.append(chunk);
      wide_carry_.erase(0, wide_to_utf8(wide_carry_, wide_, decoded_));
    }
    if (trial_ && !decoded_.empty()) {
      // Brotli was a guess: it stands if the first bytes out are text.
      ok = ok && mostly_text(std::string_view(decoded_).substr(0, 512));
      trial_ = false;
    }
    const size_t first = out.size();
    if (ok && !decoded_.empty()) inner_->feed(decoded_, out);
    // A payload that turns out not to be what it looked like (or is too large to inflate)
    // is still scanned raw; the inner scan reports what it saw so far.
    if (final || !ok) inner_->finish(out);
    for (size_t i = first; i < out.size(); ++i) mark_decoded(out[i], how_);
    if (final || !ok) inner_.reset();
  }

  void run(std::string_view chunk, std::vector<Finding>& out, bool final) {
    hs_scratch_t* scratch = eng_->scratch();
    if (stream_ == nullptr || scratch == nullptr) {
      report_stream_error(error_reported_, location_, consumed_, out);
      return;
    }
    hits_.clear();
    HitCollector collector{&hits_};
    if (!chunk.empty() && hs_scan_stream(stream_.get(), chunk.data(), static_cast<unsigned>(chunk.size()), 0, scratch,
                                         &HitCollector::on_match, &collector) != HS_SUCCESS) {
      report_stream_error(error_reported_, location_, consumed_, out);
      return;
    }
    if (final) hs_close_stream(stream_.release(), scratch, &HitCollector::on_match, &collector);
    const uint64_t base = consumed_;
    const uint64_t end = base + chunk.size();
    const Window w(tail_, chunk, base);
    Sink sink{&out, location_, out.size()};
    classes_.feed(chunk, hits_, pending_regions_);
    if (final) classes_.finish(hits_, pending_regions_);

    triggers_.clear();
    for (const Hit& h : hits_) (h.id >= kTriggerPercent ? triggers_ : pending_).push_back(h);
    std::stable_sort(triggers_.begin(), triggers_.end(), [](const Hit& a, const Hit& b) { return a.end < b.end; });
    decode_words(sink, w, final);

    size_t done = 0;
    for (; done < pending_.size(); ++done) {
      const Hit& h = pending_[done];
      const HitWindow hw = eng_->hit_window(h);
      if (!final && hw.to > end) break;  // wait for lookahead bytes
      const std::string_view window = w.slice(hw.from, hw.to, scratch_);
      eng_->confirm_hit(sink, h, window, std::max(hw.from, w.begin()), nullptr, covered_);
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(done));
    size_t regions_done = 0;
    for (; regions_done < pending_regions_.size(); ++regions_done) {
      const Region& r = pending_regions_[regions_done];
      if (!final && r.end + 1 > end) break;
      const uint64_t from = std::max<uint64_t>(r.begin > 0 ? r.begin - 1 : 0, w.begin());
      eng_->confirm_region(sink, static_cast<size_t>(r.kind), w.slice(from, r.end + 1, scratch_), from, r.begin,
                           r.end, nullptr);
    }
    pending_regions_.erase(pending_regions_.begin(),
                           pending_regions_.begin() + static_cast<std::ptrdiff_t>(regions_done));

    // Keep the last tail_max_ bytes for windows and straddling words.
    keep_tail(tail_, chunk, tail_max_);
    consumed_ = end;
  }

  void close_word(Sink& sink, size_t k, uint64_t end) {
    OpenWord& ow = open_[k];
    eng_->scan_word(sink, ow.bytes, static_cast<WordKind>(k), Origin{ow.begin, end, ""}, 0);
    done_[k] = end;
    ow.open = false;
    ow.bytes.clear();
  }

  void decode_words(Sink& sink, const Window& w, bool final) {
    // Words the previous chunk left open go on into this one.
    for (size_t k = 0; k < kWordKinds; ++k) {
      OpenWord& ow = open_[k];
      if (!ow.open) continue;
      const auto kind = static_cast<WordKind>(k);
      uint64_t resume = 0;
      const uint64_t e = word_end(w, std::max(ow.resume, w.begin()), ow.begin, kind, final, &resume);
      if (e < ow.end) {
        ow.bytes.resize(static_cast<size_t>(std::max(e, ow.begin) - ow.begin));  // an undecided line break ended it
      } else {
        ow.bytes.append(w.slice(ow.end, e, scratch_));
      }
      ow.end = e;
      ow.resume = resume;
      if (e < w.end() || final) {
        close_word(sink, k, e);
        continue;
      }
      done_[k] = w.end();
      if (ow.bytes.size() >= kMaxWord) {
        // Decode a piece now: at the last line break of a wrapped block, else on a
        // multiple of 4 so base64 stays aligned.
        const size_t nl = ow.bytes.rfind('\n');
        const size_t cut = nl != std::string::npos && nl > kMaxWord / 2 ? nl + 1 : ow.bytes.size() - ow.bytes.size() % 4;
        eng_->scan_word(sink, std::string_view(ow.bytes).substr(0, cut), kind, Origin{ow.begin, ow.begin + cut, ""}, 0);
        ow.bytes.erase(0, cut);
        ow.begin += cut;
      }
    }
    for_each_trigger_word(w, triggers_, done_, kWordLookback, final, [&](uint64_t b, uint64_t e, uint64_t resume,
                                                                          WordKind kind) {
      const auto k = static_cast<size_t>(kind);
      OpenWord& ow = open_[k];
      ow.begin = b;
      ow.end = e;
      ow.resume = resume;
      ow.bytes.assign(w.slice(b, e, scratch_));
      if (e < w.end() || final) {
        close_word(sink, k, e);
      } else {
        ow.open = true;  // done_[k] becomes w.end(): later triggers in it are part of it
      }
      return true;
    });
  }

  std::shared_ptr<const Engine> eng_;
  std::string location_;
  HsStream stream_;
  std::vector<uint64_t> covered_;
  size_t tail_max_;
  std::string tail_;
  uint64_t consumed_ = 0;
  std::vector<Hit> hits_, triggers_, pending_;
  ClassScanner classes_;
  std::vector<Region> pending_regions_;
  bool finished_ = false;
  bool error_reported_ = false;
  std::array<OpenWord, kWordKinds> open_{};
  std::array<uint64_t, kWordKinds> done_{};
  std::string scratch_;  // slices reaching back into the tail
  // Sniffing the payload: what it is, and the inner scan of it decoded.
  bool sniffing_;
  std::string head_;
  std::unique_ptr<BodyDecoder> decoder_;
  WideText wide_ = WideText::none;
  std::string wide_carry_;
  bool trial_ = false;
  std::string how_;
  std::string decoded_;
  std::unique_ptr<StreamScan> inner_;
};

}  // namespace

std::unique_ptr<BodyScan> Engine::open_body(Direction dir, std::string_view location) const {
  if (dir == Direction::inbound) return open_inbound(location);
  return std::make_unique<StreamScan>(shared_from_this(), location, true);
}

}  // namespace bottle::dlp::internal
