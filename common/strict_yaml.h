// Strict YAML loading shared by every YAML file bot-bottle reads (SPEC §9.1): routes.yaml,
// gitgate.yaml, init.yaml and the orchestrator's manifests:
// anchors, aliases, tags, duplicate keys and tabs in indentation are rejected; only
// `true`/`false` are booleans; plain scalars that YAML 1.1 would turn into dates, octals
// or floats are refused where a string is expected. Every error is "file:line:col: what".
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace bottle {

// Parses one YAML document. `line_offset` shifts reported lines (frontmatter that starts
// after a "---" line in a Markdown file).
Result<YAML::Node> load_strict_yaml(std::string_view text, std::string_view file,
                                    int line_offset = 0);

// "file:line:col" of a node (1-based), for error messages.
std::string where(std::string_view file, const YAML::Node& node, int line_offset = 0);

// Typed readers for one mapping. Each records the first error (with position) and returns
// a default; check `error()` once at the end. Unknown keys are reported by `finish()` with
// a did-you-mean suggestion.
class MapReader {
 public:
  MapReader(std::string_view file, const YAML::Node& map, std::string_view what,
            int line_offset = 0);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  bool has(std::string_view key) const;
  YAML::Node node(std::string_view key);  // marks key as known; null node if absent
  std::optional<std::string> str(std::string_view key);
  std::optional<bool> boolean(std::string_view key);
  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max);
  // One of `allowed` (exact spelling).
  std::optional<std::string> one_of(std::string_view key, const std::vector<std::string>& allowed);
  std::optional<std::vector<std::string>> str_list(std::string_view key);

  // Reports a key that is present but reserved (e.g. `role`).
  void reject(std::string_view key, std::string_view why);
  // Reports keys not read by any accessor. Call after all accessors.
  void finish();

  void fail(const YAML::Node& at, std::string_view message);
  std::string where(const YAML::Node& at) const;

 private:
  YAML::Node key_node(std::string_view key) const;
  std::string file_;
  YAML::Node map_;
  std::string what_;
  int line_offset_;
  std::vector<std::string> known_;
  std::string error_;
};

// Scalar checks usable on any node.
bool is_plain_bool_like(const YAML::Node& n);     // yes/no/on/off/True... (not true/false)
bool is_surprising_scalar(const YAML::Node& n);   // date, octal, float, hex, sexagesimal
std::string did_you_mean(std::string_view key, const std::vector<std::string>& candidates);

}  // namespace bottle
