// Fake but well-formed credentials for every detector: random bodies with valid
// checksums where the format has one. Deterministic per seed; never real secrets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bottle::dlp::testing {

struct Sample {
  std::string detector;  // expected Finding::detector
  std::string secret;    // the part that must never appear in a Finding
  std::string text;      // realistic context containing the secret
};

std::vector<Sample> fake_samples(uint32_t seed = 42);

std::string fake_github_token(std::string_view prefix, uint32_t seed);
std::string base58check_encode(const std::string& payload);
std::string fake_card_number(uint32_t seed);
std::string fake_iban(uint32_t seed);
std::string fake_mnemonic(uint32_t seed, int words = 12);

}  // namespace bottle::dlp::testing
