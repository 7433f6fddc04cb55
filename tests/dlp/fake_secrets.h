// Fake but well-formed credentials for every detector: random bodies with valid
// checksums where the format has one. Deterministic per seed; never real secrets.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace bottle::dlp::testing {

// The tests' random source: deterministic per seed.
struct Rng {
  std::mt19937 gen;
  explicit Rng(uint32_t seed) : gen(seed) {}
  size_t below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(gen); }
  size_t between(size_t lo, size_t hi) { return lo + below(hi - lo + 1); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(gen) < p; }
  std::string pick(std::string_view alphabet, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) out.push_back(alphabet[below(alphabet.size())]);
    return out;
  }
  std::string bytes(size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) out.push_back(static_cast<char>(gen() & 0xff));
    return out;
  }
  template <typename T>
  const T& one(const std::vector<T>& v) {
    return v[below(v.size())];
  }
  std::string_view one(std::initializer_list<std::string_view> v) { return *(v.begin() + below(v.size())); }
};

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
