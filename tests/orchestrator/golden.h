// Golden files in tests/orchestrator/golden/. To accept a change on purpose:
// BOTTLE_UPDATE_GOLDEN=1 ctest -R 'PlanGolden|ContainerRender', then review the diff.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace bottle::orchestrator::testing {

inline std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) {
    s.replace(p, from.size(), to);
  }
  return s;
}

inline void ExpectGolden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(BOTTLE_GOLDEN_DIR) + "/" + name;
  if (const char* u = std::getenv("BOTTLE_UPDATE_GOLDEN"); u && std::string(u) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden file " << path << " (run with BOTTLE_UPDATE_GOLDEN=1)";
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), actual) << "golden " << path << " differs";
}

}  // namespace bottle::orchestrator::testing
