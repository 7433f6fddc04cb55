#include "common/strict_yaml.h"

#include <re2/re2.h>
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "common/ascii.h"

namespace bottle {
namespace {

std::string pos(std::string_view file, const YAML::Mark& m, int line_offset) {
  return std::string(file) + ":" + std::to_string(m.line + 1 + line_offset) + ":" +
         std::to_string(m.column + 1);
}

// Walks the event stream before the document is built, because a built YAML::Node no
// longer shows anchors, aliases or which of two duplicate keys won.
class StrictChecker : public YAML::EventHandler {
 public:
  StrictChecker(std::string_view file, int line_offset) : file_(file), line_offset_(line_offset) {}
  std::string error;

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t anchor) override {
    check_anchor(m, anchor);
    value_seen(m, "");
  }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override {
    fail(m, "aliases (*name) are not allowed; write the value out");
  }
  void OnAnchor(const YAML::Mark& m, const std::string&) override {
    fail(m, "anchors (&name) are not allowed; write the value out");
  }
  void OnScalar(const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    check_anchor(m, anchor);
    check_tag(m, tag);
    value_seen(m, value);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    check_anchor(m, anchor);
    check_tag(m, tag);
    value_seen(m, "");
    frames_.push_back({false, true, {}});
  }
  void OnSequenceEnd() override { frames_.pop_back(); }
  void OnMapStart(const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    check_anchor(m, anchor);
    check_tag(m, tag);
    value_seen(m, "");
    frames_.push_back({true, true, {}});
  }
  void OnMapEnd() override { frames_.pop_back(); }

 private:
  struct Frame {
    bool is_map;
    bool expect_key;
    std::set<std::string> keys;
  };

  void fail(const YAML::Mark& m, std::string_view what) {
    if (error.empty()) error = pos(file_, m, line_offset_) + ": " + std::string(what);
  }
  void check_anchor(const YAML::Mark& m, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) fail(m, "anchors (&name) are not allowed; write the value out");
  }
  void check_tag(const YAML::Mark& m, const std::string& tag) {
    if (!tag.empty() && tag != "?" && tag != "!") {
      fail(m, "tags ('" + tag + "') are not allowed");
    }
  }
  // Tracks key/value alternation inside mappings to find duplicate keys.
  void value_seen(const YAML::Mark& m, const std::string& scalar) {
    if (frames_.empty() || !frames_.back().is_map) return;
    Frame& f = frames_.back();
    if (f.expect_key) {
      if (!f.keys.insert(scalar).second) fail(m, "duplicate key '" + scalar + "'");
    }
    f.expect_key = !f.expect_key;
  }

  std::string file_;
  int line_offset_;
  std::vector<Frame> frames_;
};

std::string tab_indent_error(std::string_view text, std::string_view file, int line_offset) {
  int line = 1;
  size_t i = 0;
  while (i < text.size()) {
    size_t col = 0;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) {
      if (text[i] == '\t') {
        return std::string(file) + ":" + std::to_string(line + line_offset) + ":" +
               std::to_string(col + 1) + ": tab in indentation; indent with spaces";
      }
      ++i;
      ++col;
    }
    while (i < text.size() && text[i] != '\n') ++i;
    ++i;
    ++line;
  }
  return {};
}

bool ieq(std::string_view a, std::string_view b) { return ascii_iequals(a, b); }

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_plain(const YAML::Node& n) { return n.IsScalar() && n.Tag() == "?"; }

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (ascii_lower(a[i - 1]) == ascii_lower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

Result<YAML::Node> load_strict_yaml(std::string_view text, std::string_view file,
                                    int line_offset) {
  if (auto e = tab_indent_error(text, file, line_offset); !e.empty()) return Error{e};
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    StrictChecker checker(file, line_offset);
    if (parser.HandleNextDocument(checker) && !checker.error.empty()) return Error{checker.error};
    if (parser.HandleNextDocument(checker)) {
      return Error{std::string(file) + ": more than one YAML document; expected one"};
    }
    YAML::Node root = YAML::Load(std::string(text));
    return root;
  } catch (const YAML::Exception& e) {
    return Error{pos(file, e.mark, line_offset) + ": " + e.msg};
  }
}

