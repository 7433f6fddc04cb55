// bench_dlp_corpus: detection quality of the DLP engine (issue 13), as tables for
// tests/dlp/README.md.
//   - the generated attack corpus (tests/dlp/attack_corpus.h), N cases per class,
//     replayed through egress's request path: detected / total per class, and false
//     blocks on the benign look-alike classes;
//   - a benign corpus directory (bench/dlp/make_benign_corpus.py), every file streamed
//     through BodyScan in 16 KiB chunks both ways: findings per detector per 100 MB,
//     per kind (the directory's first level).
//
//   build/bench/dlp/bench_dlp_corpus --per-class 50 --benign /tmp/benign-corpus
#include <CLI/CLI.hpp>

#include <ctime>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "tests/dlp/attack_corpus.h"

namespace {

using bottle::dlp::Direction;
using bottle::dlp::Finding;
namespace fs = std::filesystem;
namespace t = bottle::dlp::testing;

int attack_table(uint32_t seed, size_t per_class, bool show_misses, const std::string& dump) {
  const auto corpus = t::generate_attack_corpus(seed, per_class);
  auto snap = t::corpus_snapshot(corpus);
  if (!snap) {
    std::fprintf(stderr, "bench_dlp_corpus: %s\n", snap.error().c_str());
    return 1;
  }
  struct Row {
    size_t total = 0, blocked = 0;
    bool benign = false;
  };
  std::map<std::string, Row> rows;
  std::vector<std::string> order;
  size_t i = 0;
  for (const auto& c : corpus.cases) {
    const auto r = t::replay(**snap, c, static_cast<uint32_t>(i++));
    if (!rows.count(c.cls)) order.push_back(c.cls);
    Row& row = rows[c.cls];
    row.benign = c.benign;
    ++row.total;
    row.blocked += r.blocked;
    if (show_misses && r.blocked == c.benign) {
      std::string ids;
      for (const auto& f : r.findings) {
        ids += f.detector + (f.blocking ? "(block" : "(warn") + (f.score ? " " + std::to_string(f.score) : "") + ")";
        for (const auto& s : f.signals) ids += " " + s;
        ids += "; ";
      }
      std::printf("%s %s: host=%s target=%.120s findings: %s\n", c.benign ? "FALSE BLOCK" : "MISS", c.cls.c_str(),
                  c.x.host.c_str(), c.x.target.c_str(), ids.empty() ? "none" : ids.c_str());
      for (const auto& [n, v] : c.x.headers) std::printf("    %s: %.200s\n", n.c_str(), v.c_str());
      for (const std::string* b : {&c.x.body, &c.x.response_body}) {
        if (b->empty()) continue;
        if (!dump.empty()) {
          std::ofstream(dump + "/" + c.cls + "_" + std::to_string(i), std::ios::binary) << *b;
        }
        std::string shown;
        for (unsigned char ch : b->substr(0, 600)) {
          if (ch >= 0x20 && ch < 0x7f) shown.push_back(static_cast<char>(ch));
          else if (ch == '\n') shown += "\\n";
          else shown += "\\x" + std::string(1, "0123456789abcdef"[ch >> 4]) + "0123456789abcdef"[ch & 15];
        }
        std::printf("    body: %s\n", shown.c_str());
      }
    }
  }
  std::printf("\n| class | blocked / total |\n|---|--:|\n");
  size_t att = 0, att_blocked = 0, ben = 0, ben_blocked = 0;
  for (const auto& cls : order) {
    const Row& row = rows[cls];
    std::printf("| %s%s | %zu / %zu |\n", cls.c_str(), row.benign ? " (benign: must pass)" : "", row.blocked,
                row.total);
    (row.benign ? ben : att) += row.total;
    (row.benign ? ben_blocked : att_blocked) += row.blocked;
  }
  std::printf("| **attacks** | **%zu / %zu** |\n| **benign look-alikes blocked** | **%zu / %zu** |\n", att_blocked,
              att, ben_blocked, ben);
  return 0;
}

struct Count {
  size_t block = 0, warn = 0;
};

int benign_table(const std::string& dir, const std::string& list) {
  std::ofstream all;
  if (!list.empty()) all.open(list);
  std::vector<std::string> secrets = {"egress-token-0-1f2e3d4c5b6a79880", "operator-listed-secret-42"};
  bottle::dlp::ScannerConfig config;
  config.known_secrets = secrets;
  auto scanner = bottle::dlp::Scanner::build(config);
  if (!scanner) {
    std::fprintf(stderr, "bench_dlp_corpus: %s\n", scanner.error().c_str());
    return 1;
  }
  std::map<std::string, uint64_t> bytes;                                   // kind -> bytes
  std::map<std::tuple<std::string, std::string, Direction>, Count> found;  // kind, detector, dir
  std::vector<std::string> examples;
  double seconds[2] = {0, 0};
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    const std::string kind = fs::relative(path, dir).begin()->string();
    std::ifstream in(path, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes[kind] += data.size();
    for (Direction d : {Direction::outbound, Direction::inbound}) {
      const std::clock_t start = std::clock();
      std::vector<Finding> out;
      auto body = (*scanner)->open_body(d, "body");
      for (size_t i = 0; i < data.size(); i += 16384) body->feed(std::string_view(data).substr(i, 16384), out);
      body->finish(out);
      seconds[d == Direction::inbound] += static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
      for (const auto& f : out) {
        // As egress judges it with no dlp.detectors in routes.yaml: the detector's default.
        const bottle::dlp::DetectorInfo* info = bottle::dlp::find_detector(f.detector);
        const bool blocks = f.blocking && (info == nullptr || info->default_action == bottle::dlp::Action::block);
        Count& c = found[{kind, f.detector, d}];
        (blocks ? c.block : c.warn)++;
        std::string line = std::string(d == Direction::outbound ? "out " : "in  ") + f.detector +
                           (blocks ? " block " : " warn  ") + path.string() + "@" + std::to_string(f.offset) +
                           ": " + f.snippet;
        if (f.score != 0) line += " score=" + std::to_string(f.score);
        for (const auto& sig : f.signals) line += " " + sig;
        if (all.is_open()) all << line << "\n";
        if (examples.size() < 40) examples.push_back(std::move(line));
      }
    }
  }
  uint64_t total = 0;
  std::printf("\n| kind | MB |\n|---|--:|\n");
  for (const auto& [k, b] : bytes) {
    std::printf("| %s | %.1f |\n", k.c_str(), b / 1e6);
    total += b;
  }
  std::printf("| **total** | **%.1f** |\n", total / 1e6);
  std::printf("\nfindings per 100 MB of each kind (blocking / warn):\n\n| direction | detector | kind | per 100 MB |\n|---|---|---|--:|\n");
  for (const auto& [key, c] : found) {
    const auto& [kind, det, d] = key;
    const double scale = 1e8 / static_cast<double>(bytes[kind]);
    std::printf("| %s | %s | %s | %.1f / %.1f |\n", d == Direction::outbound ? "outbound" : "inbound", det.c_str(),
                kind.c_str(), c.block * scale, c.warn * scale);
  }
  if (found.empty()) std::printf("| both | (none) | all | 0 |\n");
  std::printf("\nCPU time: outbound %.2f s (%.0f MB/s), inbound %.2f s (%.0f MB/s)\n", seconds[0],
              total / 1e6 / seconds[0], seconds[1], total / 1e6 / seconds[1]);
  if (!examples.empty()) {
    std::printf("\nfirst findings:\n");
    for (const auto& e : examples) std::printf("  %s\n", e.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"DLP detection quality: attack corpus by class, false positives on a benign corpus"};
  size_t per_class = 10;
  uint32_t seed = 13;
  std::string benign;
  bool misses = false;
  std::string dump, list;
  app.add_option("--per-class", per_class, "generated cases per attack class")->check(CLI::Range(1, 100000));
  app.add_option("--seed", seed, "corpus seed");
  app.add_option("--benign", benign, "benign corpus directory (make_benign_corpus.py)")->check(CLI::ExistingDirectory);
  app.add_flag("--misses", misses, "list every missed attack and every false block");
  app.add_option("--dump", dump, "with --misses: write each listed case's body to this directory")
      ->check(CLI::ExistingDirectory);
  app.add_option("--findings", list, "with --benign: write every finding on the benign corpus to this file");
  app.set_version_flag("--version", "bench_dlp_corpus 1");
  CLI11_PARSE(app, argc, argv);
  if (int rc = attack_table(seed, per_class, misses, dump); rc != 0) return rc;
  return benign.empty() ? 0 : benign_table(benign, list);
}
