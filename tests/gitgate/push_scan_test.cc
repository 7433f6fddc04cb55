// The push scan against a real git repository: pushed commits are made unreachable from
// every ref (as in receive-pack's quarantine: new to the gate), then scanned.
#include "gitgate/push_scan.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "gitgate/mirror.h"
#include "tests/gitgate/gate_harness.h"

namespace bottle::gitgate {
namespace {

using test::git;

const dlp::Scanner& scanner() {
  static auto s = dlp::Scanner::build({});
  return **s;
}

class PushScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::which("git").empty()) BOTTLE_SKIP() << "git is not installed";
    repo_ = dir_.file("repo");
    ASSERT_TRUE(git({"init", "-q", "-b", "main", repo_}).ok());
    commit({{"README", "base\n"}}, "base");
  }

  // Commits `files` on the current branch; returns the commit id.
  std::string commit(const std::map<std::string, std::string>& files, const std::string& message) {
    for (const auto& [path, text] : files) {
      std::filesystem::create_directories(std::filesystem::path(repo_ + "/" + path).parent_path());
      test::write_file(repo_ + "/" + path, text);
    }
    EXPECT_TRUE(git({"add", "-A"}, repo_).ok());
    EXPECT_TRUE(git({"commit", "-q", "--allow-empty", "-m", message}, repo_).ok());
    std::string id = git({"rev-parse", "HEAD"}, repo_).out;
    return id.substr(0, id.find('\n'));
  }

  // Commits on a branch that is then deleted: its objects exist but no ref reaches them.
  std::string pushed_commit(const std::map<std::string, std::string>& files,
                            const std::string& message = "work") {
    EXPECT_TRUE(git({"checkout", "-q", "-b", "incoming", "main"}, repo_).ok());
    std::string id = commit(files, message);
    EXPECT_TRUE(git({"checkout", "-q", "main"}, repo_).ok());
    EXPECT_TRUE(git({"branch", "-q", "-D", "incoming"}, repo_).ok());
    return id;
  }

  PushScan scan(const std::string& id, const std::string& ref = "refs/heads/topic",
                uint64_t cap = 8 << 20) {
    QuarantineGit q{
        test::which("git"), repo_ + "/.git", {"PATH=/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM=1"}};
    RefUpdate u{std::string(kZeroId), id, ref};
    auto r = scan_push(q, {u}, scanner(), cap);
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? *r : PushScan{};
  }

  static std::vector<std::string> found(const PushScan& s) {
    std::vector<std::string> out;
    for (const auto& f : s.findings) out.push_back(f.detector + " at " + f.where);
    std::sort(out.begin(), out.end());
    return out;
  }

  test::ScratchDir dir_{"gitgate-scan"};
  std::string repo_;
};

TEST_F(PushScanTest, FindsTheThreeShapesWithPathAndLine) {
  std::string id = pushed_commit(
      {{"config/aws.env", "# creds\n" + test::secret_text("secret.aws_access_key_id")},
       {"notes.md", test::secret_text("secret.anthropic_api_key")},
       {"keys/deploy.pem", test::secret_text("secret.pem_private_key")}});
  auto s = scan(id);
  const auto all = found(s);
  for (const char* want :
       {"secret.anthropic_api_key at notes.md:1", "secret.aws_access_key_id at config/aws.env:2",
        "secret.pem_private_key at keys/deploy.pem:1"}) {
    EXPECT_NE(std::find(all.begin(), all.end(), want), all.end()) << want;
  }
  EXPECT_EQ(s.blobs, 3u);
}

TEST_F(PushScanTest, HistoryTheGateAlreadyHasIsNotScannedAgain) {
  commit({{"old.env", test::secret_text("secret.aws_access_key_id")}},
         "an old secret, already upstream");
  std::string id = pushed_commit({{"feature.txt", "clean work\n"}});
  auto s = scan(id);
  EXPECT_TRUE(s.findings.empty()) << found(s).front();
  EXPECT_EQ(s.blobs, 1u);  // only the new file; the tree and commit around it too
}

TEST_F(PushScanTest, BinaryBlobsAreSkippedAndCounted) {
  std::string binary =
      std::string("\x89PNG\0\0", 6) + test::secret_text("secret.aws_access_key_id");
  auto s = scan(pushed_commit({{"logo.png", binary}}));
  EXPECT_TRUE(s.findings.empty());
  EXPECT_EQ(s.binary_blobs, 1u);
}

