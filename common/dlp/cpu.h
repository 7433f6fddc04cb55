// Which vector code paths the DLP engine takes: the best the CPU has, capped by the
// environment variable BOTTLE_DLP_ISA (avx512 | avx2 | none) so that tests run the
// fallback paths on any machine (any other value, or none, leaves the CPU's best path).
// Read once, at first use.
#pragma once

namespace bottle::dlp::internal {

enum class Isa { none, avx2, avx512 };  // avx512: F + BW + VBMI

Isa vector_isa();

}  // namespace bottle::dlp::internal
