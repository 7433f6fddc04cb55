#include "common/dlp/decode.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "common/dlp/cpu.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

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

bool is_hex_digit(char c) { return hex_value(static_cast<unsigned char>(c)) >= 0; }

void append_utf8(uint32_t cp, std::string& out) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// `n` hex digits at s[i] as a number, or -1.
int64_t hex_number(std::string_view s, size_t i, size_t n) {
  if (i + n > s.size()) return -1;
  int64_t v = 0;
  for (size_t k = 0; k < n; ++k) {
    const int d = hex_value(static_cast<unsigned char>(s[i + k]));
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// One group of hex digits in a separated hex dump (see hex_groups_decode).
struct HexGroup {
  size_t digits = 0, len = 0;  // where the digits are, how many
  bool prefixed = false;       // "0x" or "\x"
  char sep = 0;                // separator after it; 0 at the end, '\\' for a following "\x"
};

}  // namespace

bool hex_groups_decode(std::string_view in, std::string& out) {
  out.clear();
  std::vector<HexGroup> groups;
  size_t i = 0;
  while (i < in.size()) {
    const size_t start = i;
    HexGroup g;
    if (i + 2 < in.size() && (in[i] == '\\' || in[i] == '0') && (in[i + 1] == 'x' || in[i + 1] == 'X') &&
        is_hex_digit(in[i + 2])) {
      g.prefixed = true;
      i += 2;
    }
    g.digits = i;
    while (i < in.size() && is_hex_digit(in[i])) ++i;
    g.len = i - g.digits;
    const bool valid = g.len >= 2 && g.len <= 8 && g.len % 2 == 0;
    if (i < in.size() && std::string_view(":- ,.").find(in[i]) != std::string_view::npos) {
      g.sep = in[i++];
      while (i < in.size() && in[i] == ' ') ++i;
    } else if (i < in.size() && in[i] == '\\') {
      g.sep = '\\';
    } else if (i < in.size()) {
      g.sep = '?';  // anything else ends a run
      ++i;
    }
    groups.push_back(valid ? g : HexGroup{});  // an invalid group breaks a run
    if (i == start) ++i;
  }
  // The longest stretch of groups with one layout: same separator, same prefix, same
  // width (the last group may be narrower).
  size_t best_begin = 0, best_end = 0, best_bytes = 0;
  for (size_t a = 0; a < groups.size();) {
    if (groups[a].len == 0) {
      ++a;
      continue;
    }
    size_t b = a + 1, bytes = groups[a].len / 2;
    while (b < groups.size() && groups[b].len != 0 && groups[b - 1].sep == groups[a].sep && groups[a].sep != '?' &&
           groups[a].sep != 0 && groups[b].prefixed == groups[a].prefixed &&
           (groups[b].len == groups[a].len || (groups[b].len < groups[a].len && groups[b].sep != groups[a].sep))) {
      bytes += groups[b].len / 2;
      ++b;
    }
    if (bytes > best_bytes) {
      best_begin = a;
      best_end = b;
      best_bytes = bytes;
    }
    a = b;
  }
  if (best_bytes < 8) return false;
  out.reserve(best_bytes);
  for (size_t k = best_begin; k < best_end; ++k) {
    for (size_t d = 0; d < groups[k].len; d += 2) {
      out.push_back(static_cast<char>(hex_number(in, groups[k].digits + d, 2)));
    }
  }
  return true;
}

bool base32_decode(std::string_view in, std::string& out) {
  out.clear();
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() < 8) return false;
  out.reserve(in.size() * 5 / 8);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a';
    else if (c >= '2' && c <= '7') v = c - '2' + 26;
    else return false;
    acc = (acc << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

bool unescape(std::string_view in, std::string& out) {
  static constexpr std::pair<std::string_view, char> kNamed[] = {
      {"amp", '&'},    {"lt", '<'},     {"gt", '>'},       {"quot", '"'},    {"apos", '\''},  {"sol", '/'},
      {"colon", ':'},  {"equals", '='}, {"plus", '+'},     {"percnt", '%'},  {"period", '.'},  {"comma", ','},
      {"lowbar", '_'}, {"hyphen", '-'}, {"num", '#'},      {"excl", '!'},    {"quest", '?'},   {"commat", '@'},
      {"dollar", '$'}, {"lpar", '('},   {"rpar", ')'},     {"lsqb", '['},    {"rsqb", ']'},    {"lcub", '{'},
      {"rcub", '}'},   {"Tab", '\t'},   {"NewLine", '\n'}, {"nbsp", ' '},    {"semi", ';'},    {"ast", '*'},
      {"bsol", '\\'},  {"Hat", '^'},    {"grave", '`'},    {"verbar", '|'},  {"tilde", '~'}};
  out.clear();
  out.reserve(in.size());
  bool changed = false;
  size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    if (c == '&' && i + 2 < in.size()) {
      if (in[i + 1] == '#') {
        const bool hex = i + 2 < in.size() && (in[i + 2] == 'x' || in[i + 2] == 'X');
        size_t j = i + (hex ? 3 : 2);
        uint32_t cp = 0;
        const size_t digits_from = j;
        while (j < in.size() && j - digits_from < 7 &&
               (hex ? is_hex_digit(in[j]) : (in[j] >= '0' && in[j] <= '9'))) {
          cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(hex_value(static_cast<unsigned char>(in[j])));
          ++j;
        }
        if (j > digits_from) {
          if (j < in.size() && in[j] == ';') ++j;
          append_utf8(cp, out);
          changed = true;
          i = j;
          continue;
        }
      } else {
        const size_t semi = in.find(';', i + 1);
        if (semi != std::string_view::npos && semi - i <= 9) {
          const std::string_view name = in.substr(i + 1, semi - i - 1);
          const auto* hit = std::find_if(std::begin(kNamed), std::end(kNamed),
                                         [&](const auto& e) { return e.first == name; });
          if (hit != std::end(kNamed)) {
            out.push_back(hit->second);
            changed = true;
            i = semi + 1;
            continue;
          }
        }
      }
    } else if (c == '\\' && i + 1 < in.size()) {
      const char e = in[i + 1];
      if (e == 'u') {
        int64_t cp = hex_number(in, i + 2, 4);
        if (cp >= 0) {
          size_t used = 6;
          if (cp >= 0xD800 && cp <= 0xDBFF && i + 7 < in.size() && in[i + 6] == '\\' && in[i + 7] == 'u') {
            const int64_t lo = hex_number(in, i + 8, 4);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
              used = 12;
            }
          }
          append_utf8(static_cast<uint32_t>(cp), out);
          changed = true;
          i += used;
          continue;
        }
      } else if (e == 'x') {
        const int64_t b = hex_number(in, i + 2, 2);
        if (b >= 0) {
          out.push_back(static_cast<char>(b));
          changed = true;
          i += 4;
          continue;
        }
      } else {
        static constexpr std::string_view kFrom = "/nrtbf\"\\'";
        static constexpr std::string_view kTo = "/\n\r\t\b\f\"\\'";
        const size_t k = kFrom.find(e);
        if (k != std::string_view::npos) {
          out.push_back(kTo[k]);
          changed = true;
          i += 2;
          continue;
        }
      }
    }
    out.push_back(c);
    ++i;
  }
  return changed;
}