TEST_F(PushScanTest, ABlobIsScannedUpToTheCapAndTheRestIsReported) {
  const std::string secret = test::secret_text("secret.aws_access_key_id");
  const std::string big = std::string(5000, 'x') + "\n" + secret;
  auto late = scan(pushed_commit({{"big.txt", big}}), "refs/heads/a", 1000);
  EXPECT_TRUE(late.findings.empty());
  ASSERT_EQ(late.unscanned.size(), 1u);
  EXPECT_NE(late.unscanned[0].find("big.txt: " + std::to_string(big.size()) + " bytes"),
            std::string::npos)
      << late.unscanned[0];
  EXPECT_NE(late.unscanned[0].find("first 1000 scanned"), std::string::npos);
  auto early =
      scan(pushed_commit({{"big2.txt", secret + std::string(5000, 'x')}}), "refs/heads/b", 1000);
  EXPECT_EQ(found(early), std::vector<std::string>{"secret.aws_access_key_id at big2.txt:1"});
}

// A push large enough to be split over several cat-file readers reports exactly what one
// reader would, in rev-list's order: the commit first, then the files by name.
TEST_F(PushScanTest, ALargePushReportsEveryFindingOnceInRevListOrder) {
  const std::string secret = test::secret_text("secret.aws_access_key_id");
  const std::string key = test::secret_text("secret.anthropic_api_key");
  std::string token = key.substr(key.find("sk-ant"));
  token = token.substr(0, token.find('\n'));
  std::map<std::string, std::string> files;
  for (int i = 0; i < 300; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "f%03d.txt", i);
    files[name] = "plain text " + std::to_string(i) + "\n";
  }
  files["f007.txt"] = "one\n" + secret;
  files["f150.txt"] = secret;
  files["f299.txt"] = "a\nb\n" + secret + secret;  // twice on one file: reported per line
  files["f010.txt"] = std::string(3000, 'y');
  files["f200.txt"] = std::string(4000, 'z');
  auto s = scan(pushed_commit(files, "release " + token), "refs/heads/big", 1000);
  std::vector<std::string> in_order;
  for (const auto& f : s.findings) in_order.push_back(f.detector + " at " + f.where);
  ASSERT_GE(in_order.size(), 5u);
  EXPECT_EQ(in_order[0].rfind("secret.anthropic_api_key at commit ", 0), 0u) << in_order[0];
  std::vector<std::string> rest(in_order.begin() + 1, in_order.end());
  const std::vector<std::string> want = {"secret.aws_access_key_id at f007.txt:2",
                                         "secret.aws_access_key_id at f150.txt:1",
                                         "secret.aws_access_key_id at f299.txt:3"};
  std::vector<std::string> files_only;
  for (const auto& r : rest) {
    if (r.find(" at f") != std::string::npos) files_only.push_back(r);
  }
  ASSERT_GE(files_only.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(files_only.begin(), files_only.begin() + 3), want);
  ASSERT_EQ(s.unscanned.size(), 2u);
  EXPECT_EQ(s.unscanned[0].rfind("f010.txt: 3000 bytes", 0), 0u) << s.unscanned[0];
  EXPECT_EQ(s.unscanned[1].rfind("f200.txt: 4000 bytes", 0), 0u) << s.unscanned[1];
  EXPECT_EQ(s.blobs, 300u);
  EXPECT_EQ(s.objects, 302u);  // the blobs, one tree, one commit
}

TEST_F(PushScanTest, CommitMessagesPathsAndRefNamesAreScanned) {
  const std::string key = test::secret_text("secret.anthropic_api_key");
  std::string token = key.substr(key.find("sk-ant"));
  token = token.substr(0, token.find('\n'));
  auto msg = scan(pushed_commit({{"a.txt", "a\n"}}, "deploy with " + token));
  ASSERT_EQ(msg.findings.size(), 1u);
  EXPECT_EQ(msg.findings[0].where.rfind("commit ", 0), 0u) << msg.findings[0].where;
  auto path = scan(pushed_commit({{"dir/" + token + ".txt", "x\n"}}));
  ASSERT_FALSE(path.findings.empty());
  for (const auto& f : path.findings) EXPECT_EQ(f.where.find(token), std::string::npos) << f.where;
  auto ref = scan(pushed_commit({{"b.txt", "b\n"}}), "refs/heads/" + token);
  ASSERT_EQ(ref.findings.size(), 1u);
  EXPECT_EQ(ref.findings[0].where, "a ref name");
}

TEST_F(PushScanTest, AnnotatedTagMessagesAreScanned) {
  const std::string text = test::secret_text("secret.aws_access_key_id");
  std::string id = pushed_commit({{"c.txt", "c\n"}});
  ASSERT_TRUE(git({"tag", "-a", "v1", "-m", "release notes\n" + text, id}, repo_).ok());
  std::string tag = git({"rev-parse", "v1"}, repo_).out.substr(0, 40);
  ASSERT_TRUE(git({"tag", "-d", "v1"}, repo_).ok());
  auto s = scan(tag, "refs/tags/v1");
  ASSERT_EQ(s.findings.size(), 1u) << s.findings.size();
  EXPECT_EQ(s.findings[0].where, "tag " + tag.substr(0, 12));
}

