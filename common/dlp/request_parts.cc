// Scans of a request's structure rather than one unit: a secret cut into pieces across
// header or query-parameter values (scan_split), and data encoded into the DNS labels of
// a host under a routed wildcard (scan_host_labels).
#include <algorithm>
#include <cctype>

#include "common/dlp/checksums.h"
#include "common/dlp/decode.h"
#include "common/dlp/engine.h"
#include "common/dlp/redact.h"

namespace bottle::dlp::internal {
namespace {

// Values that can be a piece of a token: one word of a few characters or more.
bool token_piece(std::string_view v) {
  return v.size() >= 4 && v.size() <= 1024 && std::none_of(v.begin(), v.end(), [](unsigned char c) {
           return std::isspace(c) != 0 || c == ',' || c == ';';
         });
}

// Every two of at most this many pieces are tried together (8 pieces: 56 pairs of
// short values, a few microseconds).
constexpr size_t kMaxSplitPieces = 8;

// Text an agent would encode to smuggle it out: printable ASCII only. Host names that
// are not encoded text (words, hashes, ids) decode to bytes that are not: the chance
// that 8 random bytes are all printable is 3 in 10,000.
bool printable_text(std::string_view s) {
  return s.size() >= 8 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
           return (c >= 0x20 && c < 0x7f) || c == '\t' || c == '\n' || c == '\r';
         });
}

bool all_in(std::string_view s, bool (*member)(unsigned char)) { return std::all_of(s.begin(), s.end(), member); }
bool hex_digit(unsigned char c) { return std::isxdigit(c) != 0; }
bool base32_lower(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'); }
bool base32_upper(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'); }
bool base64url(unsigned char c) { return std::isalnum(c) != 0 || c == '-' || c == '_'; }

// Labels shaped like data rather than names: letters and digits mixed, no word pattern.
bool data_label(std::string_view l) {
  const bool digit = std::any_of(l.begin(), l.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
  const bool alpha = std::any_of(l.begin(), l.end(), [](unsigned char c) { return std::isalpha(c) != 0; });
  return l.size() >= 8 && digit && alpha && l.find('-') == std::string_view::npos;
}

// Long enough and random enough to be key material rather than a CDN or build hash
// (those stay under 32 characters) or a region name (words and digits with dashes).
bool key_material(std::string_view l) {
  if (l.size() < 32 || l.find('-') != std::string_view::npos) return false;
  if (all_in(l, hex_digit)) return true;
  const bool digit = std::any_of(l.begin(), l.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
  // Random base32 of 32..63 characters measures 4.1..4.6 bits; names and words stay lower.
  return digit && shannon_entropy(l) >= 3.8;
}

}  // namespace

std::vector<Finding> Engine::scan_split(std::span<const std::string_view> values, std::string_view location) const {
  std::vector<Finding> out;
  std::vector<std::string_view> pieces;
  for (std::string_view v : values) {
    if (token_piece(v)) pieces.push_back(v);
  }
  if (pieces.size() < 2) return out;
  // What each piece holds on its own is that value's finding, reported by its own scan.
  std::vector<std::vector<Finding>> own;
  for (std::string_view p : pieces) own.push_back(scan(p, Direction::outbound, location));
  auto joined_scan = [&](std::initializer_list<size_t> order) {
    std::string joined;
    std::vector<std::pair<size_t, size_t>> spans;  // piece index, end in `joined`
    for (size_t i : order) {
      joined.append(pieces[i]);
      spans.emplace_back(i, joined.size());
    }
    for (Finding& f : scan(joined, Direction::outbound, location)) {
      const auto at = std::find_if(spans.begin(), spans.end(), [&](const auto& sp) { return f.offset < sp.second; });
      if (at == spans.end()) continue;
      const auto& mine = own[at->first];
      const auto same = [&](const Finding& g) { return g.detector == f.detector; };
      if (std::any_of(mine.begin(), mine.end(), same) || std::any_of(out.begin(), out.end(), same)) continue;
      f.snippet = "[split] " + f.snippet;
      f.offset = 0;
      out.push_back(std::move(f));
    }
  };
  // Pieces next to each other in order, and (for the few token-like values a request
  // has) any two in either order: another header may sit between the halves.
  for (size_t i = 0; i + 1 < pieces.size(); ++i) joined_scan({i, i + 1});
  if (pieces.size() <= kMaxSplitPieces) {
    for (size_t i = 0; i < pieces.size(); ++i) {
      for (size_t j = 0; j < pieces.size(); ++j) {
        if (j != i && j != i + 1) joined_scan({i, j});
      }
    }
  }
  return out;
}

std::vector<Finding> Engine::scan_host_labels(std::string_view labels, std::string_view location) const {
  std::vector<Finding> out;
  std::vector<std::string_view> parts;
  std::string joined;
  for (size_t start = 0; start <= labels.size();) {
    const size_t dot = std::min(labels.find('.', start), labels.size());
    const std::string_view label = labels.substr(start, dot - start);
    // A short number in front is a sequence counter ("0.", "15."), not part of the data.
    const bool counter = start == 0 && dot < labels.size() && label.size() <= 4 &&
                         std::all_of(label.begin(), label.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
    if (!label.empty() && !counter) {
      parts.push_back(label);
      joined.append(label);
    }
    start = dot + 1;
  }
  auto report = [&](std::string_view why) {
    Finding f;
    f.detector = "exfil.host_labels";
    f.severity = Severity::high;
    f.location = std::string(location);
    f.snippet = redacted_snippet(labels, 0, labels.size(), why);
    out.push_back(std::move(f));
  };
  // The labels joined, decoded as an agent would have encoded them: text inside is data
  // on its way out (and any secret in it is reported by its own detector).
  if (joined.size() >= 16) {
    std::string decoded;
    const std::string_view j = joined;
    const bool hex = j.size() % 2 == 0 && all_in(j, hex_digit) && hex_decode(j, decoded);
    const bool b32 = !hex && (all_in(j, base32_lower) || all_in(j, base32_upper)) && base32_decode(j, decoded) &&
                     printable_text(decoded);
    const bool b64 = !hex && !b32 && all_in(j, base64url) && base64_decode(j, decoded) && printable_text(decoded);
    if ((hex && printable_text(decoded)) || b32 || b64) {
      const std::string_view how = hex ? "hex" : b32 ? "base32" : "base64url";
      report(how);
      Sink sink{&out, location, out.size()};
      scan_decoded(sink, decoded, Origin{0, labels.size(), "host"}, how, 0);
      return out;
    }
  }
  if (std::any_of(parts.begin(), parts.end(), key_material)) {
    report("random label");
  } else if (std::count_if(parts.begin(), parts.end(), data_label) >= 4) {
    report("chunked labels");
  }
  return out;
}

}  // namespace bottle::dlp::internal
