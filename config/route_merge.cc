#include "config/route_merge.h"

#include <algorithm>
#include <set>
#include <vector>

#include "common/ascii.h"
#include "common/strict_yaml.h"
#include "config/yaml_emit.h"

namespace bottle::config {
namespace {

using nlohmann::json;

constexpr size_t kMaxMatches = 64;
constexpr size_t kMaxStringBytes = 4096;

// Keys in the order routes.yaml is written (SPEC §4.3); anything else follows, sorted.
const std::vector<std::string>& key_order() {
  static const std::vector<std::string> order = {"host",
                                                 "port",
                                                 "matches",
                                                 "path",
                                                 "method",
                                                 "headers",
                                                 "queryParams",
                                                 "name",
                                                 "type",
                                                 "value",
                                                 "auth",
                                                 "scheme",
                                                 "token_env",
                                                 "header",
                                                 "dlp",
                                                 "outbound",
                                                 "inbound",
                                                 "max_body_bytes",
                                                 "stream_large_bodies",
                                                 "detectors",
                                                 "allow_private"};
  return order;
}

size_t rank(const std::string& key) {
  const auto& order = key_order();
  auto it = std::find(order.begin(), order.end(), key);
  return it == order.end() ? order.size() : static_cast<size_t>(it - order.begin());
}

// A string YAML reads back as the same string when written without quotes.
bool safe_plain(const std::string& s) {
  if (s.empty() || s.size() > 200) return false;
  char c0 = s[0];
  if (!((c0 >= 'a' && c0 <= 'z') || (c0 >= 'A' && c0 <= 'Z') || c0 == '/' || c0 == '_')) {
    return false;
  }
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  YAML::Node probe = plain(s);
  return !is_surprising_scalar(probe) && s != "null" && s != "Null" && s != "NULL";
}

// Maps written on one line, as `to_yaml` and the rendered routes.yaml do.
bool flow_map_key(const std::string& parent) {
  return parent == "path" || parent == "auth" || parent == "dlp" || parent == "headers[]" ||
         parent == "queryParams[]";
}

Result<YAML::Node> to_node(const json& j, const std::string& parent) {
  switch (j.type()) {
    case json::value_t::object: {
      YAML::Node n(YAML::NodeType::Map);
      if (flow_map_key(parent)) n.SetStyle(YAML::EmitterStyle::Flow);
      std::vector<std::string> keys;
      for (const auto& [k, v] : j.items()) keys.push_back(k);
      std::stable_sort(keys.begin(), keys.end(), [](const std::string& a, const std::string& b) {
        size_t ra = rank(a), rb = rank(b);
        return ra != rb ? ra < rb : a < b;
      });
      for (const auto& k : keys) {
        auto child = to_node(j.at(k), k);
        if (!child) return child;
        n[k] = *child;
      }
      return n;
    }
    case json::value_t::array: {
      YAML::Node n(YAML::NodeType::Sequence);
      if (parent == "matches" && j.size() > kMaxMatches) {
        return Error{"more than " + std::to_string(kMaxMatches) + " matches"};
      }
      for (const auto& item : j) {
        auto child = to_node(item, parent + "[]");
        if (!child) return child;
        n.push_back(*child);
      }
      return n;
    }
    case json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      if (s.size() > kMaxStringBytes) return Error{"'" + parent + "' is longer than 4096 bytes"};
      return safe_plain(s) ? plain(s) : YAML::Node(s);
    }
    case json::value_t::boolean:
      return plain(j.get<bool>() ? "true" : "false");
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return plain(j.dump());
    default:
      return Error{"'" + parent + "' has no value (null)"};
  }
}

// Parser errors carry "file:line:col: "; for a route from JSON those positions point
// into text nobody wrote, so only the message stays.
std::string without_position(const std::string& error, const std::string& file) {
  if (error.rfind(file + ":", 0) != 0) return error;
  size_t pos = file.size() + 1;
  for (int fields = 0; fields < 2; ++fields) {
    size_t colon = error.find(':', pos);
    if (colon == std::string::npos) return error;
    if (error.find_first_not_of("0123456789", pos) != colon) break;
    pos = colon + 1;
  }
  while (pos < error.size() && error[pos] == ' ') ++pos;
  return error.substr(pos);
}

json scalar_json(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "?") {
    if (s == "true") return true;
    if (s == "false") return false;
    if (!s.empty() && s.size() < 19 &&
        std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::stoll(s);
    }
  }
  return s;
}

json node_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json j = json::object();
      for (const auto& kv : n) j[kv.first.Scalar()] = node_json(kv.second);
      return j;
    }
    case YAML::NodeType::Sequence: {
      json j = json::array();
      for (const auto& item : n) j.push_back(node_json(item));
      return j;
    }
    case YAML::NodeType::Scalar:
      return scalar_json(n);
    default:
      return nullptr;
  }
}

