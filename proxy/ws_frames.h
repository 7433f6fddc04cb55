// WebSocket (RFC 6455) message gate for DLP on an upgraded connection (SPEC §4.2.8). It
// reads frames, unmasks client frames and joins fragments up to a cap; a message leaves
// only once it is complete and its judge let it through, so no byte of a message (data or
// control frame) reaches the other side before the message was scanned. Pure: bytes in,
// bytes out, so it is unit-tested and fuzzed without sockets.
//
// What goes out is one frame per message (FIN set, same opcode, the first frame's masking
// key if the sender masked). RFC 6455 §5.4 lets an intermediary re-fragment messages when
// no extension was negotiated, and the proxy strips Sec-WebSocket-Extensions from the
// handshake, so RSV bits on any frame are a protocol error here: a permessage-deflate frame
// can never pass uninflated. A control frame may arrive inside a fragmented data message;
// it is judged and passed ahead of the held fragments, as the RFC allows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace bottle::proxy {

struct WsMessage {
  uint8_t opcode = 0;        // 1 text, 2 binary, 8 close, 9 ping, 10 pong
  std::string_view payload;  // unmasked and reassembled
};

class WsMessageGate {
 public:
  enum class Outcome {
    ok,         // everything complete so far went to `out`; the rest is held
    refused,    // the judge refused a message: nothing of it went out
    bad_frame,  // protocol error (reserved opcode or RSV bit, bad fragmentation, ...)
    too_large,  // a data message grew past the cap: nothing of it went out
  };

  // Data messages longer than `max_message` bytes are refused, never passed in part.
  explicit WsMessageGate(size_t max_message) : max_message_(max_message) {}

  // Returns whether a complete message may pass.
  using Judge = std::function<bool(const WsMessage&)>;
  // Appends the frames of every message `judge` let through to `out`. After anything but
  // `ok` the gate is spent: every later call returns the same outcome.
  Outcome feed(std::string_view bytes, const Judge& judge, std::string& out);

  const std::string& error() const { return error_; }
  // Bytes held for the message still open (for the process-wide buffer budget).
  size_t held() const { return message_.size() + header_.size(); }

 private:
  bool parse_header();
  Outcome fail(Outcome o, std::string why);
  void release_message();
  void emit(uint8_t opcode, bool masked, const uint8_t* key, std::string_view payload,
            std::string& out) const;

  size_t max_message_;
  Outcome spent_ = Outcome::ok;
  std::string error_;
  std::string header_;  // bytes of the current frame header (2..14)
  bool in_payload_ = false;
  bool fin_ = false;
  bool rsv_ = false;
  uint8_t opcode_ = 0;
  bool masked_ = false;
  uint8_t mask_[4] = {};
  uint64_t remaining_ = 0;  // payload bytes left in the current frame
  uint64_t mask_pos_ = 0;
  std::string control_;  // the current control frame's payload (at most 125 bytes)
  // The open data message (a first frame seen, FIN not yet).
  bool in_message_ = false;
  uint8_t message_opcode_ = 0;
  bool message_masked_ = false;
  uint8_t message_key_[4] = {};
  std::string message_;
  bool closed_ = false;  // a close frame went out: nothing may follow it
};

}  // namespace bottle::proxy
