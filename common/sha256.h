// SHA-256, self-contained so libraries that need a digest (DLP checksums, the config
// hash egress reports on its admin port) do not pull in a TLS library.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace bottle {

std::array<uint8_t, 32> sha256(std::string_view data);
// Lower-case hex of sha256(data): 64 characters.
std::string sha256_hex(std::string_view data);

}  // namespace bottle
