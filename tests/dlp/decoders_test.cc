// Decoders behind the normalized views, and the bounded Content-Encoding decoders.
#include <brotli/encode.h>
#include <zlib.h>

#include <random>

#include "common/dlp/decode.h"
#include "common/dlp/decompress.h"
#include "common/dlp/known_secrets.h"
#include "tests/dlp/test_util.h"

namespace bottle::dlp::testing {
namespace {

std::string zlib_compress(std::string_view in, int window_bits) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}
std::string gzip(std::string_view in) { return zlib_compress(in, 15 + 16); }

std::string brotli(std::string_view in) {
  size_t size = BrotliEncoderMaxCompressedSize(in.size()) + 64;
  std::string out(size, '\0');
  EXPECT_TRUE(BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, in.size(),
                                    reinterpret_cast<const uint8_t*>(in.data()), &size,
                                    reinterpret_cast<uint8_t*>(out.data())));
  out.resize(size);
  return out;
}

TEST(Decode, PercentDecodesOneRoundAndLeavesBrokenEscapes) {
  std::string out;
  EXPECT_TRUE(percent_decode("a%41%2fb%zz%4", out));
  EXPECT_EQ(out, "aA/b%zz%4");
  EXPECT_TRUE(percent_decode("%2541", out));
  EXPECT_EQ(out, "%41");
  EXPECT_FALSE(percent_decode("plain+text", out));
  EXPECT_EQ(out, "plain+text");
}

TEST(Decode, Base64AcceptsBothAlphabetsAndMissingPadding) {
  std::string out;
  EXPECT_TRUE(base64_decode("aGVsbG8gd29ybGQ=", out));
  EXPECT_EQ(out, "hello world");
  EXPECT_TRUE(base64_decode("aGVsbG8gd29ybGQ", out));
  EXPECT_EQ(out, "hello world");
  EXPECT_TRUE(base64_decode(base64_encode("\xfb\xff\xfe", true), out));
  EXPECT_EQ(out, "\xfb\xff\xfe");
  EXPECT_FALSE(base64_decode("ab", out));
}

TEST(Decode, HexNeedsPairs) {
  std::string out;
  EXPECT_TRUE(hex_decode("48656C6c6f", out));
  EXPECT_EQ(out, "Hello");
  EXPECT_FALSE(hex_decode("486", out));
  EXPECT_FALSE(hex_decode("4g", out));
}

TEST(Decode, UnicodeNormalizationStripsInvisiblesAndFoldsLookalikes) {
  std::string out;
  EXPECT_TRUE(normalize_unicode("p\xE2\x80\x8B" "a\xE2\x80\xAE" "ss\xEF\xBB\xBF", out));
  EXPECT_EQ(out, "pass");
  EXPECT_TRUE(normalize_unicode("\xD0\xB0\xD0\xB5\xD0\xBE \xEF\xBC\xA1\xEF\xBD\x82", out));  // Cyrillic, fullwidth
  EXPECT_EQ(out, "aeo Ab");
  EXPECT_TRUE(normalize_unicode("\xF0\x9D\x90\x80\xF0\x9D\x90\x9A", out));  // mathematical bold A, a
  EXPECT_EQ(out, "Aa");
  EXPECT_FALSE(normalize_unicode("caf\xC3\xA9 \xE6\x97\xA5", out));  // real non-ASCII text is kept
  EXPECT_EQ(out, "caf\xC3\xA9 \xE6\x97\xA5");
  EXPECT_FALSE(normalize_unicode("\xff\xfe broken", out));
  EXPECT_EQ(out, "\xff\xfe broken");
}

// Binary bodies: invalid bytes around folded characters pass through in place, and the
// overlong encodings utf8_decode accepts are folded like the short ones.
TEST(Decode, UnicodeNormalizationKeepsInvalidBytesAroundFolds) {
  std::string out;
  EXPECT_TRUE(normalize_unicode("\x80\xff\xC3" "a\xE2\x80\x8B" "b\xD0\xB0\xfe\xE0\x82\xAD" "c\x9f", out));
  EXPECT_EQ(out, "\x80\xff\xC3" "ab" "a\xfe" "c\x9f");
  EXPECT_TRUE(normalize_unicode("\xF0\x80\x82\xAD\xE0\x90\xB0", out));  // overlong U+00AD, U+0430
  EXPECT_EQ(out, "a");
  const std::string binary = "\x01\x93\xc3\x28\xa0\xe2\x28\xa1\xf0\x28\x8c\xbc\xf8\xa1\xa1\xa1\xa1";
  EXPECT_FALSE(normalize_unicode(binary, out));
  EXPECT_EQ(out, binary);
}

// The vector search for folds works on 64-byte blocks: folds at every offset, across
// block boundaries and in the scalar tail must come out as a byte-wise walk would.
TEST(Decode, UnicodeNormalizationFindsFoldsAtEveryOffset) {
  // Filler cannot form a fold with its neighbours: ASCII, lone continuation bytes, bytes
  // no UTF-8 sequence starts with, and valid sequences without look-alikes.
  const std::vector<std::string> filler = {"a", " ", "\x80", "\xbf", "\xff", "\xf8", "\xC3\xA9", "\xE6\x97\xA5", "\xC3"};
  const std::vector<std::pair<std::string, std::string>> folds = {
      {"\xE2\x80\x8B", ""},  {"\xD0\xB0", "a"},        {"\xEF\xBC\xA1", "A"}, {"\xF0\x9D\x90\x80", "A"},
      {"\xC2\xA0", " "},      {"\xE0\x82\xAD", ""},    {"\xF3\xA0\x80\x81", ""}, {"\xE2\x80\xAE", ""}};
  std::mt19937 rng(5);
  for (int round = 0; round < 200; ++round) {
    std::string in, expected;
    const size_t tokens = rng() % 400;
    for (size_t t = 0; t < tokens; ++t) {
      if (rng() % 4 == 0) {
        const auto& f = folds[rng() % folds.size()];
        in += f.first;
        expected += f.second;
      } else {
        const std::string& f = filler[rng() % filler.size()];
        in += f;
        expected += f;
      }
    }
    std::string out;
    EXPECT_EQ(normalize_unicode(in, out), in != expected) << "round " << round;
    EXPECT_EQ(out, expected) << "round " << round;
    EXPECT_EQ(unicode_would_change(in), in != expected) << "round " << round;
  }
}

