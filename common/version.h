// One version string for every binary's --version: "bottle-egress 0.1.0 (commit 1a2b3c4d5e6f)".
#pragma once

#include <string>
#include <string_view>

namespace bottle {

inline constexpr const char* kVersion = "0.1.0";

// The commit the binary was built from ("-dirty" with uncommitted changes; "unknown"
// outside a git checkout). Generated at build time by cmake/BuildCommit.cmake.
const char* build_commit();

// The --version line of `program`: name, version and commit.
inline std::string version_line(std::string_view program) {
  return std::string(program) + " " + kVersion + " (commit " + build_commit() + ")";
}

}  // namespace bottle
