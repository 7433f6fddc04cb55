#include "common/dlp/decode.h"

#include <array>
#include <cstdint>
#include <cstring>

namespace bottle::dlp {
namespace {

int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::array<int8_t, 256> make_b64_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 26; ++i) {
    t['A' + i] = static_cast<int8_t>(i);
    t['a' + i] = static_cast<int8_t>(26 + i);
  }
  for (int i = 0; i < 10; ++i) t['0' + i] = static_cast<int8_t>(52 + i);
  t['+'] = t['-'] = 62;
  t['/'] = t['_'] = 63;
  return t;
}
constexpr std::array<int8_t, 256> kB64 = make_b64_table();

}  // namespace

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  bool changed = false;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      const int hi = hex_value(static_cast<unsigned char>(in[i + 1]));
      const int lo = hex_value(static_cast<unsigned char>(in[i + 2]));
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        changed = true;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return changed;
}

bool base64_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size() / 4 * 3 + 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t used = 0;
  for (unsigned char c : in) {
    const int v = kB64[c];
    if (v < 0) break;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    ++used;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return used >= 4;
}

bool hex_decode(std::string_view in, std::string& out) {
  out.clear();
  if (in.size() % 2 != 0) return false;
  out.reserve(in.size() / 2);
  for (size_t i = 0; i < in.size(); i += 2) {
    const int hi = hex_value(static_cast<unsigned char>(in[i]));
    const int lo = hex_value(static_cast<unsigned char>(in[i + 1]));
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return !in.empty();
}

namespace {

// Decodes one UTF-8 sequence at s[i]; returns its length (0 when invalid).
size_t utf8_decode(std::string_view s, size_t i, uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  return len;
}

bool invisible(uint32_t cp) {
  return cp == 0x00AD || cp == 0x034F || cp == 0x061C || cp == 0x180E || (cp >= 0x200B && cp <= 0x200F) ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x206F) ||
         cp == 0xFEFF || (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0000 && cp <= 0xE007F);
}

// ASCII look-alike of `cp`, or 0 when it has none.
char confusable(uint32_t cp) {
  if (cp >= 0xFF01 && cp <= 0xFF5E) return static_cast<char>(cp - 0xFF01 + 0x21);  // fullwidth
  if (cp >= 0x1D400 && cp <= 0x1D6A3) {  // mathematical letters: 13 styles of A-Z a-z
    const uint32_t k = (cp - 0x1D400) % 52;
    return static_cast<char>(k < 26 ? 'A' + k : 'a' + (k - 26));
  }
  if (cp >= 0x1D7CE && cp <= 0x1D7FF) return static_cast<char>('0' + (cp - 0x1D7CE) % 10);
  if (cp >= 0x2070 && cp <= 0x2079 && cp != 0x2071 && cp != 0x2072 && cp != 0x2073) {
    return static_cast<char>('0' + (cp - 0x2070));  // superscript digits
  }
  if (cp >= 0x2080 && cp <= 0x2089) return static_cast<char>('0' + (cp - 0x2080));
  switch (cp) {
    // Cyrillic
    case 0x0410: return 'A'; case 0x0412: return 'B'; case 0x0415: return 'E'; case 0x041A: return 'K';
    case 0x041C: return 'M'; case 0x041D: return 'H'; case 0x041E: return 'O'; case 0x0420: return 'P';
    case 0x0421: return 'C'; case 0x0422: return 'T'; case 0x0425: return 'X'; case 0x0405: return 'S';
    case 0x0406: return 'I'; case 0x0408: return 'J'; case 0x0430: return 'a'; case 0x0435: return 'e';
    case 0x043E: return 'o'; case 0x0440: return 'p'; case 0x0441: return 'c'; case 0x0443: return 'y';
    case 0x0445: return 'x'; case 0x0455: return 's'; case 0x0456: return 'i'; case 0x0458: return 'j';
    case 0x04BB: return 'h'; case 0x0501: return 'd'; case 0x051B: return 'q'; case 0x051D: return 'w';
    // Greek
    case 0x0391: return 'A'; case 0x0392: return 'B'; case 0x0395: return 'E'; case 0x0396: return 'Z';
    case 0x0397: return 'H'; case 0x0399: return 'I'; case 0x039A: return 'K'; case 0x039C: return 'M';
    case 0x039D: return 'N'; case 0x039F: return 'O'; case 0x03A1: return 'P'; case 0x03A4: return 'T';
    case 0x03A5: return 'Y'; case 0x03A7: return 'X'; case 0x03BF: return 'o'; case 0x03BD: return 'v';
    case 0x03B9: return 'i'; case 0x03C1: return 'p';
    // Latin look-alikes and punctuation
    case 0x0131: return 'i'; case 0x0261: return 'g'; case 0x2010: case 0x2011: case 0x2012:
    case 0x2013: case 0x2212: return '-';
    case 0x2024: return '.'; case 0x2044: case 0x2215: return '/'; case 0x02BC: case 0x2018:
    case 0x2019: return '\''; case 0x201C: case 0x201D: return '"'; case 0x00A0: case 0x2000:
    case 0x2001: case 0x2002: case 0x2003: case 0x2004: case 0x2005: case 0x2006: case 0x2007:
    case 0x2008: case 0x2009: case 0x200A: case 0x202F: case 0x205F: case 0x3000: return ' ';
    default: return 0;
  }
}

}  // namespace

