// Push and clone through bottle-gitgate against the same operations straight to the sshd
// upstream (issue 11 targets: a 10 MB push <= 1.3x direct, a 100 MB clone <= 1.3x direct).
// Real git, the real gate binary, a real sshd on loopback (tests/gitgate/gate_harness.h);
// needs root like the gate's e2e tests.
//   build/bench/gitgate/bench_gitgate_transfer [--rounds 5] [--push-mb 10] [--clone-mb 100]
//   build/bench/gitgate/bench_gitgate_transfer --quick   (1 MB / 4 MB, 1 round: the smoke test)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "tests/gitgate/gate_harness.h"

namespace {

using namespace bottle::test;
namespace fs = std::filesystem;

double seconds_of(const std::function<bool()>& step) {
  const auto a = std::chrono::steady_clock::now();
  if (!step()) return -1;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? -1 : v[v.size() / 2];
}

// Text for pushes: varied source-like lines, unique per round so every blob is new.
std::string text_blob(std::mt19937& rng, size_t bytes) {
  static const char* kWords[] = {"return",      "auto",   "const",
                                 "std::string", "if",     "for",
                                 "status",      "config", "// the gate scans what is new",
                                 "value",       "repo",   "upstream",
                                 "push",        "fetch"};
  std::string out;
  while (out.size() < bytes) {
    for (int w = 0; w < 9; ++w) out += std::string(kWords[rng() % 14]) + (w == 8 ? ";\n" : " ");
  }
  out.resize(bytes);
  return out;
}

std::string random_blob(std::mt19937& rng, size_t bytes) {
  std::string out(bytes, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

bool commit_files(const std::string& repo, size_t files, size_t bytes_each, bool text,
                  std::mt19937& rng, const std::string& tag) {
  for (size_t i = 0; i < files; ++i) {
    write_file(repo + "/" + tag + "-" + std::to_string(i) + (text ? ".txt" : ".bin"),
               text ? text_blob(rng, bytes_each) : random_blob(rng, bytes_each));
  }
  return git({"add", "-A"}, repo).ok() && git({"commit", "-q", "-m", tag}, repo).ok();
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  size_t push_mb = 10, clone_mb = 100;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      rounds = 1;
      push_mb = 1;
      clone_mb = 4;
    } else if (a == "--rounds" && i + 1 < argc) {
      rounds = std::stoi(argv[++i]);
    } else if (a == "--push-mb" && i + 1 < argc) {
      push_mb = std::stoul(argv[++i]);
    } else if (a == "--clone-mb" && i + 1 < argc) {
      clone_mb = std::stoul(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--rounds N] [--push-mb N] [--clone-mb N]\n",
                   argv[0]);
      return 2;
    }
  }
  if (auto why = gate_e2e_blocker(); !why.empty()) {
    std::fprintf(stderr, "bench_gitgate_transfer: cannot run: %s\n", why.c_str());
    return in_ci() ? 1 : 77;
  }
  ScratchDir dir("gitgate-bench");
  SshUpstream up(dir.path());
  if (!up.start()) {
    std::fprintf(stderr, "bench_gitgate_transfer: sshd: %s\n", up.error().c_str());
    return 1;
  }
  for (const char* name : {"direct", "gated", "big"}) up.create_repo(name);
  std::mt19937 rng(11);
  // The clone source: clone_mb of incompressible data in 2 MB files, pushed once.
  {
    const std::string seed = dir.file("seed");
    git({"clone", "-q", up.repo_dir("big"), seed});
    if (!commit_files(seed, std::max<size_t>(1, clone_mb / 2), std::min<size_t>(clone_mb, 2) << 20,
                      false, rng, "big") ||
        !git({"push", "-q", "origin", "HEAD:main"}, seed).ok()) {
      std::fprintf(stderr, "bench_gitgate_transfer: could not build the clone source\n");
      return 1;
    }
  }
  const std::map<std::string, std::string> direct_ssh = {
      {"GIT_SSH_COMMAND",
       "ssh -F /dev/null -i " + up.client_key() +
           " -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o "
           "LogLevel=ERROR"}};

  std::vector<double> push_direct, push_git, push_http, clone_direct, clone_cold, clone_warm;
  const std::string work_direct = dir.file("w-direct"), work_gate = dir.file("w-gate");
  git({"clone", "-q", up.url("direct"), work_direct}, "", direct_ssh);
  for (int r = 0; r < rounds; ++r) {
    // A fresh gate (empty mirrors) per round: the first clone through it is the cold one.
    GateProcess gate(dir.path() + "/round" + std::to_string(r), gate_yaml(up, {"gated", "big"}));
    if (!gate.start()) {
      std::fprintf(stderr, "bench_gitgate_transfer: gate: %s\n", gate.log().c_str());
      return 1;
    }
    // Cold: the first read right after the gate started (it waits for the start-up fetch of
    // the whole repo, then an incremental one, then is served).
    const std::string c1 = dir.file("c-direct"), c2 = dir.file("c-cold"), c3 = dir.file("c-warm");
    for (const auto& c : {c1, c2, c3}) fs::remove_all(c);
    clone_cold.push_back(seconds_of([&] {
      return git({"clone", "-q", gate.git_url("big"), c2}).ok();
    }));
    fs::remove_all(work_gate);
    if (!git({"clone", "-q", gate.git_url("gated"), work_gate}).ok()) return 1;
    const size_t files = std::max<size_t>(1, push_mb * 10);
    const size_t each = (push_mb << 20) / files;
    const std::string tag = "r" + std::to_string(r);
    commit_files(work_direct, files, each, true, rng, tag);
    push_direct.push_back(seconds_of([&] {
      return git({"push", "-q", "origin", "HEAD:main"}, work_direct, direct_ssh).ok();
    }));
    commit_files(work_gate, files, each, true, rng, tag + "g");
    push_git.push_back(seconds_of([&] {
      return git({"push", "-q", "origin", "HEAD:main"}, work_gate).ok();
    }));
    commit_files(work_gate, files, each, true, rng, tag + "h");
    push_http.push_back(seconds_of([&] {
      return git({"push", "-q", gate.http_url("gated"), "HEAD:main"}, work_gate).ok();
    }));
    clone_direct.push_back(seconds_of([&] {
      return git({"clone", "-q", up.url("big"), c1}, "", direct_ssh).ok();
    }));
    clone_warm.push_back(seconds_of([&] {
      return git({"clone", "-q", gate.git_url("big"), c3}).ok();
    }));
  }
  auto row = [](const char* what, double direct, double gated) {
    std::printf("| %-38s | %7.3f s | %7.3f s | %5.2fx |\n", what, direct, gated, gated / direct);
  };
  std::printf(
      "| %zu MB push / %zu MB clone, median of %d | direct | gate | ratio |\n|---|---|---|---|\n",
      push_mb, clone_mb, rounds);
  row("push over git:// (scan + forward)", median(push_direct), median(push_git));
  row("push over smart HTTP (scan + forward)", median(push_direct), median(push_http));
  row("clone right after the gate started (cold)", median(clone_direct), median(clone_cold));
  row("clone once the mirror is warm", median(clone_direct), median(clone_warm));
  for (double v : {median(push_direct), median(push_git), median(push_http), median(clone_direct),
                   median(clone_cold), median(clone_warm)}) {
    if (v < 0) {
      std::fprintf(stderr, "bench_gitgate_transfer: a step failed\n");
      return 1;
    }
  }
  return 0;
}
