// Scanner throughput on ~4 MiB of mixed text and of JSON with the full detector set,
// against an RE2::Set of the same patterns; plus the per-call cost of scanning one
// short header value, which egress does for every header of every request.
//   build/bench/dlp/bench_dlp --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <re2/set.h>

#include <random>
#include <string>

#include "common/dlp/detectors.h"
#include "common/dlp/scanner.h"

namespace {

using bottle::dlp::Direction;
using bottle::dlp::Scanner;
using bottle::dlp::ScannerConfig;

constexpr size_t kTarget = 4 << 20;

std::string random_b64(std::mt19937& rng, size_t n) {
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < n; ++i) out.push_back(kB64[rng() % 64]);
  return out;
}

std::string random_hex(std::mt19937& rng, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out.push_back("0123456789abcdef"[rng() % 16]);
  return out;
}

// Prose, source code, logs, URLs with percent-escapes, a base64 image, hashes, UUIDs.
const std::string& mixed_text() {
  static const std::string data = [] {
    std::mt19937 rng(7);
    const char* prose =
        "The history of the public library is a long one. In the early years every town wanted a place where "
        "people could read and learn, and many of them found a way to build one with help from local families. ";
    const char* code =
        "int main(int argc, char** argv) {\n  auto token = std::getenv(\"SERVICE_TOKEN\");\n  if (!token) return 2;\n"
        "  for (int i = 0; i < argc; ++i) printf(\"%s\\n\", argv[i]);\n  return run(token, argc);\n}\n";
    const char* log =
        "2025-03-14T09:26:53.589Z INFO request_id=0f8fad5b-d9cb-469f-a165-70867728950e method=GET status=200 "
        "path=/api/v1/items?page=2&q=hello%20world latency_ms=12\n";
    std::string out;
    while (out.size() < kTarget) {
      out += prose;
      out += code;
      out += log;
      out += "commit " + random_hex(rng, 40) + "\nAuthor: Dev <dev@example.com>\n\n    Fix the parser\n\n";
      if (rng() % 8 == 0) out += "<img src=\"data:image/png;base64," + random_b64(rng, 2048) + "\">\n";
      out += "https://example.com/search?q=" + std::string("caf%C3%A9%20menu") + "&ref=" + random_hex(rng, 12) + "\n";
    }
    out.resize(kTarget);
    return out;
  }();
  return data;
}

const std::string& json_text() {
  static const std::string data = [] {
    std::mt19937 rng(9);
    std::string out = "[";
    while (out.size() < kTarget) {
      out += "{\"id\":\"" + random_hex(rng, 8) + "-" + random_hex(rng, 4) + "-4" + random_hex(rng, 3) + "-a" +
             random_hex(rng, 3) + "-" + random_hex(rng, 12) + "\",\"name\":\"item " + std::to_string(rng() % 100000) +
             "\",\"price_cents\":" + std::to_string(rng() % 1000000) +
             ",\"tags\":[\"alpha\",\"beta\"],\"description\":\"A plain description of the item with some words.\","
             "\"sha\":\"" + random_hex(rng, 40) + "\",\"created_at\":\"2025-03-14T09:26:53Z\",\"active\":true},";
    }
    out.back() = ']';
    return out;
  }();
  return data;
}

// A downloaded archive or image: random bytes, mostly invalid UTF-8.
const std::string& binary_data() {
  static const std::string data = [] {
    std::mt19937 rng(11);
    std::string out(kTarget, '\0');
    for (char& c : out) c = static_cast<char>(rng());
    return out;
  }();
  return data;
}

std::shared_ptr<const Scanner> scanner() {
  static const auto s = [] {
    ScannerConfig config;
    config.known_secrets = {"egress-token-0-1f2e3d4c5b6a79880", "operator-listed-secret-42"};
    return *Scanner::build(config);
  }();
  return s;
}

void BM_ScanBlock(benchmark::State& state, const std::string& (*data)(), Direction dir) {
  const std::string& text = data();
  auto s = scanner();
  for (auto _ : state) benchmark::DoNotOptimize(s->scan(text, dir, "body"));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_ScanStream(benchmark::State& state, const std::string& (*data)(), Direction dir) {
  const std::string& text = data();
  const auto chunk = static_cast<size_t>(state.range(0));
  auto s = scanner();
  for (auto _ : state) {
    std::vector<bottle::dlp::Finding> out;
    auto body = s->open_body(dir, "body");
    for (size_t i = 0; i < text.size(); i += chunk) body->feed(std::string_view(text).substr(i, chunk), out);
    body->finish(out);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_RE2SetBaseline(benchmark::State& state, const std::string& (*data)()) {
  RE2::Options opts;
  opts.set_encoding(RE2::Options::EncodingLatin1);
  opts.set_max_mem(int64_t{1} << 30);
  opts.set_log_errors(false);
  RE2::Set set(opts, RE2::UNANCHORED);
  for (const auto& d : bottle::dlp::secret_detectors()) {
    const std::string p = d.caseless ? "(?i)" + std::string(d.pattern) : std::string(d.pattern);
    if (set.Add(p, nullptr) < 0) state.SkipWithError("RE2::Set rejected a pattern");
  }
  if (!set.Compile()) state.SkipWithError("RE2::Set compile failed");
  const std::string& text = data();
  std::vector<int> matched;
  for (auto _ : state) {
    RE2::Set::ErrorInfo info;
    const bool any = set.Match(text, &matched, &info);
    if (!any && info.kind != RE2::Set::kNoError) state.SkipWithError("RE2::Set ran out of DFA memory");
    benchmark::DoNotOptimize(matched);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_ScanShortHeader(benchmark::State& state) {
  auto s = scanner();
  const std::string value = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0";
  for (auto _ : state) benchmark::DoNotOptimize(s->scan(value, Direction::outbound, "header:user-agent"));
  state.SetItemsProcessed(state.iterations());
}

void BM_Build(benchmark::State& state) {
  ScannerConfig config;
  config.known_secrets = {"egress-token-0-1f2e3d4c5b6a79880", "operator-listed-secret-42"};
  for (auto _ : state) benchmark::DoNotOptimize(Scanner::build(config));
}

BENCHMARK_CAPTURE(BM_ScanBlock, mixed_outbound, mixed_text, Direction::outbound)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScanBlock, json_outbound, json_text, Direction::outbound)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScanBlock, mixed_inbound, mixed_text, Direction::inbound)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScanStream, mixed_outbound, mixed_text, Direction::outbound)
    ->Arg(16 << 10)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScanStream, json_outbound, json_text, Direction::outbound)
    ->Arg(16 << 10)
    ->Unit(benchmark::kMillisecond);
// Response bodies (egress inbound DLP): only the injection phrases run.
BENCHMARK_CAPTURE(BM_ScanStream, mixed_inbound, mixed_text, Direction::inbound)
    ->Arg(16 << 10)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScanStream, binary_outbound, binary_data, Direction::outbound)
    ->Arg(16 << 10)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ScanStream, binary_inbound, binary_data, Direction::inbound)
    ->Arg(16 << 10)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RE2SetBaseline, mixed, mixed_text)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_RE2SetBaseline, json, json_text)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ScanShortHeader);
BENCHMARK(BM_Build)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
