#include "common/dlp/decompress.h"

#include <brotli/decode.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <vector>

#include "common/ascii.h"

namespace bottle::dlp {
namespace {

constexpr size_t kStep = 16 * 1024;

Error too_large(size_t max_output) {
  return Error{"decompressed body exceeds " + std::to_string(max_output) + " bytes",
               ErrorCode::too_large};
}

// One coding step; stages are chained for stacked encodings.
class Stage {
 public:
  virtual ~Stage() = default;
  virtual Status feed(std::string_view in, std::string& out) = 0;
  virtual Status finish(std::string& out) = 0;
};

class Identity final : public Stage {
 public:
  explicit Identity(size_t max) : max_(max) {}
  Status feed(std::string_view in, std::string& out) override {
    total_ += in.size();
    if (total_ > max_) return too_large(max_);
    out.append(in);
    return OkStatus();
  }
  Status finish(std::string&) override { return OkStatus(); }

 private:
  size_t max_;
  size_t total_ = 0;
};

// gzip (RFC 1952, multi-member) and deflate (zlib-wrapped RFC 1950, or raw RFC 1951 as
// some servers send it).
class Inflate final : public Stage {
 public:
  Inflate(bool gzip, size_t max) : gzip_(gzip), max_(max) {}
  ~Inflate() override {
    if (initialized_) inflateEnd(&zs_);
  }
  Inflate(const Inflate&) = delete;
  Inflate& operator=(const Inflate&) = delete;

  Status feed(std::string_view in, std::string& out) override {
    if (in.empty()) return OkStatus();
    if (!initialized_) {
      int window = 15 + 16;
      if (!gzip_) {
        const auto cmf = static_cast<unsigned char>(in[0]);
        // A zlib header has compression method 8 and a 16-bit check multiple of 31;
        // with only one byte seen, method 8 alone decides.
        const bool zlib_wrapped =
            (cmf & 0x0F) == 8 && (in.size() < 2 || ((cmf << 8) | static_cast<unsigned char>(in[1])) % 31 == 0);
        window = zlib_wrapped ? 15 : -15;
      }
      if (inflateInit2(&zs_, window) != Z_OK) return Error{"zlib: cannot initialise inflate"};
      initialized_ = true;
    }
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
    while (zs_.avail_in > 0) {
      if (ended_) {
        // Trailing bytes after a gzip member start another member; anything else is junk.
        if (!gzip_) return Error{"deflate: data after end of stream"};
        if (inflateReset(&zs_) != Z_OK) return Error{"gzip: cannot reset for next member"};
        ended_ = false;
      }
      const size_t before = out.size();
      out.resize(before + kStep);
      zs_.next_out = reinterpret_cast<Bytef*>(out.data() + before);
      zs_.avail_out = kStep;
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      out.resize(before + (kStep - zs_.avail_out));
      total_ += kStep - zs_.avail_out;
      if (total_ > max_) return too_large(max_);
      if (rc == Z_STREAM_END) {
        ended_ = true;
      } else if (rc == Z_BUF_ERROR) {
        if (zs_.avail_out != 0) break;  // needs more input
      } else if (rc != Z_OK) {
        return Error{std::string(gzip_ ? "gzip" : "deflate") + ": corrupt data (" +
                     (zs_.msg ? zs_.msg : "inflate error") + ")"};
      }
    }
    return OkStatus();
  }

  Status finish(std::string&) override {
    if (initialized_ && !ended_) return Error{std::string(gzip_ ? "gzip" : "deflate") + ": truncated stream"};
    return OkStatus();
  }

 private:
  bool gzip_;
  size_t max_;
  size_t total_ = 0;
  z_stream zs_{};
  bool initialized_ = false;
  bool ended_ = false;
};

class Brotli final : public Stage {
 public:
  explicit Brotli(size_t max) : max_(max), st_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr)) {}
  ~Brotli() override { BrotliDecoderDestroyInstance(st_); }
  Brotli(const Brotli&) = delete;
  Brotli& operator=(const Brotli&) = delete;

  Status feed(std::string_view in, std::string& out) override {
    if (st_ == nullptr) return Error{"br: cannot create decoder"};
    size_t avail_in = in.size();
    const auto* next_in = reinterpret_cast<const uint8_t*>(in.data());
    for (;;) {
      const size_t before = out.size();
      out.resize(before + kStep);
      size_t avail_out = kStep;
      auto* next_out = reinterpret_cast<uint8_t*>(out.data() + before);
      const BrotliDecoderResult rc =
          BrotliDecoderDecompressStream(st_, &avail_in, &next_in, &avail_out, &next_out, nullptr);
      out.resize(before + (kStep - avail_out));
      total_ += kStep - avail_out;
      if (total_ > max_) return too_large(max_);
      if (rc == BROTLI_DECODER_RESULT_ERROR) {
        return Error{std::string("br: corrupt data (") +
                     BrotliDecoderErrorString(BrotliDecoderGetErrorCode(st_)) + ")"};
      }
      if (rc == BROTLI_DECODER_RESULT_SUCCESS) {
        done_ = true;
        if (avail_in > 0) return Error{"br: data after end of stream"};
        return OkStatus();
      }
      if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) return OkStatus();
      // NEEDS_MORE_OUTPUT: loop for another step.
    }
  }

  Status finish(std::string&) override {
    if (!done_) return Error{"br: truncated stream"};
    return OkStatus();
  }

 private:
  size_t max_;
  size_t total_ = 0;
  BrotliDecoderState* st_;
  bool done_ = false;
};

