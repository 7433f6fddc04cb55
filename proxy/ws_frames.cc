#include "proxy/ws_frames.h"

#include <algorithm>
#include <cstring>

namespace bottle::proxy {

bool WsMessageGate::parse_header() {
  // True once header_ holds a complete header (fields filled in).
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
  rsv_ = (b0 & 0x70) != 0;
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

WsMessageGate::Outcome WsMessageGate::fail(Outcome o, std::string why) {
  spent_ = o;
  error_ = std::move(why);
  std::string().swap(message_);
  return o;
}

void WsMessageGate::release_message() {
  // A connection idling after one large message must not keep its buffer.
  if (message_.capacity() > 64 * 1024) {
    std::string().swap(message_);
  } else {
    message_.clear();
  }
}

void WsMessageGate::emit(uint8_t opcode, bool masked, const uint8_t* key, std::string_view payload,
                         std::string& out) const {
  out.push_back(static_cast<char>(0x80 | opcode));
  uint8_t m = masked ? 0x80 : 0;
  size_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(m | n));
  } else if (n <= 0xffff) {
    out.push_back(static_cast<char>(m | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(static_cast<char>(m | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((uint64_t{n} >> shift) & 0xff));
    }
  }
  if (!masked) {
    out.append(payload);
    return;
  }
  out.append(reinterpret_cast<const char*>(key), 4);
  size_t start = out.size();
  out.append(payload);
  for (size_t i = 0; i < n; ++i) out[start + i] ^= static_cast<char>(key[i & 3]);
}

WsMessageGate::Outcome WsMessageGate::feed(std::string_view bytes, const Judge& judge,
                                           std::string& out) {
  if (spent_ != Outcome::ok) return spent_;
  while (!bytes.empty() || (in_payload_ && remaining_ == 0)) {
    if (!in_payload_) {
      header_.push_back(bytes.front());
      bytes.remove_prefix(1);
      if (!parse_header()) continue;
      header_.clear();
      const bool control = opcode_ >= 8;
      if (closed_) return fail(Outcome::bad_frame, "WebSocket frame after a close frame");
      if ((opcode_ > 2 && opcode_ < 8) || opcode_ > 10) {
        return fail(Outcome::bad_frame, "reserved WebSocket opcode " + std::to_string(opcode_));
      }
      if (rsv_) {
        return fail(Outcome::bad_frame,
                    "WebSocket frame with an RSV bit set (no extension was negotiated)");
      }
      if (control && (!fin_ || remaining_ > 125)) {
        return fail(Outcome::bad_frame, "fragmented or oversized WebSocket control frame");
      }
      if (remaining_ >> 63) {
        return fail(Outcome::bad_frame, "WebSocket frame length has the top bit set");
      }
      if (!control) {
        if (opcode_ == 0 && !in_message_) {
          return fail(Outcome::bad_frame, "WebSocket continuation without a message");
        }
        if (opcode_ != 0 && in_message_) {
          return fail(Outcome::bad_frame, "WebSocket data frame inside a fragmented message");
        }
        if (opcode_ != 0) {
          in_message_ = true;
          message_opcode_ = opcode_;
          message_masked_ = masked_;
          std::memcpy(message_key_, mask_, 4);
          message_.clear();
        }
        if (remaining_ > max_message_ - message_.size()) {
          return fail(Outcome::too_large, "WebSocket message larger than " +
                                              std::to_string(max_message_) + " bytes");
        }
      } else {
        control_.clear();
      }
      in_payload_ = true;
    }
    const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, bytes.size()));
    std::string& into = opcode_ >= 8 ? control_ : message_;
    const size_t start = into.size();
    into.append(bytes.substr(0, take));
    if (masked_) {
      for (size_t i = 0; i < take; ++i)
        into[start + i] ^= static_cast<char>(mask_[(mask_pos_ + i) & 3]);
    }
    mask_pos_ += take;
    remaining_ -= take;
    bytes.remove_prefix(take);
    if (remaining_ > 0) break;
    in_payload_ = false;
    if (opcode_ >= 8) {
      if (!judge(WsMessage{opcode_, control_})) {
        return fail(Outcome::refused, "WebSocket control frame refused");
      }
      emit(opcode_, masked_, mask_, control_, out);
      if (opcode_ == 8) {
        closed_ = true;  // a fragmented message still open never completes: drop it
        in_message_ = false;
        release_message();
      }
    } else if (fin_) {
      in_message_ = false;
      if (!judge(WsMessage{message_opcode_, message_})) {
        return fail(Outcome::refused, "WebSocket message refused");
      }
      emit(message_opcode_, message_masked_, message_key_, message_, out);
      release_message();
    }
  }
  return Outcome::ok;
}

}  // namespace bottle::proxy