std::set<int64_t> ports_of(const YAML::Node& route) {
  YAML::Node p = route["port"];
  if (p && p.IsScalar()) {
    json j = scalar_json(p);
    if (j.is_number_integer()) return {j.get<int64_t>()};
  }
  return {80, 443};
}

std::string route_label(const YAML::Node& route) {
  std::string s = route["host"] ? route["host"].Scalar() : "?";
  if (route["port"] && route["port"].IsScalar()) s += ":" + route["port"].Scalar();
  return s;
}

// The comment block a rendered routes.yaml starts with; re-emitting drops comments.
std::string leading_comments(std::string_view text) {
  size_t end = 0;
  while (end < text.size()) {
    size_t nl = text.find('\n', end);
    std::string_view line =
        text.substr(end, nl == std::string_view::npos ? text.size() - end : nl - end);
    if (!line.empty() && line[0] != '#') break;
    if (nl == std::string_view::npos) return std::string(text);
    end = nl + 1;
  }
  return std::string(text.substr(0, end));
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

}  // namespace

Result<YAML::Node> route_from_json(const json& route, RouteSource source) {
  if (!route.is_object()) return Error{"route: must be an object with at least \"host\""};
  if (!route.contains("host") || !route["host"].is_string()) {
    return Error{"route: \"host\" (a string) is required"};
  }
  if (source == RouteSource::agent) {
    for (const auto& [key, value] : route.items()) {
      if (key != "host" && key != "port" && key != "matches") {
        return Error{"route: '" + key +
                     "' cannot be proposed by the agent (only host, port and matches; the "
                     "operator may add more when approving)"};
      }
    }
  }
  auto node = to_node(route, "");
  if (!node) return Error{"route: " + node.error()};
  const std::string file = "route";
  auto parsed = parse_routes("routes:\n" + route_yaml(*node), file);
  if (!parsed) return Error{"route: " + without_position(parsed.error(), file)};
  return node;
}

std::string route_yaml(const YAML::Node& route) {
  YAML::Emitter out;
  out << YAML::BeginSeq;
  emit_node(out, route);
  out << YAML::EndSeq;
  return std::string(out.c_str()) + "\n";
}

Result<json> route_json_from_yaml(std::string_view text, std::string_view file) {
  auto root = load_strict_yaml(text, file);
  if (!root) return Error{root.error()};
  YAML::Node route = *root;
  if (route.IsSequence()) {
    if (route.size() != 1) return Error{std::string(file) + ": expected exactly one route"};
    route = route[0];
  }
  if (!route.IsMap()) return Error{std::string(file) + ": expected one route (host: ...)"};
  return node_json(route);
}

Result<MergedRoutes> merge_route(std::string_view routes_yaml, std::string_view file,
                                 const YAML::Node& route) {
  auto root = load_strict_yaml(routes_yaml, file);
  if (!root) return Error{root.error()};
  YAML::Node doc = *root;
  if (!doc || doc.IsNull()) doc = YAML::Node(YAML::NodeType::Map);
  if (!doc.IsMap()) return Error{std::string(file) + ": expected a mapping with 'routes:'"};
  YAML::Node routes = doc["routes"];
  if (!routes || routes.IsNull()) {
    doc["routes"] = YAML::Node(YAML::NodeType::Sequence);
    routes = doc["routes"];
  }
  if (!routes.IsSequence()) return Error{where(file, routes) + ": 'routes' must be a list"};
  routes.SetStyle(YAML::EmitterStyle::Block);

  const std::string host = ascii_lower(route["host"].Scalar());
  const std::set<int64_t> ports = ports_of(route);
  const YAML::Node new_matches = route["matches"];
  MergedRoutes out;
  std::vector<std::string> notes;
  bool overlapped = false;
  for (YAML::Node existing : routes) {
    if (!existing.IsMap() || !existing["host"] || ascii_lower(existing["host"].Scalar()) != host) {
      continue;
    }
    std::set<int64_t> theirs = ports_of(existing);
    if (std::none_of(ports.begin(), ports.end(), [&](int64_t p) { return theirs.count(p); })) {
      continue;
    }
    overlapped = true;
    const std::string label = route_label(existing);
    YAML::Node old_matches = existing["matches"];
    if (!new_matches || new_matches.size() == 0) {
      if (old_matches) {
        existing.remove("matches");
        notes.push_back("route " + label + " now allows every request (matches removed)");
      }
    } else if (old_matches && old_matches.IsSequence() && old_matches.size() > 0) {
      std::vector<json> have;
      for (const auto& m : old_matches) have.push_back(node_json(m));
      size_t added = 0;
      for (const auto& m : new_matches) {
        json mj = node_json(m);
        if (std::find(have.begin(), have.end(), mj) != have.end()) continue;
        old_matches.push_back(YAML::Clone(m));
        have.push_back(mj);
        ++added;
      }
      if (added) {
        notes.push_back("added " + std::to_string(added) + (added == 1 ? " match" : " matches") +
                        " to route " + label);
      }
    }
    for (const auto& kv : route) {
      const std::string key = kv.first.Scalar();
      if (key == "host" || key == "port" || key == "matches") continue;
      if (existing[key] && node_json(existing[key]) == node_json(kv.second)) continue;
      existing[key] = YAML::Clone(kv.second);
      notes.push_back("set " + key + " on route " + label);
    }
  }
  if (!overlapped) {
    routes.push_back(YAML::Clone(route));
    notes.push_back("added route " + route_label(route));
  }
  if (notes.empty()) {
    out.text = std::string(routes_yaml);
    out.summary = "already allowed by route " + route_label(route) + "; nothing to change";
    auto table = build_routes(*root, file);
    if (!table) return Error{table.error()};
    out.table = *table;
    return out;
  }
  out.changed = true;
  for (const auto& n : notes) out.summary += (out.summary.empty() ? "" : "; ") + n;
  out.text = leading_comments(routes_yaml) + to_yaml_text(doc);
  // The merged document came from a strictly loaded file plus a validated route, so it
  // is compiled as it is rather than parsed again (a second parse of 10,000 routes costs
  // about as much as the compile).
  auto table = build_routes(doc, file);
  if (!table) return Error{table.error()};
  out.table = *table;
  return out;
}