bool mostly_text(std::string_view s) {
  size_t control = 0;
  for (unsigned char c : s) control += (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f;
  return control * 32 <= s.size();
}

bool looks_binary(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1b) return true;
    const size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0) return true;
    for (size_t k = 1; k < len && i + k < s.size(); ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return true;
    }
    i += len;
  }
  return false;
}

WideText sniff_wide_text(std::string_view head) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(head[i]); };
  if (head.size() >= 4 && head.substr(0, 4) == std::string_view("\xFF\xFE\0\0", 4)) return WideText::utf32le;
  if (head.size() >= 4 && head.substr(0, 4) == std::string_view("\0\0\xFE\xFF", 4)) return WideText::utf32be;
  if (head.size() >= 2 && byte(0) == 0xFF && byte(1) == 0xFE) return WideText::utf16le;
  if (head.size() >= 2 && byte(0) == 0xFE && byte(1) == 0xFF) return WideText::utf16be;
  const size_t n = std::min<size_t>(head.size(), 64) & ~size_t{3};
  // Wide ASCII text is half zero bytes: no zero byte, no wide text (the common case).
  if (n < 16 || std::memchr(head.data(), 0, n) == nullptr) return WideText::none;
  // Mostly ASCII text: the high byte(s) of each unit zero, the low byte not.
  size_t le16 = 0, be16 = 0, le32 = 0, be32 = 0;
  for (size_t i = 0; i < n; i += 2) {
    le16 += byte(i) != 0 && byte(i + 1) == 0;
    be16 += byte(i) == 0 && byte(i + 1) != 0;
  }
  for (size_t i = 0; i < n; i += 4) {
    le32 += byte(i) != 0 && byte(i + 1) == 0 && byte(i + 2) == 0 && byte(i + 3) == 0;
    be32 += byte(i) == 0 && byte(i + 1) == 0 && byte(i + 2) == 0 && byte(i + 3) != 0;
  }
  if (le32 * 8 >= n / 4 * 7) return WideText::utf32le;
  if (be32 * 8 >= n / 4 * 7) return WideText::utf32be;
  if (le16 * 8 >= n / 2 * 7) return WideText::utf16le;
  if (be16 * 8 >= n / 2 * 7) return WideText::utf16be;
  return WideText::none;
}

