// A gzip stream written in pieces, each with its own zlib flush mode, for tests that need
// a body's compressed shape (padding after a flush, a huge body never held in memory).
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <string_view>

namespace bottle::testing {

class GzipWriter {
 public:
  GzipWriter(int level, int mem_level) {
    EXPECT_EQ(deflateInit2(&z_, level, Z_DEFLATED, 31, mem_level, Z_DEFAULT_STRATEGY), Z_OK);
  }
  ~GzipWriter() { deflateEnd(&z_); }
  GzipWriter(const GzipWriter&) = delete;
  GzipWriter& operator=(const GzipWriter&) = delete;

  // Compresses `in` with `flush` (Z_NO_FLUSH, Z_SYNC_FLUSH, Z_FINISH) onto the output.
  void write(std::string_view in, int flush) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    char buf[1 << 16];
    do {
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = sizeof buf;
      deflate(&z_, flush);
      out_.append(buf, sizeof buf - z_.avail_out);
    } while (z_.avail_out == 0);
  }
  // Raw bytes onto the output (padding the test builds by hand).
  void append_raw(std::string_view bytes) { out_.append(bytes); }
  std::string& output() { return out_; }

 private:
  z_stream z_{};
  std::string out_;
};

}  // namespace bottle::testing
