// The in-process pack reader against packs real git wrote: every object of the pack, read
// here, must be byte for byte what `git cat-file` gives, with ofs-deltas, ref-deltas and
// a thin pack completed by `git index-pack --fix-thin` (what receive-pack keeps in its
// quarantine). Damaged input is an error, never a crash (more in the fuzz target).
#include "gitgate/pack_reader.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "gitgate/subprocess.h"
#include "tests/gitgate/gate_harness.h"

namespace bottle::gitgate {
namespace {

using test::git;

// Text files that change a little from commit to commit: deltas, some chained.
void make_history(const std::string& repo, int commits, int files) {
  ASSERT_TRUE(git({"init", "-q", "-b", "main", repo}).ok());
  for (int c = 0; c < commits; ++c) {
    for (int f = 0; f < files; ++f) {
      std::string text;
      for (int line = 0; line < 200; ++line) {
        text += "file " + std::to_string(f) + " line " + std::to_string(line) +
                (line == c * 7 % 200 ? " changed in commit " + std::to_string(c) : "") + "\n";
      }
      std::filesystem::create_directories(repo + "/d" + std::to_string(f % 3));
      test::write_file(repo + "/d" + std::to_string(f % 3) + "/f" + std::to_string(f), text);
    }
    ASSERT_TRUE(git({"add", "-A"}, repo).ok());
    ASSERT_TRUE(git({"commit", "-q", "-m", "commit " + std::to_string(c)}, repo).ok());
  }
}

struct Mapped {
  MappedFile idx, pack;
};

// The one pack under `objects`/pack.
std::optional<Mapped> only_pack(const std::string& objects) {
  std::optional<Mapped> out;
  for (const auto& e : std::filesystem::directory_iterator(objects + "/pack")) {
    if (e.path().extension() != ".idx") continue;
    auto idx = MappedFile::open(e.path());
    auto pack = MappedFile::open(std::filesystem::path(e.path()).replace_extension(".pack"));
    if (!idx || !pack || out) return std::nullopt;
    out.emplace(Mapped{std::move(*idx), std::move(*pack)});
  }
  return out;
}

std::string raw(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

struct Counts {
  size_t objects = 0, ofs = 0, ref = 0;
};

// Reads every object the repository has through `pack` and compares it with cat-file.
Counts expect_same_as_git(const std::string& repo, const Pack& pack) {
  Counts n;
  auto listing = git({"cat-file", "--batch-all-objects", "--batch-check=%(objectname)"}, repo);
  EXPECT_TRUE(listing.ok()) << listing.err;
  PackReader reader(pack, 64 << 20, 1 << 16);  // a small cache: evictions happen too
  size_t p = 0;
  for (size_t nl; (nl = listing.out.find('\n', p)) != std::string::npos; p = nl + 1) {
    const std::string id = listing.out.substr(p, nl - p);
    auto offset = pack.find(raw(id));
    if (!offset) {
      ADD_FAILURE() << id << " not found in the pack";
      continue;
    }
    auto entry = pack.entry(*offset);
    EXPECT_TRUE(entry.ok()) << entry.error();
    if (entry.ok() && entry->kind == 6) ++n.ofs;
    if (entry.ok() && entry->kind == 7) ++n.ref;
    auto object = reader.read(*offset);
    EXPECT_TRUE(object.ok()) << id << ": " << object.error();
    if (!object.ok()) continue;
    const std::string type = git({"cat-file", "-t", id}, repo).out;
    EXPECT_EQ(std::string(type_name(object->type)) + "\n", type) << id;
    EXPECT_TRUE(object->view() == git({"cat-file", type.substr(0, type.size() - 1), id}, repo).out)
        << id;
    ++n.objects;
  }
  return n;
}

class PackReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::which("git").empty()) BOTTLE_SKIP() << "git is not installed";
  }
  test::ScratchDir dir_{"gitgate-pack"};
};

TEST_F(PackReaderTest, OfsDeltasReadAsGitReadsThem) {
  const std::string repo = dir_.file("repo");
  make_history(repo, 8, 12);
  ASSERT_TRUE(git({"repack", "-a", "-d", "-q", "-f", "--depth=50"}, repo).ok());
  auto files = only_pack(repo + "/.git/objects");
  ASSERT_TRUE(files);
  auto pack = Pack::parse(files->idx.bytes(), files->pack.bytes(), 20);
  ASSERT_TRUE(pack.ok()) << pack.error();
  const Counts n = expect_same_as_git(repo, *pack);
  EXPECT_GT(n.objects, 100u);
  EXPECT_GT(n.ofs, 50u);  // the case this reader exists for
  EXPECT_EQ(n.ref, 0u);
}

TEST_F(PackReaderTest, RefDeltasReadAsGitReadsThem) {
  const std::string repo = dir_.file("repo");
  make_history(repo, 5, 10);
  ASSERT_TRUE(
      git({"-c", "repack.useDeltaBaseOffset=false", "repack", "-a", "-d", "-q", "-f"}, repo).ok());
  auto files = only_pack(repo + "/.git/objects");
  ASSERT_TRUE(files);
  auto pack = Pack::parse(files->idx.bytes(), files->pack.bytes(), 20);
  ASSERT_TRUE(pack.ok()) << pack.error();
  const Counts n = expect_same_as_git(repo, *pack);
  EXPECT_GT(n.ref, 20u);
  EXPECT_EQ(n.ofs, 0u);
}