size_t wide_to_utf8(std::string_view in, WideText encoding, std::string& out) {
  if (encoding == WideText::none) {
    out.append(in);
    return in.size();
  }
  const bool wide32 = encoding == WideText::utf32le || encoding == WideText::utf32be;
  const bool big = encoding == WideText::utf16be || encoding == WideText::utf32be;
  const size_t unit = wide32 ? 4 : 2;
  auto read = [&](size_t i) {
    uint32_t v = 0;
    for (size_t k = 0; k < unit; ++k) {
      const uint32_t b = static_cast<unsigned char>(in[i + (big ? k : unit - 1 - k)]);
      v = (v << 8) | b;
    }
    return v;
  };
  size_t i = 0;
  for (; i + unit <= in.size(); i += unit) {
    uint32_t cp = read(i);
    if (!wide32 && cp >= 0xD800 && cp <= 0xDBFF) {
      if (i + 2 * unit > in.size()) break;  // the pair's second half is in the next piece
      const uint32_t lo = read(i + unit);
      if (lo >= 0xDC00 && lo <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        i += unit;
      }
    }
    if (cp == 0xFEFF) continue;  // byte-order mark
    append_utf8(cp, out);
  }
  return i;
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
#if defined(__SSE2__)
  // 64 bytes per step: inbound scanning asks this of every chunk of every response.
  for (; i + 64 <= in.size(); i += 64) {
    const auto* p = reinterpret_cast<const __m128i*>(in.data() + i);
    const __m128i any = _mm_or_si128(_mm_or_si128(_mm_loadu_si128(p), _mm_loadu_si128(p + 1)),
                                     _mm_or_si128(_mm_loadu_si128(p + 2), _mm_loadu_si128(p + 3)));
    if (_mm_movemask_epi8(any) != 0) break;
  }
#endif
  for (; i + 8 <= in.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, in.data() + i, 8);
    if ((w & 0x8080808080808080ull) != 0) break;
  }
  while (i < in.size() && static_cast<unsigned char>(in[i]) < 0x80) ++i;
  return i;
}

namespace {

// Where folds can start, derived once from invisible() and confusable() over every code
// point and every encoding utf8_decode accepts (overlong ones included):
// - leads: the first bytes (a lead byte is never a continuation byte, so a sequence
//   that starts elsewhere can neither be changed nor hide one);
// - pairs: the first two bytes, a bit per (lead, next) pair: candidates in random
//   binary are confirmed or dropped by one lookup instead of a decode;
// - lo/hi: `leads` as nibble tables for a vector lookup: byte b is a lead exactly when
//   lo[b & 15] & hi[b >> 4] != 0 (every lead is >= 0xC0: one bit per high nibble C..F).
struct FoldTables {
  std::array<bool, 256> leads{};
  std::array<uint64_t, 65536 / 64> pairs{};
  std::array<uint8_t, 16> lo{}, hi{};
  // `pairs` as two 64-entry tables for a byte-permute lookup: leads are sorted into
  // eight classes; lead_class[lead & 63] is the lead's class bit and next_class[next & 63]
  // the classes with a (lead, next) pair. A lead and its next byte may start a fold when
  // the two share a bit (an over-approximation only where a class holds several leads).
  std::array<uint8_t, 64> lead_class{}, next_class{};

