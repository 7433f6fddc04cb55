// Skills: files from a manifest tree (the operator's, or a project repository's),
// copied into the bottle. A project tree is untrusted, so reading it is strict: every
// path component below the manifest root is opened without following symlinks, only
// directories and regular files are accepted, and sizes are capped. A skill is read
// into memory once and written from there: nothing can change between check and copy.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "orchestrator/plan.h"

namespace bottle::orchestrator {

struct SkillFile {
  std::string path;  // relative to the skill; "" when the skill is a single file
  std::string data;
  bool executable = false;
};

struct SkillContent {
  std::vector<std::string> dirs;  // relative, parents before children
  std::vector<SkillFile> files;
};

// Each file at most kMaxAgentFileBytes (state.h); per skill at most:
inline constexpr size_t kMaxSkillBytes = 16 << 20;
inline constexpr size_t kMaxSkillEntries = 4096;

// `relative` (skills/review) below `root`. Errors name the offending path:
// "<root>/skills/x: is a symbolic link", "...: not a regular file", "...: larger than 1 MiB".
Result<SkillContent> read_skill(const std::string& root, const std::string& relative);

// Every skill of the plan, in plan order; the first error names the skill and the agent.
Result<std::vector<SkillContent>> read_skills(const Plan& plan);

// Writes the skill at `destination` (a directory, or the file of a single-file skill).
Status write_skill(const SkillContent& skill, const std::string& destination);

}  // namespace bottle::orchestrator
