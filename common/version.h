// One version string for every binary's --version.
#pragma once

namespace bottle {
inline constexpr const char* kVersion = "0.1.0";
}
