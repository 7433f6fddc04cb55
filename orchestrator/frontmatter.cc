#include "orchestrator/frontmatter.h"

#include "common/strict_yaml.h"

namespace bottle::orchestrator {
namespace {

bool is_fence(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  return line == "---";
}

}  // namespace

Result<Frontmatter> split_frontmatter(std::string_view text, std::string_view path) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  size_t eol = text.find('\n');
  if (eol == std::string_view::npos || !is_fence(text.substr(0, eol))) {
    return Error{std::string(path) +
                 ":1: missing YAML frontmatter: the file must start with a '---' line"};
  }
  size_t start = eol + 1;
  size_t pos = start;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    std::string_view cur = text.substr(pos, end == std::string_view::npos ? text.npos : end - pos);
    if (is_fence(cur)) {
      Frontmatter fm;
      fm.yaml = std::string(text.substr(start, pos - start));
      fm.body = end == std::string_view::npos ? "" : std::string(text.substr(end + 1));
      fm.line_offset = 1;
      return fm;
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return Error{std::string(path) + ":1: frontmatter is not closed: add a '---' line after it"};
}

Result<ManifestDocument> load_manifest_document(std::string_view text, const std::string& path) {
  auto fm = split_frontmatter(text, path);
  if (!fm) return Error{fm.error()};
  auto doc = load_strict_yaml(fm->yaml, path, fm->line_offset);
  if (!doc) return Error{doc.error()};
  if (!doc->IsNull() && !doc->IsMap()) {
    return Error{path + ":" + std::to_string(fm->line_offset + 1) +
                 ": frontmatter must be a mapping (key: value lines)"};
  }
  return ManifestDocument{*doc, fm->body, fm->line_offset};
}

}  // namespace bottle::orchestrator
