#include "proxy/body_inspector.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "tests/proxy/gzip_writer.h"

namespace bottle::proxy {
namespace {

constexpr const char* kSecret = "known-secret-value-7f3a9c21";

std::shared_ptr<const dlp::Scanner> scanner() {
  static std::shared_ptr<const dlp::Scanner> s = [] {
    dlp::ScannerConfig c;
    c.known_secrets = {kSecret};
    return dlp::Scanner::build(c).value();
  }();
  return s;
}

// gzip of `zeros` zero bytes followed by `tail`, made in pieces (never all in memory).
std::string gzip_zeros_then(size_t zeros, const std::string& tail) {
  testing::GzipWriter gz(9, 9);
  const std::string block(1 << 20, '\0');
  for (size_t done = 0; done < zeros; done += block.size()) {
    gz.write(std::string_view(block).substr(0, std::min(block.size(), zeros - done)), Z_NO_FLUSH);
  }
  gz.write(tail, Z_FINISH);
  return std::move(gz.output());
}

// Fed in 64 KiB pieces like socket reads; true when a `block` policy would block.
bool would_block(BodyInspector& in, const std::string& body) {
  std::vector<dlp::Finding> found;
  for (size_t off = 0; off < body.size(); off += 65536) {
    if (!in.feed(std::string_view(body).substr(off, 65536), found)) return true;
  }
  if (!in.finish(found)) return true;
  return !found.empty();
}

TEST(BodyInspector, FindsASecretInAGzippedBody) {
  BodyInspector in(*scanner(), dlp::Direction::outbound, "body", std::string("gzip"), 1 << 20);
  EXPECT_TRUE(would_block(in, gzip_zeros_then(1000, std::string("x=") + kSecret)));
}

// The decoded-size cap stops the scan, so what lies past it was never read: the body is
// unreadable, and a blocking policy blocks it (found by an adversarial review: 65 MiB of
// zeros, then the secret, in a 66 KB upload).
TEST(BodyInspector, BodyDecodingPastTheCapIsUnreadable) {
  const std::string gz = gzip_zeros_then(65u << 20, std::string("x=") + kSecret);
  BodyInspector in(*scanner(), dlp::Direction::outbound, "body", std::string("gzip"), 64u << 20);
  EXPECT_TRUE(would_block(in, gz));
  EXPECT_TRUE(in.unreadable());
  EXPECT_TRUE(in.too_large());
}

TEST(BodyInspector, UnknownEncodingIsUnreadable) {
  BodyInspector in(*scanner(), dlp::Direction::outbound, "body", std::string("zstd"), 1 << 20);
  EXPECT_TRUE(would_block(in, "opaque"));
  EXPECT_TRUE(in.unreadable());
  EXPECT_FALSE(in.too_large());
}

TEST(BodyInspector, CleanBodiesPass) {
  BodyInspector plain(*scanner(), dlp::Direction::outbound, "body", std::nullopt, 1 << 20);
  EXPECT_FALSE(would_block(plain, "hello world"));
  BodyInspector gz(*scanner(), dlp::Direction::outbound, "body", std::string("gzip"), 1 << 20);
  EXPECT_FALSE(would_block(gz, gzip_zeros_then(1000, "hello")));
}

}  // namespace
}  // namespace bottle::proxy
