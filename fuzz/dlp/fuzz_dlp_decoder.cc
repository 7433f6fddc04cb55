// One decoder on arbitrary bytes (chosen at build time). Invariants: no crash, output
// never larger than the decoder allows (input size for the text decoders, the limit
// for decompression); for Unicode, the fold pre-filter never misses a fold; the inbound
// reading view and the wide-text converter stay within their bounds too.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/dlp/decode.h"
#include "common/dlp/decompress.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string out;
#if defined(DLP_FUZZ_DECODER_percent)
  bottle::dlp::percent_decode(in, out);
  if (out.size() > in.size()) std::abort();
#elif defined(DLP_FUZZ_DECODER_base64)
  bottle::dlp::base64_decode(in, out);
  if (out.size() > in.size()) std::abort();
#elif defined(DLP_FUZZ_DECODER_hex)
  bottle::dlp::hex_decode(in, out);
  if (out.size() > in.size()) std::abort();
#elif defined(DLP_FUZZ_DECODER_unescape)
  bottle::dlp::unescape(in, out);
  if (out.size() > in.size()) std::abort();
#elif defined(DLP_FUZZ_DECODER_base32)
  bottle::dlp::base32_decode(in, out);
  if (out.size() > in.size()) std::abort();
#elif defined(DLP_FUZZ_DECODER_hexgroups)
  if (bottle::dlp::hex_groups_decode(in, out) && (out.size() < 8 || out.size() > in.size() / 2)) std::abort();
#elif defined(DLP_FUZZ_DECODER_wide)
  // Converted in two pieces, as a stream would: the piece boundary loses nothing.
  const auto kind = bottle::dlp::sniff_wide_text(in);
  const size_t half = size / 2;
  std::string carry(in.substr(0, half));
  carry.erase(0, bottle::dlp::wide_to_utf8(carry, kind, out));
  carry.append(in.substr(half));
  const size_t used = bottle::dlp::wide_to_utf8(carry, kind, out);
  if (carry.size() - used > 6 || out.size() > 2 * size + 8) std::abort();
#elif defined(DLP_FUZZ_DECODER_reading)
  // Pieces of a body normalized for reading: never longer than the input plus the hidden
  // markers, and the dropped offsets stay inside the output.
  bottle::dlp::ReadingState state;
  std::string piece;
  size_t total = 0;
  for (size_t at = 0; at < size; at += 7) {
    bottle::dlp::normalize_for_reading(in.substr(at, 7), state, piece);
    total += piece.size();
  }
  if (total > 2 * size + 2) std::abort();
  for (uint64_t d : state.dropped) {
    if (d > total) std::abort();
  }
#elif defined(DLP_FUZZ_DECODER_unicode)
  bottle::dlp::normalize_unicode(in, out);
  if (out.size() > in.size()) std::abort();
  // The vector pre-filter may flag too much but never miss a fold the byte-wise check
  // finds, whatever the block's alignment in the input.
  for (size_t at = 0; at + 64 <= size; at += 64) {
    const std::string_view block = in.substr(at, 64);
    const uint64_t mask = bottle::dlp::fold_candidates(block.data());
    for (size_t i = 0; i < 64; ++i) {
      if (bottle::dlp::fold_at(block, i) != bottle::dlp::FoldAt::no && ((mask >> i) & 1) == 0) std::abort();
    }
  }
#elif defined(DLP_FUZZ_DECODER_zip)
  // A payload sniffed as an archive (no Content-Encoding): the entries' contents, bounded.
  constexpr size_t kLimit = 1 << 20;
  auto decoder = bottle::dlp::packing_decoder(bottle::dlp::Packing::zip, kLimit);
  const size_t half = size / 2;
  if (decoder->feed(in.substr(0, half), out).ok() && decoder->feed(in.substr(half), out).ok()) {
    (void)decoder->finish(out);
  }
  if (out.size() > kLimit + (16 << 10)) std::abort();
#else
#if defined(DLP_FUZZ_DECODER_gzip)
  const char* encoding = "gzip";
#elif defined(DLP_FUZZ_DECODER_deflate)
  const char* encoding = "deflate";
#else
  const char* encoding = "br";
#endif
  constexpr size_t kLimit = 1 << 20;
  auto decoder = bottle::dlp::BodyDecoder::create(encoding, kLimit);
  if (!decoder.ok()) std::abort();
  // Feed in two pieces so the streaming state is exercised.
  const size_t half = size / 2;
  if ((*decoder)->feed(in.substr(0, half), out).ok() && (*decoder)->feed(in.substr(half), out).ok()) {
    (void)(*decoder)->finish(out);
  }
  if (out.size() > kLimit + (16 << 10)) std::abort();
#endif
  return 0;
}