  bool pair(unsigned char a, unsigned char b) const {
    const unsigned k = (unsigned{a} << 8) | b;
    return ((pairs[k / 64] >> (k % 64)) & 1) != 0;
  }
};

const FoldTables& fold_tables() {
  static const FoldTables tables = [] {
    FoldTables t;
    auto add = [&t](unsigned lead, unsigned next) {
      t.leads[lead] = true;
      const unsigned k = (lead << 8) | next;
      t.pairs[k / 64] |= uint64_t{1} << (k % 64);
    };
    for (uint32_t cp = 0x80; cp < 0x200000; ++cp) {
      if (!invisible(cp) && confusable(cp) == 0) continue;
      if (cp < 0x800) add(0xC0 | (cp >> 6), 0x80 | (cp & 0x3F));
      if (cp < 0x10000) add(0xE0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3F));
      add(0xF0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3F));
    }
    // The leads with the most next bytes get classes of their own; the rest share two.
    std::vector<std::pair<int, unsigned>> by_count;
    for (unsigned lead = 0xC0; lead < 256; ++lead) {
      if (!t.leads[lead]) continue;
      int count = 0;
      for (unsigned next = 0x80; next < 0xC0; ++next) count += t.pair(static_cast<unsigned char>(lead), static_cast<unsigned char>(next));
      by_count.emplace_back(-count, lead);
    }
    std::sort(by_count.begin(), by_count.end());
    for (size_t k = 0; k < by_count.size(); ++k) {
      const unsigned lead = by_count[k].second;
      const auto bit = static_cast<uint8_t>(1u << (k < 6 ? k : 6 + k % 2));
      t.lead_class[lead & 63] = bit;
      for (unsigned next = 0x80; next < 0xC0; ++next) {
        if (t.pair(static_cast<unsigned char>(lead), static_cast<unsigned char>(next))) t.next_class[next & 63] |= bit;
      }
    }
    for (unsigned h = 0xC; h <= 0xF; ++h) t.hi[h] = static_cast<uint8_t>(1u << (h - 0xC));
    for (unsigned b = 0xC0; b < 256; ++b) {
      if (t.leads[b]) t.lo[b & 15] |= static_cast<uint8_t>(1u << ((b >> 4) - 0xC));
    }
    return t;
  }();
  return tables;
}

// Candidate masks for `blocks` whole 64-byte blocks at p (tables loaded once per call).
using CandidatesFn = void (*)(const char* p, size_t blocks, uint64_t* masks);

void fold_candidates_scalar(const char* p, size_t blocks, uint64_t* masks) {
  const FoldTables& t = fold_tables();
  for (size_t k = 0; k < blocks; ++k, p += 64) {
    uint64_t lead = 0, cont = 0;
    for (int i = 0; i < 64; ++i) {
      const auto c = static_cast<unsigned char>(p[i]);
      lead |= static_cast<uint64_t>(t.leads[c]) << i;
      cont |= static_cast<uint64_t>((c & 0xC0) == 0x80) << i;
    }
    masks[k] = lead & ((cont >> 1) | (uint64_t{1} << 63));
  }
}

