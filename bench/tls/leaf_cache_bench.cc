// Cost of a leaf certificate on the bump path: minting (cache miss) vs. a cache hit.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/tls/leaf_cache.h"

namespace bottle::tls {
namespace {

std::shared_ptr<const CertificateAuthority> bench_ca() {
  static auto ca = [] {
    auto minted = mint_ca("bench CA", 30);
    auto parsed = parse_ca(minted->cert_pem, minted->key_pem);
    if (!parsed) std::fprintf(stderr, "bench CA: %s\n", parsed.error().c_str());
    return std::make_shared<const CertificateAuthority>(std::move(*parsed));
  }();
  return ca;
}

// Every host is new: one ECDSA signature plus certificate assembly and DER encoding.
void BM_LeafMintCold(benchmark::State& state) {
  auto cache = std::move(*LeafCertCache::create(bench_ca(), 1 << 20));
  std::size_t i = 0;
  for (auto _ : state) {
    auto leaf = cache->get("host" + std::to_string(i++) + ".bench.test");
    benchmark::DoNotOptimize(leaf);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_LeafMintCold);

// A working set of hosts that fits the cache: normalization, hash lookup, LRU splice.
void BM_LeafCacheHit(benchmark::State& state) {
  auto cache = std::move(*LeafCertCache::create(bench_ca(), 1024));
  const int hosts = static_cast<int>(state.range(0));
  std::vector<std::string> names;
  for (int i = 0; i < hosts; ++i) names.push_back("host" + std::to_string(i) + ".bench.test");
  for (const auto& n : names) (void)cache->get(n);
  std::size_t i = 0;
  for (auto _ : state) {
    auto leaf = cache->get(names[i++ % names.size()]);
    benchmark::DoNotOptimize(leaf);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_LeafCacheHit)->Arg(1)->Arg(512);

// The cache is full and every request misses: mint plus eviction.
void BM_LeafCacheChurn(benchmark::State& state) {
  auto cache = std::move(*LeafCertCache::create(bench_ca(), 64));
  std::size_t i = 0;
  for (auto _ : state) {
    auto leaf = cache->get("churn" + std::to_string(i++) + ".bench.test");
    benchmark::DoNotOptimize(leaf);
  }
}
BENCHMARK(BM_LeafCacheChurn);

}  // namespace
}  // namespace bottle::tls

BENCHMARK_MAIN();