// What receive-pack keeps: a thin pack (deltas against objects the receiver has) that
// `index-pack --fix-thin` completed by appending those bases.
TEST_F(PackReaderTest, AThinPackCompletedByIndexPackReads) {
  const std::string repo = dir_.file("repo");
  make_history(repo, 2, 10);
  const std::string base = git({"rev-parse", "HEAD~1"}, repo).out.substr(0, 40);
  SpawnSpec thin;
  thin.argv = {test::which("git"), "-C",       repo,     "pack-objects",
               "--thin",           "--stdout", "--revs", "-q"};
  thin.env = {"PATH=/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM=1", "HOME=/nonexistent"};
  thin.input = "HEAD\n^" + base + "\n";
  auto packed = run_command(thin);
  ASSERT_TRUE(packed && packed->ok());
  const std::string quarantine = dir_.file("quarantine");
  std::filesystem::create_directories(quarantine + "/pack");
  SpawnSpec index = thin;
  index.argv = {test::which("git"), "-C", repo, "index-pack", "--stdin", "--fix-thin"};
  index.env.push_back("GIT_OBJECT_DIRECTORY=" + quarantine);
  index.env.push_back("GIT_ALTERNATE_OBJECT_DIRECTORIES=" + repo + "/.git/objects");
  index.input = packed->out;
  auto indexed = run_command(index);
  ASSERT_TRUE(indexed && indexed->ok()) << (indexed ? indexed->err : indexed.error());
  auto files = only_pack(quarantine);
  ASSERT_TRUE(files);
  auto pack = Pack::parse(files->idx.bytes(), files->pack.bytes(), 20);
  ASSERT_TRUE(pack.ok()) << pack.error();
  // Every object of the new commit (listed by rev-list) reads as git reads it.
  auto listing = git({"rev-list", "--objects", "HEAD", "^" + base}, repo);
  PackReader reader(*pack, 64 << 20);
  size_t deltas = 0, objects = 0;
  for (size_t p = 0, nl; (nl = listing.out.find('\n', p)) != std::string::npos; p = nl + 1) {
    const std::string id = listing.out.substr(p, 40);
    auto offset = pack->find(raw(id));
    ASSERT_TRUE(offset) << id;
    if (pack->entry(*offset)->kind >= 6) ++deltas;
    auto object = reader.read(*offset);
    ASSERT_TRUE(object.ok()) << object.error();
    const std::string type(type_name(object->type));
    EXPECT_TRUE(object->view() == git({"cat-file", type, id}, repo).out) << id;
    ++objects;
  }
  EXPECT_GT(objects, 10u);
  EXPECT_GT(deltas, 5u);
}

TEST_F(PackReaderTest, DamageIsAnErrorNotACrash) {
  const std::string repo = dir_.file("repo");
  make_history(repo, 3, 4);
  ASSERT_TRUE(git({"repack", "-a", "-d", "-q", "-f"}, repo).ok());
  auto files = only_pack(repo + "/.git/objects");
  ASSERT_TRUE(files);
  const std::string idx(files->idx.bytes()), good(files->pack.bytes());
  EXPECT_FALSE(Pack::parse(idx.substr(0, idx.size() - 1), good, 20).ok());
  EXPECT_FALSE(Pack::parse(idx, good.substr(0, good.size() - 1), 20).ok());
  EXPECT_FALSE(Pack::parse(idx, good, 32).ok());
  // Every byte of the object data flipped in turn: each read fails or returns an object,
  // and a flipped byte inside a zlib stream never yields the object unchanged.
  auto pack = Pack::parse(idx, good, 20);
  ASSERT_TRUE(pack.ok());
  auto listing = git({"cat-file", "--batch-all-objects", "--batch-check=%(objectname)"}, repo);
  std::vector<uint64_t> offsets;
  for (size_t p = 0, nl; (nl = listing.out.find('\n', p)) != std::string::npos; p = nl + 1)
    offsets.push_back(*pack->find(raw(listing.out.substr(p, 40))));
  size_t failed = 0;
  for (size_t at = 12; at < good.size() - 20; at += 7) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x5a);
    auto damaged = Pack::parse(idx, bad, 20);
    ASSERT_TRUE(damaged.ok());
    PackReader reader(*damaged, 1 << 20);
    for (uint64_t offset : offsets) failed += reader.read(offset).ok() ? 0 : 1;
  }
  EXPECT_GT(failed, 0u);
  // Deltas that lie: a copy beyond the base, an insert beyond the delta, a wrong size.
  EXPECT_FALSE(apply_delta("abc", std::string("\x03\x03\x91\x02\x02", 5), 100).ok());
  EXPECT_FALSE(apply_delta("abc", std::string("\x03\x03\x05xy", 5), 100).ok());
  EXPECT_FALSE(apply_delta("abc", std::string("\x04\x03\x03xyz", 6), 100).ok());
  EXPECT_FALSE(apply_delta("abc", std::string("\x03\x03\x00", 3), 100).ok());
  EXPECT_FALSE(apply_delta("abc", std::string("\x03\xff\xff\xff\x7f", 5), 100).ok());
  auto fine = apply_delta("abcdef", std::string("\x06\x05\x91\x02\x03\x02xy", 8), 100);
  ASSERT_TRUE(fine.ok()) << fine.error();
  EXPECT_EQ(fine->view(), "cdexy");
}

}  // namespace
}  // namespace bottle::gitgate