// The entries of a zip archive read front to back by their local headers (the central
// directory at the end is not needed): stored entries are copied, deflated ones
// inflated, others skipped. Entries whose sizes only come after the data (bit 3) must be
// deflated, since only the deflate stream says where they end.
class ZipEntries final : public Stage {
 public:
  explicit ZipEntries(size_t max) : max_(max) {}
  ~ZipEntries() override { end_inflate(); }
  ZipEntries(const ZipEntries&) = delete;
  ZipEntries& operator=(const ZipEntries&) = delete;

  Status feed(std::string_view in, std::string& out) override {
    buf_.append(in);
    size_t pos = 0;
    Status st = OkStatus();
    while (st.ok() && step(pos, out, st)) {
    }
    buf_.erase(0, pos);
    return st;
  }
  Status finish(std::string&) override {
    if (state_ == State::done || (state_ == State::header && buf_.empty())) return OkStatus();
    return Error{"zip: truncated archive"};
  }

 private:
  enum class State { header, name, stored, deflated, descriptor, done };
  static uint32_t le(std::string_view s, size_t at, size_t n) {
    uint32_t v = 0;
    for (size_t k = n; k > 0; --k) v = (v << 8) | static_cast<unsigned char>(s[at + k - 1]);
    return v;
  }
  void end_inflate() {
    if (inflating_) inflateEnd(&zs_);
    inflating_ = false;
  }
  Status emit(std::string_view bytes, std::string& out) {
    total_ += bytes.size();
    if (total_ > max_) return too_large(max_);
    out.append(bytes);
    return OkStatus();
  }
  // One step on buf_[pos..]; false when more input is needed or the archive ended.
  bool step(size_t& pos, std::string& out, Status& st) {
    const std::string_view b = std::string_view(buf_).substr(pos);
    switch (state_) {
      case State::done:
        pos = buf_.size();
        return false;
      case State::header: {
        if (b.size() < 4) return false;
        const uint32_t sig = le(b, 0, 4);
        if (sig == 0x02014b50 || sig == 0x06054b50) {  // central directory: no more entries
          state_ = State::done;
          return true;
        }
        if (sig != 0x04034b50) {
          st = Error{"zip: bad local header"};
          return false;
        }
        if (b.size() < 30) return false;
        flags_ = le(b, 6, 2);
        method_ = le(b, 8, 2);
        size_ = le(b, 18, 4);
        skip_ = le(b, 26, 2) + le(b, 28, 2);
        pos += 30;
        state_ = State::name;
        return true;
      }
      case State::name: {
        const size_t n = std::min<size_t>(skip_, b.size());
        pos += n;
        skip_ -= n;
        if (skip_ > 0) return false;
        if (method_ == 8) {
          zs_ = z_stream{};
          if (inflateInit2(&zs_, -15) != Z_OK) {
            st = Error{"zip: cannot initialise inflate"};
            return false;
          }
          inflating_ = true;
          state_ = State::deflated;
        } else if ((flags_ & 8) != 0) {
          st = Error{"zip: entry of unknown size"};
          return false;
        } else {
          state_ = State::stored;  // method 0 is copied; others are skipped unread
          remaining_ = size_;
        }
        return true;
      }
      case State::stored: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, b.size()));
        if (method_ == 0) {
          if (st = emit(b.substr(0, n), out); !st.ok()) return false;
        }
        pos += n;
        remaining_ -= n;
        if (remaining_ > 0) return false;
        state_ = State::header;
        if (st = emit("\n", out); !st.ok()) return false;
        return true;
      }
      case State::deflated: {
        if (b.empty()) return false;
        zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(b.data()));
        zs_.avail_in = static_cast<uInt>(b.size());
        char chunk[16384];
        zs_.next_out = reinterpret_cast<Bytef*>(chunk);
        zs_.avail_out = sizeof chunk;
        const int rc = inflate(&zs_, Z_NO_FLUSH);
        pos += b.size() - zs_.avail_in;
        if (st = emit(std::string_view(chunk, sizeof chunk - zs_.avail_out), out); !st.ok()) return false;
        if (rc == Z_STREAM_END) {
          end_inflate();
          state_ = (flags_ & 8) != 0 ? State::descriptor : State::header;
          if (st = emit("\n", out); !st.ok()) return false;
          return true;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
          st = Error{"zip: corrupt deflate data"};
          return false;
        }
        return zs_.avail_in > 0 || zs_.avail_out == 0;
      }
      case State::descriptor: {
        // crc, sizes (12 bytes), optionally preceded by the signature PK\7\8.
        if (b.size() < 16) return false;
        pos += le(b, 0, 4) == 0x08074b50 ? 16 : 12;
        state_ = State::header;
        return true;
      }
    }
    return false;
  }

  size_t max_;
  size_t total_ = 0;
  std::string buf_;
  State state_ = State::header;
  uint32_t flags_ = 0, method_ = 0, size_ = 0;
  size_t skip_ = 0;
  uint64_t remaining_ = 0;
  z_stream zs_{};
  bool inflating_ = false;
};

