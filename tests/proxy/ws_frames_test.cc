#include "proxy/ws_frames.h"

#include <gtest/gtest.h>

#include <vector>

namespace bottle::proxy {
namespace {

std::string frame(uint8_t first, std::string payload, bool mask) {
  std::string out(1, static_cast<char>(first));
  uint8_t m = mask ? 0x80 : 0;
  if (payload.size() < 126) {
    out.push_back(static_cast<char>(m | payload.size()));
  } else {
    out.push_back(static_cast<char>(m | 126));
    out.push_back(static_cast<char>(payload.size() >> 8));
    out.push_back(static_cast<char>(payload.size() & 0xff));
  }
  if (mask) {
    const char key[4] = {0x11, 0x22, 0x33, 0x44};
    out.append(key, 4);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] ^= key[i & 3];
  }
  return out + payload;
}

std::vector<std::string> read_all(WsMessageReader& r, const std::string& bytes, size_t step,
                                  bool* ok) {
  std::vector<std::string> msgs;
  *ok = true;
  for (size_t off = 0; off < bytes.size() && *ok; off += step) {
    *ok = r.feed(std::string_view(bytes).substr(off, step),
                 [&](std::string_view m) { msgs.emplace_back(m); });
  }
  return msgs;
}

TEST(WsMessageReader, UnmasksAndReassemblesAcrossAnySplit) {
  std::string stream = frame(0x01, "hel", true) + frame(0x89, "ping", true) +
                       frame(0x80, "lo", true) + frame(0x82, std::string(300, 'z'), false);
  for (size_t step : {1u, 3u, 7u, 1000u}) {
    WsMessageReader r(1 << 20);
    bool ok = false;
    auto msgs = read_all(r, stream, step, &ok);
    ASSERT_TRUE(ok) << r.error();
    ASSERT_EQ(msgs.size(), 2u) << "step " << step;
    EXPECT_EQ(msgs[0], "hello");
    EXPECT_EQ(msgs[1], std::string(300, 'z'));
  }
}

TEST(WsMessageReader, CapsLongMessages) {
  WsMessageReader r(4);
  bool ok = false;
  auto msgs = read_all(r, frame(0x81, "abcdefgh", true), 100, &ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0], "abcd");
}

TEST(WsMessageReader, RejectsFramingErrors) {
  for (const std::string& bad :
       {frame(0x83, "x", true), frame(0x00, "x", true), frame(0x09, "x", true),
        frame(0x89, std::string(126, 'p'), true)}) {
    WsMessageReader r(1024);
    bool ok = true;
    read_all(r, bad, 100, &ok);
    EXPECT_FALSE(ok);
    EXPECT_FALSE(r.error().empty());
  }
}

}  // namespace
}  // namespace bottle::proxy
