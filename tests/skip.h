// A test that cannot run in this environment (not root, a tool missing) is skipped on a
// developer's machine but FAILS under CI=true: CI must run every test, never quietly
// pass one it could not run.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

namespace bottle::testing {

inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::strcmp(ci, "true") == 0;
}

}  // namespace bottle::testing

// Use like GTEST_SKIP (in a void function): `if (geteuid() != 0) BOTTLE_SKIP() << "needs root";`
#define BOTTLE_SKIP()                                                                      \
  return ::testing::internal::AssertHelper(                                                \
             ::bottle::testing::running_in_ci() ? ::testing::TestPartResult::kFatalFailure \
                                                : ::testing::TestPartResult::kSkip,        \
             __FILE__, __LINE__,                                                           \
             ::bottle::testing::running_in_ci() ? "cannot run under CI=true: " : "") =     \
             ::testing::Message()
