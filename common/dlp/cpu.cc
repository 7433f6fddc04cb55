#include "common/dlp/cpu.h"

#include <cstdlib>
#include <string_view>

namespace bottle::dlp::internal {
namespace {

Isa detect() {
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vbmi")) {
    return Isa::avx512;
  }
  if (__builtin_cpu_supports("avx2")) return Isa::avx2;
#endif
  return Isa::none;
}

Isa cap_from_env() {
  const char* v = std::getenv("BOTTLE_DLP_ISA");
  if (v == nullptr) return Isa::avx512;
  const std::string_view s(v);
  if (s == "none") return Isa::none;
  if (s == "avx2") return Isa::avx2;
  return Isa::avx512;
}

}  // namespace

Isa vector_isa() {
  static const Isa isa = [] {
    const Isa cpu = detect(), cap = cap_from_env();
    return cpu < cap ? cpu : cap;
  }();
  return isa;
}

}  // namespace bottle::dlp::internal
