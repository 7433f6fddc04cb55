// Content-Encoding decoders for scanning compressed bodies (SPEC §4.2 item 7). Output is
// bounded: a body that would inflate past `max_output` is an error, never an allocation,
// so a zip bomb costs at most max_output bytes. An encoding we cannot decode is an error
// too, which the proxy turns into a block when that direction's DLP is `block`.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace bottle::dlp {

class BodyDecoder {
 public:
  // `content_encoding` is the header value: "gzip", "x-gzip", "deflate", "br", "identity",
  // or a comma-separated list applied in order ("gzip, br"). Unknown or empty coding
  // names fail with "unsupported content-encoding '<name>'".
  static Result<std::unique_ptr<BodyDecoder>> create(std::string_view content_encoding,
                                                     size_t max_output);
  virtual ~BodyDecoder() = default;
  // Decodes the next compressed chunk, appending plain bytes to `out`.
  virtual Status feed(std::string_view in, std::string& out) = 0;
  // End of body: fails when the compressed stream is truncated.
  virtual Status finish(std::string& out) = 0;
};

// Whole-body convenience over BodyDecoder.
Result<std::string> decompress(std::string_view content_encoding, std::string_view body,
                               size_t max_output);

// A payload sent compressed without a Content-Encoding (an agent posting `gzip | curl
// --data-binary @-`): gzip, zlib and zip are known by their first bytes; brotli has no
// magic, so the DLP engine tries it on payloads that are not text and keeps the output
// only when it is.
enum class Packing { none, gzip, zlib, zip, brotli };
std::string_view packing_name(Packing p);
// From the payload's first bytes (4 are enough); never returns brotli.
Packing sniff_packing(std::string_view head);
// A decoder for a sniffed payload: zip yields each entry's content (stored or deflated) in
// order, one newline between entries; a malformed archive is an error.
std::unique_ptr<BodyDecoder> packing_decoder(Packing p, size_t max_output);

}  // namespace bottle::dlp
