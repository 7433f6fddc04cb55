#include "proxy/ws_frames.h"

#include <algorithm>

namespace bottle::proxy {

bool WsMessageReader::parse_header() {
  // Returns true once header_ holds a complete header (fields filled in).
  if (header_.size() < 2) return false;
  auto b0 = static_cast<uint8_t>(header_[0]);
  auto b1 = static_cast<uint8_t>(header_[1]);
  size_t need = 2;
  uint8_t len7 = b1 & 0x7f;
  if (len7 == 126) need += 2;
  if (len7 == 127) need += 8;
  bool masked = (b1 & 0x80) != 0;
  if (masked) need += 4;
  if (header_.size() < need) return false;
  fin_ = (b0 & 0x80) != 0;
  opcode_ = b0 & 0x0f;
  masked_ = masked;
  uint64_t len = len7;
  size_t pos = 2;
  if (len7 == 126) {
    len = (uint64_t{static_cast<uint8_t>(header_[2])} << 8) | static_cast<uint8_t>(header_[3]);
    pos = 4;
  } else if (len7 == 127) {
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<uint8_t>(header_[2 + i]);
    pos = 10;
  }
  if (masked_) {
    for (int i = 0; i < 4; ++i) mask_[i] = static_cast<uint8_t>(header_[pos + i]);
  }
  remaining_ = len;
  mask_pos_ = 0;
  return true;
}

bool WsMessageReader::feed(std::string_view bytes, const OnMessage& on_message) {
  if (!error_.empty()) return false;
  while (!bytes.empty() || (in_payload_ && remaining_ == 0)) {
    if (!in_payload_) {
      header_.push_back(bytes.front());
      bytes.remove_prefix(1);
      if (!parse_header()) continue;
      header_.clear();
      bool control = opcode_ >= 8;
      if ((opcode_ > 2 && opcode_ < 8) || opcode_ > 10) {
        fail("reserved WebSocket opcode " + std::to_string(opcode_));
        return false;
      }
      if (control && (!fin_ || remaining_ > 125)) {
        fail("fragmented or oversized WebSocket control frame");
        return false;
      }
      if (remaining_ >> 63) {
        fail("WebSocket frame length has the top bit set");
        return false;
      }
      if (!control) {
        if (opcode_ == 0 && !in_message_) {
          fail("WebSocket continuation without a message");
          return false;
        }
        if (opcode_ != 0 && in_message_) {
          fail("WebSocket data frame inside a fragmented message");
          return false;
        }
        if (opcode_ != 0) message_.clear();
        in_message_ = true;
      }
      in_payload_ = true;
    }
    size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, bytes.size()));
    if (opcode_ < 8 && message_.size() < max_message_) {
      size_t keep = std::min(take, max_message_ - message_.size());
      size_t start = message_.size();
      message_.append(bytes.substr(0, keep));
      if (masked_) {
        for (size_t i = 0; i < keep; ++i)
          message_[start + i] ^= static_cast<char>(mask_[(mask_pos_ + i) & 3]);
      }
    }
    mask_pos_ += take;
    remaining_ -= take;
    bytes.remove_prefix(take);
    if (remaining_ > 0) break;
    in_payload_ = false;
    if (opcode_ < 8 && fin_) {
      in_message_ = false;
      on_message(message_);
      message_.clear();
    }
  }
  return true;
}

}  // namespace bottle::proxy