class Chain final : public BodyDecoder {
 public:
  explicit Chain(std::vector<std::unique_ptr<Stage>> stages) : stages_(std::move(stages)) {}

  Status feed(std::string_view in, std::string& out) override { return run(0, in, out, false); }
  Status finish(std::string& out) override { return run(0, {}, out, true); }

 private:
  // Pushes `in` through stage i and the stages after it; on finish, each stage is
  // finished after its input is flushed to the next.
  Status run(size_t i, std::string_view in, std::string& out, bool finishing) {
    if (i == stages_.size()) {
      out.append(in);
      return OkStatus();
    }
    std::string mid;
    if (Status s = stages_[i]->feed(in, mid); !s) return s;
    if (finishing) {
      if (Status s = stages_[i]->finish(mid); !s) return s;
    }
    if (mid.empty() && !finishing) return OkStatus();
    return run(i + 1, mid, out, finishing);
  }

  std::vector<std::unique_ptr<Stage>> stages_;
};

std::string trim_lower(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return ascii_lower(s);
}

}  // namespace

Result<std::unique_ptr<BodyDecoder>> BodyDecoder::create(std::string_view content_encoding, size_t max_output) {
  std::vector<std::unique_ptr<Stage>> stages;
  size_t pos = 0;
  for (;;) {
    const size_t comma = content_encoding.find(',', pos);
    const std::string name = trim_lower(content_encoding.substr(pos, comma == std::string_view::npos
                                                                          ? std::string_view::npos
                                                                          : comma - pos));
    if (name == "gzip" || name == "x-gzip") {
      stages.push_back(std::make_unique<Inflate>(true, max_output));
    } else if (name == "deflate") {
      stages.push_back(std::make_unique<Inflate>(false, max_output));
    } else if (name == "br") {
      stages.push_back(std::make_unique<Brotli>(max_output));
    } else if (name == "identity") {
      stages.push_back(std::make_unique<Identity>(max_output));
    } else {
      return Error{"unsupported content-encoding '" + name + "'", ErrorCode::not_supported};
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  // Codings are listed in the order applied, so they are undone last to first.
  std::reverse(stages.begin(), stages.end());
  return std::unique_ptr<BodyDecoder>(std::make_unique<Chain>(std::move(stages)));
}

std::string_view packing_name(Packing p) {
  switch (p) {
    case Packing::none: return "none";
    case Packing::gzip: return "gzip";
    case Packing::zlib: return "zlib";
    case Packing::zip: return "zip";
    case Packing::brotli: return "br";
  }
  return "none";
}

Packing sniff_packing(std::string_view head) {
  if (head.size() < 4) return Packing::none;
  const auto b0 = static_cast<unsigned char>(head[0]), b1 = static_cast<unsigned char>(head[1]);
  if (b0 == 0x1f && b1 == 0x8b && head[2] == 8) return Packing::gzip;
  if (head.substr(0, 4) == std::string_view("PK\x03\x04", 4)) return Packing::zip;
  // zlib as every encoder writes it: a 32 KiB window (0x78) and one of the four levels'
  // flag bytes. (Any header with a valid check would also match text 1 time in 31.)
  if (b0 == 0x78 && (b1 == 0x01 || b1 == 0x5E || b1 == 0x9C || b1 == 0xDA)) return Packing::zlib;
  return Packing::none;
}

std::unique_ptr<BodyDecoder> packing_decoder(Packing p, size_t max_output) {
  std::vector<std::unique_ptr<Stage>> stages;
  switch (p) {
    case Packing::gzip: stages.push_back(std::make_unique<Inflate>(true, max_output)); break;
    case Packing::zlib: stages.push_back(std::make_unique<Inflate>(false, max_output)); break;
    case Packing::zip: stages.push_back(std::make_unique<ZipEntries>(max_output)); break;
    case Packing::brotli: stages.push_back(std::make_unique<Brotli>(max_output)); break;
    case Packing::none: stages.push_back(std::make_unique<Identity>(max_output)); break;
  }
  return std::make_unique<Chain>(std::move(stages));
}

Result<std::string> decompress(std::string_view content_encoding, std::string_view body, size_t max_output) {
  auto decoder = BodyDecoder::create(content_encoding, max_output);
  if (!decoder) return decoder.failure();
  std::string out;
  if (Status s = (*decoder)->feed(body, out); !s) return s.failure();
  if (Status s = (*decoder)->finish(out); !s) return s.failure();
  return out;
}

}  // namespace bottle::dlp
