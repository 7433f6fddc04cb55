#include "common/dlp/known_secrets.h"

#include <algorithm>

namespace bottle::dlp {

std::string base64_encode(std::string_view in, bool url, bool pad) {
  static constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const char* alphabet = url ? kUrl : kStd;
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<unsigned char>(in[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(in[i + 1])} << 8) | static_cast<unsigned char>(in[i + 2]);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  const size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{static_cast<unsigned char>(in[i])} << 16;
    if (rest == 2) v |= uint32_t{static_cast<unsigned char>(in[i + 1])} << 8;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

std::vector<KnownPattern> known_secret_patterns(std::string_view secret) {
  std::vector<KnownPattern> out;
  if (secret.size() < kMinKnownSecret) return out;
  // The value itself in any case, reversed, and ROT13'd (each caseless too).
  out.push_back({std::string(secret), true, "raw"});
  const std::string backwards(secret.rbegin(), secret.rend());
  if (backwards != secret) out.push_back({backwards, true, "reversed"});
  std::string rot(secret);
  for (char& c : rot) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>('a' + (c - 'a' + 13) % 26);
    else if (c >= 'A' && c <= 'Z') c = static_cast<char>('A' + (c - 'A' + 13) % 26);
  }
  if (rot != secret) out.push_back({rot, true, "rot13"});
  // One separator between every two characters ("s-e-c-r-e-t", "s e c r e t").
  if (secret.size() >= kMinKnownSecretBase64) {
    for (std::string_view sep : {"-", " ", ".", "_", ":", "|", ",", ", ", "/", ";", "+", "*", "\t", "\n", "%20"}) {
      std::string spaced;
      for (size_t i = 0; i < secret.size(); ++i) {
        if (i > 0) spaced.append(sep);
        spaced.push_back(secret[i]);
      }
      out.push_back({spaced, true, "separated"});
    }
  }

  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex, pct;
  for (unsigned char c : secret) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 15]);
    pct.push_back('%');
    pct.push_back(kHex[c >> 4]);
    pct.push_back(kHex[c & 15]);
  }
  out.push_back({hex, true, "hex"});
  out.push_back({pct, true, "percent"});

  if (secret.size() < kMinKnownSecretBase64) return out;
  for (size_t align = 0; align < 3; ++align) {
    // With `align` unknown bytes before the secret, output characters are fully
    // determined by secret bits from ceil(8*align/6) up to floor(8*(align+n)/6).
    std::string shifted(align, '\0');
    shifted.append(secret);
    const std::string enc = base64_encode(shifted, false, false);
    const size_t first = (8 * align + 5) / 6;
    const size_t last = (8 * (align + secret.size())) / 6;  // exclusive
    const std::string inner = enc.substr(first, last - first);
    out.push_back({inner, false, "base64"});
    std::string url = inner;
    std::replace(url.begin(), url.end(), '+', '-');
    std::replace(url.begin(), url.end(), '/', '_');
    if (url != inner) out.push_back({url, false, "base64url"});
  }
  return out;
}

}  // namespace bottle::dlp
