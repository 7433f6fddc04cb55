// A body as the DLP engine must see it (SPEC §4.2 items 6-7): decoded from its
// Content-Encoding with bounded output, then scanned in stream mode. A body that cannot
// be decoded is "unreadable"; the caller blocks it when that direction's DLP is `block`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/dlp/decompress.h"
#include "common/dlp/scanner.h"

namespace bottle::proxy {

class BodyInspector {
 public:
  // `content_encoding`: the header value, if any. Decoded output past `max_decoded` stops
  // the scan (too_large()) rather than buffering, so a zip bomb costs nothing; the body is
  // then unreadable too: its tail was never scanned (SPEC §4.2.7).
  BodyInspector(const dlp::Scanner& scanner, dlp::Direction dir, std::string_view location,
                const std::optional<std::string>& content_encoding, size_t max_decoded);

  // New findings are appended. False once the body is unreadable (see error()).
  bool feed(std::string_view chunk, std::vector<dlp::Finding>& out);
  bool finish(std::vector<dlp::Finding>& out);

  // Bytes of text handed to the scanner so far (decoded, for a compressed body), and
  // whether the body is decoded at all (else each byte fed is one byte of text).
  uint64_t scanned() const { return scanned_; }
  bool decodes() const { return decoder_ != nullptr; }
  bool unreadable() const { return !error_.empty(); }
  bool too_large() const { return too_large_; }
  const std::string& error() const { return error_; }

 private:
  void fail(const Error& why);
  std::unique_ptr<dlp::BodyScan> scan_;
  std::unique_ptr<dlp::BodyDecoder> decoder_;
  std::string decoded_;
  uint64_t scanned_ = 0;
  std::string error_;
  bool too_large_ = false;
};

}  // namespace bottle::proxy
