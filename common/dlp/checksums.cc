#include "common/dlp/checksums.h"

#include <zlib.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "common/dlp/bip39_words.h"

namespace bottle::dlp {

double shannon_entropy(std::string_view s) {
  if (s.empty()) return 0;
  std::array<uint32_t, 256> counts{};
  for (unsigned char c : s) ++counts[c];
  double h = 0;
  const double n = static_cast<double>(s.size());
  for (uint32_t c : counts) {
    if (c == 0) continue;
    const double p = c / n;
    h -= p * std::log2(p);
  }
  return h;
}

namespace {
constexpr std::string_view kBase62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
}  // namespace

std::string base62_fixed(uint32_t value, size_t width) {
  std::string out(width, '0');
  for (size_t i = width; i > 0 && value > 0; --i) {
    out[i - 1] = kBase62[value % 62];
    value /= 62;
  }
  return out;
}

bool github_token_checksum_ok(std::string_view token) {
  const size_t underscore = token.rfind('_');
  if (underscore == std::string_view::npos) return false;
  const std::string_view body = token.substr(underscore + 1);
  if (body.size() < 7) return false;
  const std::string_view random = body.substr(0, body.size() - 6);
  const uint32_t crc = static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(random.data()), static_cast<uInt>(random.size())));
  return base62_fixed(crc, 6) == body.substr(body.size() - 6);
}

bool luhn_ok(std::string_view s) {
  int sum = 0, n = 0;
  for (size_t i = s.size(); i > 0; --i) {
    const char c = s[i - 1];
    if (c == ' ' || c == '-') continue;
    if (c < '0' || c > '9') return false;
    int d = c - '0';
    if (n % 2 == 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    ++n;
  }
  return n >= 13 && n <= 19 && sum % 10 == 0;
}

namespace {
// Registered IBAN lengths (ISO 13616 registry), by country code.
int iban_length(char a, char b) {
  struct Entry {
    char code[3];
    int len;
  };
  static constexpr Entry kLengths[] = {
      {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
      {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22},
      {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27},
      {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
      {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20},
      {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24},
      {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
      {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SC", 31},
      {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24},
      {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}};
  for (const auto& e : kLengths) {
    if (e.code[0] == a && e.code[1] == b) return e.len;
  }
  return 0;
}
}  // namespace

bool iban_ok(std::string_view in) {
  std::string s;
  for (char c : in) {
    if (c == ' ') continue;
    s.push_back(c);
  }
  if (s.size() < 15 || s.size() > 34) return false;
  if (iban_length(s[0], s[1]) != static_cast<int>(s.size())) return false;
  const std::string moved = s.substr(4) + s.substr(0, 4);
  int rem = 0;
  for (char c : moved) {
    if (c >= '0' && c <= '9') {
      rem = (rem * 10 + (c - '0')) % 97;
    } else if (c >= 'A' && c <= 'Z') {
      const int v = c - 'A' + 10;
      rem = (rem * 100 + v) % 97;
    } else {
      return false;
    }
  }
  return rem == 1;
}

bool base58_decode(std::string_view in, std::string& out) {
  std::vector<uint8_t> num;  // little-endian base-256
  for (char c : in) {
    const size_t digit = kBase58Alphabet.find(c);
    if (digit == std::string_view::npos) return false;
    uint32_t carry = static_cast<uint32_t>(digit);
    for (auto& byte : num) {
      carry += uint32_t{byte} * 58;
      byte = static_cast<uint8_t>(carry);
      carry >>= 8;
    }
    while (carry > 0) {
      num.push_back(static_cast<uint8_t>(carry));
      carry >>= 8;
    }
  }
  out.assign(in.find_first_not_of('1') == std::string_view::npos ? in.size() : in.find_first_not_of('1'),
             '\0');
  for (size_t i = num.size(); i > 0; --i) out.push_back(static_cast<char>(num[i - 1]));
  return true;
}

bool base58check_ok(std::string_view in) {
  std::string raw;
  if (!base58_decode(in, raw) || raw.size() < 5) return false;
  const std::string_view payload(raw.data(), raw.size() - 4);
  const auto first = sha256(payload);
  const auto second = sha256(std::string_view(reinterpret_cast<const char*>(first.data()), first.size()));
  return std::memcmp(second.data(), raw.data() + raw.size() - 4, 4) == 0;
}

bool bip39_mnemonic_ok(std::string_view text) {
  std::vector<int> idx;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    const int i = bip39_index(text.substr(pos, end - pos));
    if (i < 0) return false;
    idx.push_back(i);
    pos = end + 1;
  }
  const size_t words = idx.size();
  if (words < 12 || words > 24 || words % 3 != 0) return false;
  const size_t total_bits = words * 11;
  const size_t cs_bits = total_bits / 33;
  const size_t ent_bytes = (total_bits - cs_bits) / 8;
  std::string entropy(ent_bytes, '\0');
  size_t bit = 0;
  uint32_t checksum = 0;
  for (int v : idx) {
    for (int b = 10; b >= 0; --b, ++bit) {
      const int set = (v >> b) & 1;
      if (bit < ent_bytes * 8) {
        if (set) entropy[bit / 8] = static_cast<char>(entropy[bit / 8] | (0x80 >> (bit % 8)));
      } else {
        checksum = (checksum << 1) | static_cast<uint32_t>(set);
      }
    }
  }
  const auto digest = sha256(entropy);
  return static_cast<uint32_t>(digest[0] >> (8 - cs_bits)) == checksum;
}

}  // namespace bottle::dlp
