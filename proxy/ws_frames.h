// WebSocket (RFC 6455) message reassembly for DLP on an upgraded connection. The proxy
// forwards the bytes unchanged; this reader follows the frames alongside, unmasks client
// frames, joins fragments up to a cap and hands each data message to the scanner. Pure:
// bytes in, messages out, so it is unit-tested and fuzzed without sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace bottle::proxy {

class WsMessageReader {
 public:
  // Messages longer than `max_message` are scanned up to the cap (their tail is not).
  explicit WsMessageReader(size_t max_message) : max_message_(max_message) {}

  using OnMessage = std::function<void(std::string_view payload)>;
  // False on a framing error (reserved opcode, oversized control frame, bad continuation,
  // 64-bit length with the top bit set): the connection should be closed.
  bool feed(std::string_view bytes, const OnMessage& on_message);
  const std::string& error() const { return error_; }

 private:
  bool parse_header();
  void fail(std::string why) { error_ = std::move(why); }

  size_t max_message_;
  std::string header_;  // bytes of the current frame header (2..14)
  bool in_payload_ = false;
  bool fin_ = false;
  uint8_t opcode_ = 0;
  bool masked_ = false;
  uint8_t mask_[4] = {};
  uint64_t remaining_ = 0;  // payload bytes left in the current frame
  uint64_t mask_pos_ = 0;
  bool in_message_ = false;  // a fragmented data message is open
  std::string message_;
  std::string error_;
};

}  // namespace bottle::proxy