#if defined(__x86_64__) || defined(__i386__)
// Lead byte alone, by nibble lookup: in random binary one position in fifty passes.
__attribute__((target("avx2"))) void fold_candidates_avx2(const char* p, size_t blocks, uint64_t* masks) {
  const FoldTables& t = fold_tables();
  const __m256i lo_tab = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t.lo.data())));
  const __m256i hi_tab = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(t.hi.data())));
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  for (size_t k = 0; k < blocks; ++k, p += 64) {
    uint64_t lead = 0, cont = 0;
    for (int half = 0; half < 2; ++half) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * half));
      if (_mm256_movemask_epi8(v) == 0) continue;  // ASCII: no lead, no continuation
      const __m256i hit =
          _mm256_and_si256(_mm256_shuffle_epi8(lo_tab, _mm256_and_si256(v, low4)),
                           _mm256_shuffle_epi8(hi_tab, _mm256_and_si256(_mm256_srli_epi16(v, 4), low4)));
      const auto miss = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(hit, _mm256_setzero_si256())));
      const auto follow = static_cast<uint32_t>(_mm256_movemask_epi8(
          _mm256_cmpeq_epi8(_mm256_and_si256(v, _mm256_set1_epi8(static_cast<char>(0xC0))),
                            _mm256_set1_epi8(static_cast<char>(0x80)))));
      lead |= static_cast<uint64_t>(~miss) << (32 * half);
      cont |= static_cast<uint64_t>(follow) << (32 * half);
    }
    masks[k] = lead & ((cont >> 1) | (uint64_t{1} << 63));
  }
}

// Lead and next byte together by byte-permute lookups: in random binary about one
// position in a thousand passes. (The maskz forms: GCC 12 warns that the plain ones
// read an undefined register.)
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void fold_candidates_avx512(const char* p, size_t blocks,
                                                                                   uint64_t* masks) {
  const FoldTables& t = fold_tables();
  const __m512i lead_tab = _mm512_loadu_si512(t.lead_class.data());
  const __m512i next_tab = _mm512_loadu_si512(t.next_class.data());
  // next[i] = v[i + 1]; lane 63 has no next byte here and stays a candidate when a lead.
  alignas(64) static constexpr std::array<uint8_t, 64> kShift = [] {
    std::array<uint8_t, 64> a{};
    for (unsigned i = 0; i < 64; ++i) a[i] = static_cast<uint8_t>(i < 63 ? i + 1 : 63);
    return a;
  }();
  const __m512i shift = _mm512_load_si512(kShift.data());
  const __m512i top2 = _mm512_set1_epi8(static_cast<char>(0xC0));
  const __m512i cont_bits = _mm512_set1_epi8(static_cast<char>(0x80));
  constexpr __mmask64 kAll = ~__mmask64{0};
  for (size_t k = 0; k < blocks; ++k, p += 64) {
    const __m512i v = _mm512_loadu_si512(p);
    const __mmask64 lead = _mm512_cmpge_epu8_mask(v, top2);
    if (lead == 0) {
      masks[k] = 0;
      continue;
    }
    const __m512i next = _mm512_maskz_permutexvar_epi8(kAll, shift, v);
    const __mmask64 cont = _mm512_cmpeq_epi8_mask(_mm512_and_si512(next, top2), cont_bits);
    const __m512i a = _mm512_maskz_permutexvar_epi8(kAll, v, lead_tab);
    const __m512i b = _mm512_maskz_permutexvar_epi8(kAll, next, next_tab);
    const __mmask64 both = _mm512_test_epi8_mask(a, b) & cont;
    const __mmask64 last = _mm512_test_epi8_mask(a, a) & (uint64_t{1} << 63);
    masks[k] = static_cast<uint64_t>((both | last) & lead);
  }
}
#endif

CandidatesFn pick_candidates() {
#if defined(__x86_64__) || defined(__i386__)
  if (internal::vector_isa() == internal::Isa::avx512) return fold_candidates_avx512;
  if (internal::vector_isa() == internal::Isa::avx2) return fold_candidates_avx2;
#endif
  return fold_candidates_scalar;
}
const CandidatesFn kCandidates = pick_candidates();

// The fold at s[i], if any: its length and ASCII replacement (0: dropped).
bool fold_here(const FoldTables& t, std::string_view s, size_t i, size_t& len, char& replacement) {
  if (i + 1 >= s.size() || !t.pair(static_cast<unsigned char>(s[i]), static_cast<unsigned char>(s[i + 1]))) {
    return false;  // a fold is at least two bytes long
  }
  uint32_t cp = 0;
  len = utf8_decode(s, i, cp);
  if (len == 0) return false;
  const bool drop = invisible(cp);
  replacement = drop ? 0 : confusable(cp);
  return drop || replacement != 0;
}