TEST(Decode, FoldCandidatesCoverEveryFoldInRandomBytes) {
  std::mt19937 rng(6);
  std::string block(64, '\0');
  size_t folds = 0;
  for (int round = 0; round < 20000; ++round) {
    for (char& c : block) c = static_cast<char>(rng());
    if (round % 3 == 0) block.replace(rng() % 62, 2, "\xD0\xB0");
    if (round % 5 == 0) block.replace(63, 1, "\xEF");  // a fold may start in the last byte
    const uint64_t mask = fold_candidates(block.data());
    for (size_t i = 0; i < 64; ++i) {
      if (fold_at(block, i) == FoldAt::no) continue;
      ++folds;
      EXPECT_NE((mask >> i) & 1, 0u) << "round " << round << " offset " << i;
    }
  }
  EXPECT_GT(folds, 7000u);  // the planted ones, at least
}

TEST(Decompress, RoundTripsEveryEncodingInTinyChunks) {
  const std::string plain = "hello compressed world " + std::string(5000, 'q') + " end";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"gzip", gzip(plain)},
      {"x-gzip", gzip(plain)},
      {"deflate", zlib_compress(plain, 15)},
      {"deflate", zlib_compress(plain, -15)},
      {"br", brotli(plain)},
      {"identity", plain},
      {"gzip, br", brotli(gzip(plain))},
      {" GZIP ", gzip(plain)},
  };
  for (const auto& [encoding, body] : cases) {
    auto decoder = BodyDecoder::create(encoding, 1 << 20);
    ASSERT_TRUE(decoder.ok()) << encoding;
    std::string out;
    for (size_t i = 0; i < body.size(); i += 3) {
      ASSERT_TRUE((*decoder)->feed(std::string_view(body).substr(i, 3), out).ok()) << encoding;
    }
    ASSERT_TRUE((*decoder)->finish(out).ok()) << encoding;
    EXPECT_EQ(out, plain) << encoding;
  }
}

TEST(Decompress, ConcatenatedGzipMembersAreAllDecoded) {
  auto out = decompress("gzip", gzip("one ") + gzip("two"), 1024);
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_EQ(*out, "one two");
}

TEST(Decompress, ZipBombStopsAtTheLimit) {
  const std::string zeros(64 << 20, '\0');
  for (const auto& [encoding, body] : std::vector<std::pair<std::string, std::string>>{
           {"gzip", gzip(zeros)}, {"br", brotli(zeros)}}) {
    EXPECT_LT(body.size(), 1u << 20) << encoding;
    auto out = decompress(encoding, body, 1 << 20);
    ASSERT_FALSE(out.ok()) << encoding;
    EXPECT_NE(out.error().find("exceeds 1048576 bytes"), std::string::npos) << out.error();
    EXPECT_EQ(out.code(), ErrorCode::too_large) << encoding;  // what callers branch on
  }
}

TEST(Decompress, UnknownEncodingIsReported) {
  for (const char* enc : {"zstd", "compress", "gzip, foo", ""}) {
    auto decoder = BodyDecoder::create(enc, 1024);
    ASSERT_FALSE(decoder.ok()) << enc;
    EXPECT_NE(decoder.error().find("unsupported content-encoding"), std::string::npos) << decoder.error();
    EXPECT_EQ(decoder.code(), ErrorCode::not_supported) << enc;
  }
}

TEST(Decompress, CorruptAndTruncatedStreamsFail) {
  const std::string body = gzip("some text that compresses");
  auto truncated = decompress("gzip", body.substr(0, body.size() / 2), 1024);
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().find("truncated"), std::string::npos) << truncated.error();
  EXPECT_NE(truncated.code(), ErrorCode::too_large);  // a broken stream is not a cap
  auto corrupt = decompress("gzip", "this is not gzip at all", 1024);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_NE(corrupt.error().find("gzip"), std::string::npos) << corrupt.error();
  auto bad_br = decompress("br", "\xff\xff\xff\xff garbage", 1024);
  ASSERT_FALSE(bad_br.ok());
}

TEST(Decompress, DecodedBodyFeedsTheScanner) {
  auto scanner = build_scanner();
  const std::string secret_body = "{\"key\": \"AKIAZ7Q2MNB3XK4PL5RT\"}";
  // Applied gzip first, then br: the header lists them in that order.
  auto plain = decompress("gzip, br", brotli(gzip(secret_body)), 1 << 20);
  ASSERT_TRUE(plain.ok()) << plain.error();
  EXPECT_TRUE(has_detector(scanner->scan(*plain, Direction::outbound, "body"), "secret.aws_access_key_id"));
}

}  // namespace
}  // namespace bottle::dlp::testing
