// Splits a Markdown manifest into its YAML frontmatter and its body (the agent prompt).
// The frontmatter sits between a first line "---" and the next "---" line.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

#include "common/result.h"

namespace bottle::orchestrator {

struct Frontmatter {
  std::string yaml;     // text between the fences
  std::string body;     // everything after the closing fence
  int line_offset = 1;  // lines before the YAML text (the opening fence), for error positions
};

// `path` names the file in errors: "agents/x.md:1: missing YAML frontmatter ...".
Result<Frontmatter> split_frontmatter(std::string_view text, std::string_view path);

// The frontmatter loaded as strict YAML: a mapping, or null when it is empty.
struct ManifestDocument {
  YAML::Node doc;
  std::string body;
  int line_offset = 1;
};
Result<ManifestDocument> load_manifest_document(std::string_view text, const std::string& path);

}  // namespace bottle::orchestrator