size_t first_high_byte(std::string_view in, size_t from) {
  size_t i = from;
  for (; i + 8 <= in.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, in.data() + i, 8);
    if ((w & 0x8080808080808080ull) != 0) break;
  }
  while (i < in.size() && static_cast<unsigned char>(in[i]) < 0x80) ++i;
  return i;
}

namespace {

// Lead bytes of every UTF-8 sequence (overlong ones included: utf8_decode accepts them)
// whose code point is invisible or has a confusable. A lead byte is never a continuation
// byte, so a sequence that starts elsewhere can neither be changed nor hide one.
const std::array<bool, 256>& fold_leads() {
  static const std::array<bool, 256> leads = [] {
    std::array<bool, 256> t{};
    for (uint32_t cp = 0x80; cp < 0x200000; ++cp) {
      if (!invisible(cp) && confusable(cp) == 0) continue;
      if (cp < 0x800) t[0xC0 | (cp >> 6)] = true;
      if (cp < 0x10000) t[0xE0 | (cp >> 12)] = true;
      t[0xF0 | (cp >> 18)] = true;
    }
    return t;
  }();
  return leads;
}

}  // namespace

namespace {

// Visits every code point normalize_unicode drops or folds: on_fold(index, length,
// replacement or 0). Stops early when on_fold returns false.
template <typename OnFold>
[[gnu::always_inline]] inline void for_each_fold(std::string_view in, OnFold on_fold) {
  const std::array<bool, 256>& leads = fold_leads();
  size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      i = first_high_byte(in, i + 1);
      continue;
    }
    if (!leads[c]) {
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t len = utf8_decode(in, i, cp);
    if (len == 0) {
      ++i;
      continue;
    }
    const bool drop = invisible(cp);
    const char a = drop ? 0 : confusable(cp);
    if ((drop || a != 0) && !on_fold(i, len, a)) return;
    i += len;
  }
}

}  // namespace

bool normalize_unicode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  bool changed = false;
  // Bytes that pass through (ASCII, kept code points, invalid UTF-8) are copied in runs:
  // binary bodies are mostly invalid UTF-8, and a byte-by-byte copy dominated their scan.
  size_t kept_from = 0;
  for_each_fold(in, [&](size_t i, size_t len, char a) {
    out.append(in.substr(kept_from, i - kept_from));
    if (a != 0) out.push_back(a);
    kept_from = i + len;
    changed = true;
    return true;
  });
  out.append(in.substr(kept_from));
  return changed;
}

bool unicode_would_change(std::string_view in) {
  bool changed = false;
  for_each_fold(in, [&](size_t, size_t, char) {
    changed = true;
    return false;
  });
  return changed;
}

}  // namespace bottle::dlp
