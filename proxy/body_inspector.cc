#include "proxy/body_inspector.h"

namespace bottle::proxy {

BodyInspector::BodyInspector(const dlp::Scanner& scanner, dlp::Direction dir,
                             std::string_view location,
                             const std::optional<std::string>& content_encoding, size_t max_decoded)
    : scan_(scanner.open_body(dir, location)) {
  if (!content_encoding || content_encoding->empty() || *content_encoding == "identity") return;
  auto decoder = dlp::BodyDecoder::create(*content_encoding, max_decoded);
  if (!decoder) {
    fail(decoder.failure());
    return;
  }
  decoder_ = std::move(decoder.value());
}

void BodyInspector::fail(const Error& why) {
  if (!error_.empty()) return;
  // The decoder reports an output cap as an error too; that one means "stop scanning".
  too_large_ = why.code == ErrorCode::too_large;
  error_ = why.message;
}

bool BodyInspector::feed(std::string_view chunk, std::vector<dlp::Finding>& out) {
  if (!error_.empty()) return false;
  if (!decoder_) {
    scanned_ += chunk.size();
    scan_->feed(chunk, out);
    return true;
  }
  decoded_.clear();
  if (auto s = decoder_->feed(chunk, decoded_); !s) {
    fail(s.failure());
    return false;
  }
  scanned_ += decoded_.size();
  if (!decoded_.empty()) scan_->feed(decoded_, out);
  return true;
}

bool BodyInspector::finish(std::vector<dlp::Finding>& out) {
  if (!error_.empty()) return false;
  if (decoder_) {
    decoded_.clear();
    if (auto s = decoder_->finish(decoded_); !s) {
      fail(s.failure());
      return false;
    }
    if (!decoded_.empty()) scan_->feed(decoded_, out);
  }
  scan_->finish(out);
  return true;
}

}  // namespace bottle::proxy