// Visits every code point normalize_unicode drops or folds, in order: on_fold(index,
// length, replacement or 0). Stops early when on_fold returns false. A lead byte is never
// a continuation byte, so folds are found independently of one another: whole 64-byte
// blocks by vector lookup, then each candidate confirmed.
template <typename OnFold>
[[gnu::always_inline]] inline void for_each_fold(std::string_view in, OnFold on_fold) {
  const FoldTables& t = fold_tables();
  size_t i = 0;
  size_t len = 0;
  char replacement = 0;
  constexpr size_t kBatch = 64;  // blocks per vector call
  std::array<uint64_t, kBatch> masks;
  for (size_t whole = in.size() / 64; i / 64 < whole;) {
    const size_t blocks = std::min(kBatch, whole - i / 64);
    kCandidates(in.data() + i, blocks, masks.data());
    for (size_t k = 0; k < blocks; ++k, i += 64) {
      for (uint64_t m = masks[k]; m != 0; m &= m - 1) {
        const size_t at = i + static_cast<size_t>(__builtin_ctzll(m));
        if (fold_here(t, in, at, len, replacement) && !on_fold(at, len, replacement)) return;
      }
    }
  }
  for (; i < in.size(); ++i) {
    if (fold_here(t, in, i, len, replacement) && !on_fold(i, len, replacement)) return;
  }
}

}  // namespace

void init_unicode_tables() { (void)fold_tables(); }

uint64_t fold_candidates(const char* p) {
  uint64_t mask = 0;
  kCandidates(p, 1, &mask);
  return mask;
}

FoldAt fold_at(std::string_view s, size_t i) {
  const FoldTables& t = fold_tables();
  const auto c = static_cast<unsigned char>(s[i]);
  if (!t.leads[c]) return FoldAt::no;
  if (i + 1 < s.size() && !t.pair(c, static_cast<unsigned char>(s[i + 1]))) return FoldAt::no;
  const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
  if (i + need > s.size()) {
    for (size_t k = i + 1; k < s.size(); ++k) {
      if ((static_cast<unsigned char>(s[k]) & 0xC0) != 0x80) return FoldAt::no;
    }
    return FoldAt::cut;
  }
  size_t len = 0;
  char replacement = 0;
  return fold_here(t, s, i, len, replacement) ? FoldAt::yes : FoldAt::no;
}

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

bool normalize_for_reading(std::string_view in, ReadingState& state, std::string& out) {
  out.clear();
  out.reserve(in.size() + 2);
  bool changed = false;
  size_t kept_from = 0;
  auto keep = [&](size_t to) {
    if (to == kept_from) return;
    if (state.in_tags) {
      out.push_back(kHiddenEnd);
      state.in_tags = false;
    }
    out.append(in.substr(kept_from, to - kept_from));
  };
  for_each_fold(in, [&](size_t i, size_t len, char a) {
    keep(i);
    uint32_t cp = 0;
    utf8_decode(in, i, cp);
    if (cp >= 0xE0020 && cp <= 0xE007E) {
      // A tag character spells the ASCII character 0xE0000 below it, invisibly.
      if (!state.in_tags) out.push_back(kHiddenBegin);
      state.in_tags = true;
      out.push_back(static_cast<char>(cp - 0xE0000));
    } else {
      if (state.in_tags && (cp < 0xE0000 || cp > 0xE007F)) {
        out.push_back(kHiddenEnd);
        state.in_tags = false;
      }
      if (a != 0) {
        out.push_back(a);
      } else if (cp < 0xE0000 && state.dropped.size() < ReadingState::kMaxDropped) {
        state.dropped.push_back(state.out_offset + out.size());
      }
    }
    kept_from = i + len;
    changed = true;
    return true;
  });
  keep(in.size());
  state.out_offset += out.size();
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
