// bottle-init's per-line cost when relaying child output: splitting a pipe read into lines
// and merging the "daemon" field into JSON lines. (Writing to stderr is not measured.)
#include <benchmark/benchmark.h>

#include <string>

#include "init/line_relay.h"

namespace {

std::string repeat_lines(const std::string& line, size_t bytes) {
  std::string out;
  while (out.size() + line.size() + 1 <= bytes) out += line + "\n";
  return out;
}

void BM_SplitShortLines(benchmark::State& state) {
  const std::string chunk = repeat_lines("GET /v1/models 200 12ms", bottle::init::kMaxLineBytes);
  size_t lines = 0;
  bottle::init::LineSplitter splitter([&](std::string_view) { ++lines; });
  for (auto _ : state) splitter.feed(chunk);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * chunk.size()));
  state.counters["lines/s"] =
      benchmark::Counter(static_cast<double>(lines), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SplitShortLines);

void BM_MergeDaemonField(benchmark::State& state) {
  const std::string line =
      R"({"ts":"2026-11-24T10:00:00.000Z","level":"info","component":"egress","event":"request","host":"api.example.com","status":200,"ms":12})";
  for (auto _ : state) benchmark::DoNotOptimize(bottle::init::merge_daemon_field("egress", line));
  state.counters["lines/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MergeDaemonField);

}  // namespace