std::string unified_diff(std::string_view before, std::string_view after,
                         std::string_view before_name, std::string_view after_name) {
  if (before == after) return "";
  auto a = split_lines(before), b = split_lines(after);
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) {
    ++suffix;
  }
  // Edit script for the middle: LCS when small enough, else replace the whole block.
  struct Op {
    char kind;  // ' ', '-', '+'
    std::string_view line;
  };
  std::vector<Op> ops;
  for (size_t i = 0; i < prefix; ++i) ops.push_back({' ', a[i]});
  const size_t n = a.size() - prefix - suffix, m = b.size() - prefix - suffix;
  if (n * m <= 4'000'000) {
    std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
    for (size_t i = n; i-- > 0;) {
      for (size_t j = m; j-- > 0;) {
        lcs[i][j] = a[prefix + i] == b[prefix + j] ? lcs[i + 1][j + 1] + 1
                                                   : std::max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    size_t i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[prefix + i] == b[prefix + j]) {
        ops.push_back({' ', a[prefix + i]});
        ++i, ++j;
      } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
        ops.push_back({'-', a[prefix + i++]});
      } else {
        ops.push_back({'+', b[prefix + j++]});
      }
    }
  } else {
    for (size_t i = 0; i < n; ++i) ops.push_back({'-', a[prefix + i]});
    for (size_t j = 0; j < m; ++j) ops.push_back({'+', b[prefix + j]});
  }
  for (size_t i = a.size() - suffix; i < a.size(); ++i) ops.push_back({' ', a[i]});

  constexpr size_t kContext = 3;
  std::string out = "--- " + std::string(before_name) + "\n+++ " + std::string(after_name) + "\n";
  size_t k = 0;
  while (k < ops.size()) {
    while (k < ops.size() && ops[k].kind == ' ') ++k;
    if (k == ops.size()) break;
    // One hunk: from kContext before this change to kContext after the last change that
    // is within 2 * kContext unchanged lines of the previous one.
    size_t start = k >= kContext ? k - kContext : 0;
    size_t end = k;
    for (size_t run = 0; end < ops.size(); ++end) {
      run = ops[end].kind == ' ' ? run + 1 : 0;
      if (run > 2 * kContext) break;
    }
    size_t stop = end;
    while (stop > k && ops[stop - 1].kind == ' ') --stop;
    stop = std::min(ops.size(), stop + kContext);
    size_t a_line = 1, b_line = 1;
    for (size_t x = 0; x < start; ++x) {
      if (ops[x].kind != '+') ++a_line;
      if (ops[x].kind != '-') ++b_line;
    }
    size_t a_count = 0, b_count = 0;
    for (size_t x = start; x < stop; ++x) {
      if (ops[x].kind != '+') ++a_count;
      if (ops[x].kind != '-') ++b_count;
    }
    out += "@@ -" + std::to_string(a_count ? a_line : a_line - 1) + "," + std::to_string(a_count) +
           " +" + std::to_string(b_count ? b_line : b_line - 1) + "," + std::to_string(b_count) +
           " @@\n";
    for (size_t x = start; x < stop; ++x) {
      out += ops[x].kind;
      out += ops[x].line;
      out += '\n';
    }
    k = stop;
  }
  return out;
}

}  // namespace bottle::config
