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

struct GateRun {
  WsMessageGate::Outcome outcome = WsMessageGate::Outcome::ok;
  std::vector<std::pair<uint8_t, std::string>> judged;
  std::string out;
};

// Feeds `bytes` in `step`-sized pieces; `refuse` is a payload the judge turns down.
GateRun run(WsMessageGate& g, const std::string& bytes, size_t step, const std::string& refuse = "") {
  GateRun r;
  auto judge = [&](const WsMessage& m) {
    r.judged.emplace_back(m.opcode, std::string(m.payload));
    return refuse.empty() || m.payload.find(refuse) == std::string_view::npos;
  };
  for (size_t off = 0; off < bytes.size() && r.outcome == WsMessageGate::Outcome::ok; off += step) {
    r.outcome = g.feed(std::string_view(bytes).substr(off, step), judge, r.out);
  }
  return r;
}

TEST(WsMessageGate, UnmasksReassemblesAndReframesAcrossAnySplit) {
  std::string stream = frame(0x01, "hel", true) + frame(0x89, "ping", true) +
                       frame(0x80, "lo", true) + frame(0x82, std::string(300, 'z'), false);
  // Out: the ping (passed ahead of the held fragments), then one frame per data message.
  std::string expected = frame(0x89, "ping", true) + frame(0x81, "hello", true) +
                         frame(0x82, std::string(300, 'z'), false);
  for (size_t step : {1u, 3u, 7u, 1000u}) {
    WsMessageGate g(1 << 20);
    GateRun r = run(g, stream, step);
    ASSERT_EQ(r.outcome, WsMessageGate::Outcome::ok) << g.error();
    ASSERT_EQ(r.judged.size(), 3u) << "step " << step;
    EXPECT_EQ(r.judged[0], std::make_pair(uint8_t{9}, std::string("ping")));
    EXPECT_EQ(r.judged[1], std::make_pair(uint8_t{1}, std::string("hello")));
    EXPECT_EQ(r.out, expected) << "step " << step;
    EXPECT_EQ(g.held(), 0u);
  }
}

// The bypasses an adversarial review found: none of these may put a byte of the secret
// on the wire.
TEST(WsMessageGate, NothingOfAMessageLeavesBeforeItIsComplete) {
  WsMessageGate g(1 << 20);
  GateRun first = run(g, frame(0x01, "AKIA-secret-first-half ", true), 1000);
  EXPECT_EQ(first.outcome, WsMessageGate::Outcome::ok);
  EXPECT_TRUE(first.out.empty()) << "a FIN=0 fragment went out";
  EXPECT_GT(g.held(), 0u);
  // 210 of 220 bytes of one frame: held too.
  WsMessageGate g2(1 << 20);
  std::string big = frame(0x81, std::string(200, 'a') + "secret-tail", true);
  GateRun part = run(g2, big.substr(0, big.size() - 10), 1000);
  EXPECT_TRUE(part.out.empty());
  GateRun rest = run(g2, big.substr(big.size() - 10), 1000, "secret");
  EXPECT_EQ(rest.outcome, WsMessageGate::Outcome::refused);
  EXPECT_TRUE(rest.out.empty());
}

TEST(WsMessageGate, ControlFramePayloadsAreJudged) {
  for (uint8_t op : {0x88, 0x89, 0x8a}) {
    WsMessageGate g(1 << 20);
    GateRun r = run(g, frame(op, std::string("\x03\xe8") + "secret", true), 1000, "secret");
    EXPECT_EQ(r.outcome, WsMessageGate::Outcome::refused) << int(op);
    EXPECT_TRUE(r.out.empty()) << int(op);
  }
}

TEST(WsMessageGate, MessageOverTheCapIsRefusedWhole) {
  WsMessageGate g(8);
  GateRun r = run(g, frame(0x01, "abcd", true) + frame(0x80, "efghij", true), 1);
  EXPECT_EQ(r.outcome, WsMessageGate::Outcome::too_large);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(g.held(), 0u);
  WsMessageGate one(8);
  EXPECT_EQ(run(one, frame(0x81, "abcdefghi", true), 1000).outcome,
            WsMessageGate::Outcome::too_large);
  WsMessageGate fits(8);
  EXPECT_EQ(run(fits, frame(0x81, "abcdefgh", true), 1000).out, frame(0x81, "abcdefgh", true));
}

TEST(WsMessageGate, RsvBitsAreAProtocolError) {
  // RSV1 is permessage-deflate: a compressed payload the scanner cannot read.
  for (uint8_t first : {0xc1, 0xa1, 0x91, 0xc9}) {
    WsMessageGate g(1 << 20);
    GateRun r = run(g, frame(first, "x", true), 1000);
    EXPECT_EQ(r.outcome, WsMessageGate::Outcome::bad_frame) << int(first);
    EXPECT_TRUE(r.out.empty());
  }
}

TEST(WsMessageGate, RejectsFramingErrors) {
  for (const std::string& bad :
       {frame(0x83, "x", true), frame(0x00, "x", true), frame(0x09, "x", true),
        frame(0x89, std::string(126, 'p'), true), frame(0x01, "a", true) + frame(0x81, "b", true),
        frame(0x88, "", true) + frame(0x81, "late", true)}) {
    WsMessageGate g(1024);
    GateRun r = run(g, bad, 100);
    EXPECT_EQ(r.outcome, WsMessageGate::Outcome::bad_frame);
    EXPECT_FALSE(g.error().empty());
    // Spent: nothing more passes.
    std::string more;
    EXPECT_EQ(g.feed(frame(0x81, "ok", true), [](const WsMessage&) { return true; }, more),
              WsMessageGate::Outcome::bad_frame);
    EXPECT_TRUE(more.empty());
  }
}

TEST(WsMessageGate, CloseInsideAFragmentedMessageDropsTheFragments) {
  WsMessageGate g(1024);
  GateRun r = run(g, frame(0x01, "never-completed", true) + frame(0x88, "\x03\xe8", true), 1000);
  EXPECT_EQ(r.outcome, WsMessageGate::Outcome::ok);
  EXPECT_EQ(r.out, frame(0x88, "\x03\xe8", true));
  EXPECT_EQ(g.held(), 0u);
}

}  // namespace
}  // namespace bottle::proxy
