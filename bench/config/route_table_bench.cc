// RouteTable::match cost at 10 and 10,000 routes (target: < 1 µs at 10,000 exact hosts).
#include <benchmark/benchmark.h>

#include <string>

#include "config/route_table.h"

namespace {

std::shared_ptr<const bottle::config::RouteTable> make_table(int n, bool with_matches) {
  std::string y = "routes:\n";
  for (int i = 0; i < n; ++i) {
    y += "  - host: h" + std::to_string(i) + ".example.com\n";
    if (with_matches) {
      y += "    matches:\n      - path: {type: PathPrefix, value: /v1/}\n        method: POST\n"
           "      - path: {type: RegularExpression, value: \"/repos/[a-z]+/issues\"}\n";
    }
  }
  y += "  - host: \"*.wild.example.org\"\n";
  auto t = bottle::config::parse_routes(y, "bench.yaml");
  if (!t.ok()) throw std::runtime_error(t.error());
  return *t;
}

void run(benchmark::State& state, bool with_matches, const char* path, bool wildcard) {
  auto table = make_table(static_cast<int>(state.range(0)), with_matches);
  std::string host = wildcard ? "a.b.wild.example.org" : "h" + std::to_string(state.range(0) / 2) + ".example.com";
  bottle::config::RequestView req;
  req.host = host;
  req.port = 443;
  req.method = "GET";
  req.path = path;
  for (auto _ : state) {
    auto r = table->match(req);
    benchmark::DoNotOptimize(r);
  }
}

void BM_MatchExactHost(benchmark::State& s) { run(s, false, "/v1/messages", false); }
void BM_MatchWildcardHost(benchmark::State& s) { run(s, false, "/v1/messages", true); }
void BM_MatchExactHostWithRegexPath(benchmark::State& s) { run(s, true, "/repos/abc/issues", false); }
void BM_MatchMissHost(benchmark::State& state) {
  auto table = make_table(static_cast<int>(state.range(0)), false);
  bottle::config::RequestView req;
  req.host = "not-there.example.net";
  req.method = "GET";
  req.path = "/";
  for (auto _ : state) benchmark::DoNotOptimize(table->match(req));
}
void BM_Compile(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(make_table(static_cast<int>(state.range(0)), true));
}

BENCHMARK(BM_MatchExactHost)->Arg(10)->Arg(10000);
BENCHMARK(BM_MatchWildcardHost)->Arg(10)->Arg(10000);
BENCHMARK(BM_MatchExactHostWithRegexPath)->Arg(10)->Arg(10000);
BENCHMARK(BM_MatchMissHost)->Arg(10)->Arg(10000);
BENCHMARK(BM_Compile)->Arg(10)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