TEST_F(PushScanTest, FindingsNeverCarryTheSecret) {
  const std::string text = test::secret_text("secret.aws_access_key_id");
  auto s = scan(pushed_commit({{"x.env", text}}));
  ASSERT_FALSE(s.findings.empty());
  const std::string key = text.substr(text.find("AKIA"), 20);
  for (const auto& f : s.findings) EXPECT_EQ((f.detector + f.where).find(key), std::string::npos);
}

// A push over receive.unpackLimit stays a pack in the quarantine: its objects are read in
// process, not by cat-file, and the scan must say exactly what cat-file's would. The pack
// is thin (deltas against files the gate has), completed by index-pack as receive-pack does.
TEST_F(PushScanTest, AQuarantinedPackScansAsTheLooseObjectsDo) {
  const std::string secret = test::secret_text("secret.aws_access_key_id");
  std::map<std::string, std::string> base, next;
  for (int i = 0; i < 150; ++i) {
    std::string text;
    for (int line = 0; line < 60; ++line)
      text += "file " + std::to_string(i) + " line " + std::to_string(line) + "\n";
    base["src/d" + std::to_string(i % 5) + "/f" + std::to_string(i) + ".txt"] = text;
    next["src/d" + std::to_string(i % 5) + "/f" + std::to_string(i) + ".txt"] =
        text + (i % 50 == 7 ? "added\n" + secret : "one more line\n");
  }
  next["big.txt"] = std::string(5000, 'b') + "\n" + secret;   // past the cap: unscanned note
  next["logo.png"] = std::string("\x89PNG\0\0", 6) + secret;  // binary: skipped
  commit(base, "base");
  const std::string id = pushed_commit(next, "work");
  const auto loose = scan(id, "refs/heads/topic", 4000);
  EXPECT_EQ(loose.from_pack, 0u);

  const std::string quarantine = dir_.file("quarantine");
  std::filesystem::create_directories(quarantine + "/pack");
  const std::vector<std::string> env = {"PATH=/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM=1",
                                        "HOME=/nonexistent"};
  SpawnSpec thin;
  thin.argv = {test::which("git"), "-C",       repo_,    "pack-objects",
               "--thin",           "--stdout", "--revs", "-q"};
  thin.env = env;
  thin.input = id + "\n^main\n";
  auto packed = run_command(thin);
  ASSERT_TRUE(packed && packed->ok());
  std::vector<std::string> qenv = env;
  qenv.push_back("GIT_OBJECT_DIRECTORY=" + quarantine);
  qenv.push_back("GIT_ALTERNATE_OBJECT_DIRECTORIES=" + repo_ + "/.git/objects");
  qenv.push_back("GIT_QUARANTINE_PATH=" + quarantine);
  SpawnSpec index;
  index.argv = {test::which("git"), "-C", repo_, "index-pack", "--stdin", "--fix-thin"};
  index.env = qenv;
  index.input = packed->out;
  auto indexed = run_command(index);
  ASSERT_TRUE(indexed && indexed->ok()) << (indexed ? indexed->err : indexed.error());

  QuarantineGit q{test::which("git"), repo_ + "/.git", qenv};
  auto r = scan_push(q, {RefUpdate{std::string(kZeroId), id, "refs/heads/topic"}}, scanner(), 4000);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->from_pack, r->objects);  // all read in process
  EXPECT_EQ(r->objects, loose.objects);
  EXPECT_EQ(r->blobs, loose.blobs);
  EXPECT_EQ(r->binary_blobs, 1u);
  EXPECT_EQ(r->bytes, loose.bytes);
  EXPECT_EQ(r->unscanned, loose.unscanned);
  ASSERT_EQ(r->findings.size(), loose.findings.size());
  for (size_t i = 0; i < r->findings.size(); ++i) {
    EXPECT_EQ(r->findings[i].detector + " at " + r->findings[i].where,
              loose.findings[i].detector + " at " + loose.findings[i].where);
  }
  EXPECT_EQ(found(*r), found(loose));
  EXPECT_EQ(found(*r).size(), 3u);  // f7, f57, f107: big.txt's secret is past the cap
}

TEST_F(PushScanTest, DeletesScanNothing) {
  QuarantineGit q{test::which("git"), repo_ + "/.git", {"PATH=/usr/bin:/bin"}};
  std::string main = git({"rev-parse", "main"}, repo_).out.substr(0, 40);
  auto r =
      scan_push(q, {RefUpdate{main, std::string(kZeroId), "refs/heads/main"}}, scanner(), 1 << 20);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->objects, 0u);
}

}  // namespace
}  // namespace bottle::gitgate