std::string where(std::string_view file, const YAML::Node& node, int line_offset) {
  return pos(file, node.Mark(), line_offset);
}

bool is_plain_bool_like(const YAML::Node& n) {
  if (!is_plain(n)) return false;
  const std::string& s = n.Scalar();
  for (const char* w : {"y", "n", "yes", "no", "on", "off", "true", "false"}) {
    if (ieq(s, w) && s != "true" && s != "false") return true;
  }
  return false;
}

bool is_surprising_scalar(const YAML::Node& n) {
  if (!is_plain(n)) return false;
  std::string_view s = n.Scalar();
  if (s.empty() || s == "~" || ieq(s, "null")) return true;
  for (const char* w : {"y", "n", "yes", "no", "on", "off", "true", "false"}) {
    if (ieq(s, w)) return true;
  }
  std::string_view body = s;
  if (body[0] == '+' || body[0] == '-') body.remove_prefix(1);
  // octal (0755, 0o17), hex (0x1F), binary (0b1)
  if (body.size() > 1 && body[0] == '0' && all_digits(body)) return true;
  if (body.size() > 2 && body[0] == '0' && (body[1] == 'o' || body[1] == 'x' || body[1] == 'b')) {
    return true;
  }
  // floats as YAML 1.1 resolves them: 1.5, 1e3, .5, 1_000.5, .inf, .nan
  if (ieq(body, ".inf") || ieq(body, ".nan")) return true;
  static const RE2 kFloat(R"([0-9][0-9_]*\.[0-9_]*([eE][-+]?[0-9]+)?|\.[0-9_]+([eE][-+]?[0-9]+)?|[0-9][0-9_]*[eE][-+]?[0-9]+)");
  if (RE2::FullMatch(body, kFloat)) return true;
  // dates 2024-01-02, sexagesimal 1:30
  if (s.size() >= 8 && all_digits(s.substr(0, 4)) && s[4] == '-') return true;
  if (s.find(':') != std::string_view::npos) {
    bool sexa = true;
    for (char c : s) sexa = sexa && ((c >= '0' && c <= '9') || c == ':');
    if (sexa) return true;
  }
  return false;
}

