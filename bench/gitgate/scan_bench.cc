// Push scan throughput (SPEC §6, issue 11 target: >= 500 MB/s of new text blob data):
// scan_push() on a commit no ref reaches yet, as in receive-pack's quarantine, so the
// figure includes git rev-list + cat-file --batch and the DLP scan of every blob. The
// text is this repository's own source (C++, CMake, Markdown), each copy made unique so
// git stores every blob.
//   build/bench/gitgate/bench_gitgate_scan --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gitgate/push_scan.h"
#include "gitgate/subprocess.h"

namespace {

namespace fs = std::filesystem;
using namespace bottle;

std::string which(const std::string& name) {
  for (const char* dir : {"/usr/local/bin", "/usr/bin", "/bin"}) {
    std::string p = std::string(dir) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

const std::vector<std::string> kEnv = {"PATH=/usr/local/bin:/usr/bin:/bin",
                                       "HOME=/nonexistent",
                                       "GIT_CONFIG_NOSYSTEM=1",
                                       "GIT_AUTHOR_NAME=b",
                                       "GIT_AUTHOR_EMAIL=b@x",
                                       "GIT_COMMITTER_NAME=b",
                                       "GIT_COMMITTER_EMAIL=b@x"};

void git(const std::string& repo, std::vector<std::string> args) {
  args.insert(args.begin(), {which("git"), "-C", repo});
  gitgate::SpawnSpec s;
  s.argv = std::move(args);
  s.env = kEnv;
  auto r = gitgate::run_command(s);
  if (!r || !r->ok()) throw std::runtime_error("git " + s.argv[3] + " failed");
}

// The repository's own sources, concatenated: real text, not a generator's.
std::string source_text() {
  std::string all;
  for (const char* dir : {"common", "config", "proxy", "gitgate", "orchestrator", "init"}) {
    for (const auto& e :
         fs::recursive_directory_iterator(std::string(BOTTLE_SOURCE_DIR) + "/" + dir)) {
      const auto ext = e.path().extension();
      if (ext != ".cc" && ext != ".h" && ext != ".md" && ext != ".txt") continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      all += ss.str();
    }
  }
  return all;
}

// A repo with one commit on main and one commit no ref reaches adding `files` text files
// of `file_bytes` each, packed as receive-pack keeps a received pack.
struct PushFixture {
  std::string repo;
  std::string tip;
  uint64_t bytes = 0;
};

// The fixtures' repositories, removed when the benchmark exits.
struct TempRepos {
  std::vector<std::string> dirs;
  ~TempRepos() {
    std::error_code ec;
    for (const auto& d : dirs) fs::remove_all(d, ec);
  }
};
TempRepos temp_repos;

PushFixture make_push(size_t files, size_t file_bytes) {
  PushFixture f;
  char tmpl[] = "/tmp/gitgate-bench-XXXXXX";
  f.repo = ::mkdtemp(tmpl);
  temp_repos.dirs.push_back(f.repo);
  git(f.repo, {"init", "-q", "-b", "main"});
  std::ofstream(f.repo + "/README") << "base\n";
  git(f.repo, {"add", "-A"});
  git(f.repo, {"commit", "-q", "-m", "base"});
  git(f.repo, {"checkout", "-q", "-b", "incoming"});
  static const std::string text = source_text();
  size_t offset = 0;
  for (size_t i = 0; i < files; ++i) {
    std::string body = "// copy " + std::to_string(i) + "\n";
    while (body.size() < file_bytes) {
      const size_t take = std::min(file_bytes - body.size(), text.size() - offset);
      body.append(text, offset, take);
      offset = (offset + take) % text.size();
    }
    fs::create_directories(f.repo + "/src/d" + std::to_string(i % 16));
    std::ofstream(f.repo + "/src/d" + std::to_string(i % 16) + "/f" + std::to_string(i) + ".cc",
                  std::ios::binary)
        << body;
    f.bytes += body.size();
  }
  git(f.repo, {"add", "-A"});
  git(f.repo, {"commit", "-q", "-m", "incoming work"});
  gitgate::SpawnSpec rev;
  rev.argv = {which("git"), "-C", f.repo, "rev-parse", "HEAD"};
  rev.env = kEnv;
  f.tip = gitgate::run_command(rev)->out.substr(0, 40);
  // A push of more than receive.unpackLimit (100) objects stays a pack in the quarantine:
  // pack the incoming objects too, then drop the only ref that reaches them.
  git(f.repo, {"checkout", "-q", "main"});
  git(f.repo, {"repack", "-a", "-d", "-q"});
  git(f.repo, {"branch", "-q", "-D", "incoming"});
  return f;
}

const dlp::Scanner& scanner() {
  static auto s = dlp::Scanner::build({});
  return **s;
}

void ScanPush(benchmark::State& state) {
  const size_t files = static_cast<size_t>(state.range(0));
  const size_t file_bytes = static_cast<size_t>(state.range(1));
  static std::map<std::pair<size_t, size_t>, PushFixture> fixtures;
  // Built once: the benchmark library calls this function again for each run length.
  auto it = fixtures.find({files, file_bytes});
  if (it == fixtures.end())
    it = fixtures.emplace(std::pair(files, file_bytes), make_push(files, file_bytes)).first;
  const PushFixture& f = it->second;
  const dlp::Scanner& sc = scanner();  // built before the clock starts
  gitgate::QuarantineGit q{which("git"), f.repo + "/.git", kEnv};
  gitgate::RefUpdate u{std::string(gitgate::kZeroId), f.tip, "refs/heads/incoming"};
  uint64_t findings = 0;
  // CPU of this process plus the git children it reaped: what a push costs the machine,
  // whatever else the shared host is running (real time is what the pusher waits).
  auto cpu_seconds = [] {
    rusage self{}, kids{};
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return s(self.ru_utime) + s(self.ru_stime) + s(kids.ru_utime) + s(kids.ru_stime);
  };
  const double cpu_before = cpu_seconds();
  for (auto _ : state) {
    auto r = gitgate::scan_push(q, {u}, sc, 8 << 20);
    if (!r) state.SkipWithError(r.error().c_str());
    findings = r->findings.size();
  }
  const double cpu = cpu_seconds() - cpu_before;
  state.SetBytesProcessed(static_cast<int64_t>(f.bytes) * state.iterations());
  state.counters["findings"] = static_cast<double>(findings);
  state.counters["MB/s_of_cpu"] =
      static_cast<double>(f.bytes) * static_cast<double>(state.iterations()) / cpu / 1e6;
}
// The DLP engine alone on the same text, blob-sized units: what the git plumbing adds is
// ScanPush minus this.
void ScanTextOnly(benchmark::State& state) {
  static const std::string text = source_text();
  const dlp::Scanner& sc = scanner();  // built before the clock starts
  const size_t unit = static_cast<size_t>(state.range(0));
  uint64_t bytes = 0;
  for (auto _ : state) {
    for (size_t off = 0; off + unit <= text.size(); off += unit) {
      benchmark::DoNotOptimize(
          sc.scan(std::string_view(text).substr(off, unit), dlp::Direction::outbound, "b"));
      bytes += unit;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(ScanTextOnly)->Arg(128 << 10)->Arg(4 << 10)->Unit(benchmark::kMillisecond);

// 32 MiB in 256 files of 128 KiB; 10 MiB in 2560 files of 4 KiB (a typical change set).
BENCHMARK(ScanPush)
    ->Args({256, 128 << 10})
    ->Args({2560, 4 << 10})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
