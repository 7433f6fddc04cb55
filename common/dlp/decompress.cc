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

Result<std::string> decompress(std::string_view content_encoding, std::string_view body, size_t max_output) {
  auto decoder = BodyDecoder::create(content_encoding, max_output);
  if (!decoder) return decoder.failure();
  std::string out;
  if (Status s = (*decoder)->feed(body, out); !s) return s.failure();
  if (Status s = (*decoder)->finish(out); !s) return s.failure();
  return out;
}

}  // namespace bottle::dlp