std::string did_you_mean(std::string_view key, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::max<size_t>(2, key.size() / 3) + 1;
  for (const auto& c : candidates) {
    size_t d = edit_distance(key, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

MapReader::MapReader(std::string_view file, const YAML::Node& map, std::string_view what,
                     int line_offset)
    : file_(file), map_(map), what_(what), line_offset_(line_offset) {
  if (!map_.IsMap()) fail(map_, std::string(what_) + " must be a mapping (key: value)");
}

std::string MapReader::where(const YAML::Node& at) const {
  return bottle::where(file_, at, line_offset_);
}

void MapReader::fail(const YAML::Node& at, std::string_view message) {
  if (error_.empty()) error_ = where(at) + ": " + std::string(message);
}

bool MapReader::has(std::string_view key) const {
  const YAML::Node& m = map_;  // const: operator[] on a non-const node inserts the key
  return m.IsMap() && m[std::string(key)].IsDefined();
}

YAML::Node MapReader::node(std::string_view key) {
  known_.emplace_back(key);
  const YAML::Node& m = map_;  // const: operator[] on a non-const node inserts the key
  if (!m.IsMap()) {
    static const YAML::Node kEmptyMap(YAML::NodeType::Map);
    return kEmptyMap[std::string(key)];  // undefined node
  }
  return m[std::string(key)];
}

std::optional<std::string> MapReader::str(std::string_view key) {
  YAML::Node n = node(key);
  if (!n.IsDefined()) return std::nullopt;
  if (!n.IsScalar()) {
    // An empty value's mark points past the line; the key's position is what helps.
    fail(n.IsNull() ? key_node(key) : n, "'" + std::string(key) + "' must be a string");
    return std::nullopt;
  }
  if (is_surprising_scalar(n)) {
    fail(n, "'" + std::string(key) + "': value '" + n.Scalar() +
                "' is not read as a string by YAML; quote it if you mean the text");
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<bool> MapReader::boolean(std::string_view key) {
  YAML::Node n = node(key);
  if (!n.IsDefined()) return std::nullopt;
  if (is_plain(n) && n.Scalar() == "true") return true;
  if (is_plain(n) && n.Scalar() == "false") return false;
  fail(n, "'" + std::string(key) + "' must be true or false" +
              (n.IsScalar() ? " (got '" + n.Scalar() + "')" : ""));
  return std::nullopt;
}

std::optional<int64_t> MapReader::integer(std::string_view key, int64_t min, int64_t max) {
  YAML::Node n = node(key);
  if (!n.IsDefined()) return std::nullopt;
  std::string s = n.IsScalar() ? n.Scalar() : "";
  bool neg = s.starts_with('-');
  std::string_view digits = std::string_view(s).substr(neg ? 1 : 0);
  if (!is_plain(n) || !all_digits(digits) || digits.size() > 18 ||
      (digits.size() > 1 && digits[0] == '0')) {
    fail(n, "'" + std::string(key) + "' must be an integer");
    return std::nullopt;
  }
  int64_t v = std::stoll(s);
  if (v < min || v > max) {
    fail(n, "'" + std::string(key) + "' must be between " + std::to_string(min) + " and " +
                std::to_string(max) + " (got " + s + ")");
    return std::nullopt;
  }
  return v;
}

std::optional<std::string> MapReader::one_of(std::string_view key,
                                             const std::vector<std::string>& allowed) {
  YAML::Node n = node(key);
  if (!n.IsDefined()) return std::nullopt;
  if (n.IsScalar()) {
    for (const auto& a : allowed) {
      if (n.Scalar() == a) return a;
    }
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : " | ") + a;
  std::string msg = "'" + std::string(key) + "' must be one of " + list;
  if (n.IsScalar()) {
    msg += " (got '" + n.Scalar() + "'";
    if (auto dm = did_you_mean(n.Scalar(), allowed); !dm.empty()) msg += "; did you mean '" + dm + "'?";
    msg += ")";
  }
  fail(n, msg);
  return std::nullopt;
}

std::optional<std::vector<std::string>> MapReader::str_list(std::string_view key) {
  YAML::Node n = node(key);
  if (!n.IsDefined()) return std::nullopt;
  if (!n.IsSequence()) {
    fail(n, "'" + std::string(key) + "' must be a list of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& item : n) {
    if (!item.IsScalar() || is_surprising_scalar(item)) {
      fail(item, "'" + std::string(key) + "' entries must be strings (quote ambiguous values)");
      return std::nullopt;
    }
    out.push_back(item.Scalar());
  }
  return out;
}

YAML::Node MapReader::key_node(std::string_view key) const {
  // Range-for binds the iterator's temporary pair; it->first would dangle (yaml-cpp).
  for (const auto& kv : map_) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.first;
  }
  return map_;
}

void MapReader::reject(std::string_view key, std::string_view why) {
  known_.emplace_back(key);
  if (!map_.IsMap()) return;
  for (const auto& kv : map_) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) {
      fail(kv.first, "'" + std::string(key) + "' " + std::string(why));
    }
  }
}

void MapReader::finish() {
  if (!map_.IsMap()) return;
  for (const auto& kv : map_) {
    const YAML::Node& k = kv.first;
    std::string name = k.IsScalar() ? k.Scalar() : "?";
    if (std::find(known_.begin(), known_.end(), name) != known_.end()) continue;
    std::string msg = "unknown key '" + name + "' in " + what_;
    if (auto dm = did_you_mean(name, known_); !dm.empty()) msg += " (did you mean '" + dm + "'?)";
    fail(k, msg);
  }
}

}  // namespace bottle
