// The benign corpus's fast subset (issue 13): real text installed on this machine that no
// one wrote to pass our tests — C headers, the Python standard library, package
// documentation — streamed through both scanners. Docs and code give no blocking finding.
// bench_dlp_corpus scans the full corpus (bench/dlp/make_benign_corpus.py, ~380 MB).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/dlp/test_util.h"
#include "tests/support/support.h"

namespace bottle::dlp::testing {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kBytesPerSource = 3u << 20;  // ~9 MB in all: a second or two under ASan
constexpr uint64_t kMaxFileBytes = 256u << 10;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Files under `root` (sorted, so every run reads the same ones) that `take` accepts,
// sampled evenly across the tree until `kBytesPerSource` is read.
std::vector<std::pair<fs::path, std::string>> sample(const fs::path& root, bool (*take)(const fs::path&)) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec) && it->file_size(ec) <= kMaxFileBytes && take(it->path())) {
      files.push_back(it->path());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<std::pair<fs::path, std::string>> out;
  if (files.empty()) return out;
  uint64_t total = 0;
  for (const auto& f : files) total += fs::file_size(f, ec);
  const size_t stride = std::max<size_t>(1, static_cast<size_t>(total / kBytesPerSource));
  uint64_t used = 0;
  for (size_t i = 0; i < files.size() && used < kBytesPerSource; i += stride) {
    std::string data = read_file(files[i]);
    if (data.find('\0') != std::string::npos) continue;  // binary: not text
    used += data.size();
    out.emplace_back(files[i], std::move(data));
  }
  return out;
}

bool header(const fs::path& p) { return p.extension() == ".h" || p.extension() == ".hpp"; }
bool python_stdlib(const fs::path& p) {
  const std::string s = p.string();
  return p.extension() == ".py" && s.find("-packages/") == std::string::npos;
}
// Key material is not benign text: packages ship example keys and certificates (python3-h2,
// pulled in by mitmproxy, has a real PEM key), and blocking one is right. Which files the
// even sampling picks depends on what else is installed, so they are left out by type.
bool key_material(const fs::path& p) {
  static const char* const kTypes[] = {".key", ".pem", ".crt", ".cert", ".der", ".csr",
                                       ".p12", ".pfx", ".jks", ".keystore", ".gpg", ".asc"};
  const std::string ext = p.extension().string();
  return std::any_of(std::begin(kTypes), std::end(kTypes), [&](const char* t) { return ext == t; });
}
bool plain_doc(const fs::path& p) {
  return p.extension() != ".gz" && p.extension() != ".png" && !key_material(p);
}

fs::path python_stdlib_dir() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib", ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("python3.") && fs::exists(e.path() / "os.py")) return e.path();
  }
  return {};
}

TEST(BenignRealText, DocsAndCodeGiveNoBlockingFinding) {
  const std::vector<std::pair<fs::path, bool (*)(const fs::path&)>> sources = {
      {"/usr/include", header}, {python_stdlib_dir(), python_stdlib}, {"/usr/share/doc", plain_doc}};
  auto scanner = build_scanner({.known_secrets = {"egress-token-0-1f2e3d4c5b6a79880"}, .exempt_values = {}});
  ASSERT_TRUE(scanner);
  for (const auto& [root, take] : sources) {
    const auto files = sample(root, take);
    uint64_t bytes = 0;
    for (const auto& f : files) bytes += f.second.size();
    std::printf("%s: %zu files, %.1f MB\n", root.c_str(), files.size(), static_cast<double>(bytes) / 1e6);
    if (bytes < (1u << 20)) BOTTLE_SKIP() << "under 1 MiB of text in '" << root << "' (Debian 12 with python3)";
    for (const auto& [path, data] : files) {
      if (data.find("PRIVATE KEY-----") != std::string::npos) continue;  // key material, as above
      for (Direction dir : {Direction::outbound, Direction::inbound}) {
        for (const Finding& f : scan_body(*scanner, data, dir, 1, 16384)) {
          EXPECT_FALSE(f.blocking) << (dir == Direction::outbound ? "outbound " : "inbound ") << f.detector << " in "
                                   << path << "@" << f.offset << ": " << f.snippet;
        }
      }
    }
  }
}

}  // namespace
}  // namespace bottle::dlp::testing
