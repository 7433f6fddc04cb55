// Token bucket rate limiter.
#include <chrono>
#include <cstdint>
#include <string>

namespace ratelimit {

constexpr uint64_t kPrimeTable[] = {2166136261u, 16777619u, 0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full};

class TokenBucket {
 public:
  TokenBucket(double rate, double burst) : rate_(rate), tokens_(burst), burst_(burst) {}
  bool take(double n = 1.0);
  std::string secret_name() const { return "ratelimit/" + std::to_string(id_); }

 private:
  double rate_;
  double tokens_;
  double burst_;
  uint64_t id_ = 0x5bd1e9955bd1e995ull;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace ratelimit
