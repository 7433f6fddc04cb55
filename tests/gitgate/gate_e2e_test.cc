// bottle-gitgate end to end: real git clients over git:// and smart HTTP, the real gate
// binary, a real sshd upstream on loopback with a pinned host key.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "common/files.h"
#include "common/proposal_queue.h"
#include "tests/gitgate/gate_harness.h"

namespace bottle::test {
namespace {

enum class Proto { git, http };

class GateE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string blocker = gate_e2e_blocker();
    if (!blocker.empty()) BOTTLE_SKIP() << blocker;
    up_ = std::make_unique<SshUpstream>(dir_.path());
    ASSERT_TRUE(up_->start()) << up_->error();
    up_->create_repo("app");
  }

  void start_gate(const std::string& extra = "", const std::string& host_key = "",
                  std::vector<std::string> env = {}) {
    gate_ = std::make_unique<GateProcess>(dir_.path(), gate_yaml(*up_, {"app"}, extra, host_key),
                                          std::move(env));
    ASSERT_TRUE(gate_->start()) << gate_->log();
  }

  std::string url(Proto p, const std::string& name = "app") const {
    return p == Proto::git ? gate_->git_url(name) : gate_->http_url(name);
  }

  // A clone through the gate in <scratch>/<name>.
  std::string clone(Proto p, const std::string& name) {
    const std::string path = dir_.file(name);
    auto r = git({"clone", "-q", url(p), path});
    EXPECT_TRUE(r.ok()) << r.all() << gate_->log();
    return path;
  }

  std::string head(const std::string& repo, const std::string& ref = "HEAD") {
    auto out = git({"rev-parse", ref}, repo).out;
    return out.substr(0, out.find('\n'));
  }

  std::string commit(const std::string& repo, const std::string& file, const std::string& text,
                     const std::string& message = "change") {
    write_file(repo + "/" + file, text);
    EXPECT_TRUE(git({"add", "-A"}, repo).ok());
    EXPECT_TRUE(git({"commit", "-q", "-m", message}, repo).ok());
    return head(repo);
  }

  ScratchDir dir_{"gitgate-e2e"};
  std::unique_ptr<SshUpstream> up_;
  std::unique_ptr<GateProcess> gate_;
};

class GateProtocols : public GateE2E, public ::testing::WithParamInterface<Proto> {};

INSTANTIATE_TEST_SUITE_P(Both, GateProtocols, ::testing::Values(Proto::git, Proto::http),
                         [](const auto& info) {
                           return info.param == Proto::git ? "git" : "http";
                         });

TEST_P(GateProtocols, CloneSeesTheUpstreamsCurrentCommit) {
  start_gate();
  const std::string tip = up_->commit("app", {{"second.txt", "2\n"}}, "second");
  const std::string work = clone(GetParam(), "work");
  EXPECT_EQ(head(work), tip);
  EXPECT_EQ(read_file(work + "/second.txt"), "2\n");
  EXPECT_NE(gate_->log().find("\"event\":\"gitgate_fetch\""), std::string::npos);
}

TEST_P(GateProtocols, AnUpstreamCommitMadeOutOfBandAppearsOnTheNextFetch) {
  start_gate();
  const std::string work = clone(GetParam(), "work");
  const std::string tip = up_->commit("app", {{"oob.txt", "made upstream\n"}}, "out of band");
  auto fetched = git({"fetch", "-q", "origin"}, work);
  ASSERT_TRUE(fetched.ok()) << fetched.all();
  EXPECT_EQ(head(work, "origin/main"), tip);
  auto ls = git({"ls-remote", url(GetParam())});
  EXPECT_NE(ls.out.find(tip + "\trefs/heads/main"), std::string::npos) << ls.all();
}

TEST_P(GateProtocols, ACleanPushLandsUpstream) {
  start_gate();
  const std::string work = clone(GetParam(), "work");
  const std::string tip = commit(work, "feature.txt", "clean work\n");
  auto pushed = git({"push", "origin", "main"}, work);
  ASSERT_TRUE(pushed.ok()) << pushed.all() << gate_->log();
  EXPECT_EQ(up_->rev("app", "refs/heads/main"), tip);
  EXPECT_EQ(gate_->mirror_rev("app", "refs/heads/main"), tip);
  EXPECT_NE(pushed.err.find("no secrets"), std::string::npos) << pushed.err;
  EXPECT_EQ(gate_->metric("gitgate_pushes_total{outcome=\"forwarded\"}"), 1u);
}

TEST_P(GateProtocols, AForcePushLands) {
  start_gate();
  const std::string work = clone(GetParam(), "work");
  commit(work, "a.txt", "first\n");
  ASSERT_TRUE(git({"push", "-q", "origin", "main"}, work).ok());
  ASSERT_TRUE(git({"reset", "-q", "--hard", "HEAD~1"}, work).ok());
  const std::string rewritten = commit(work, "b.txt", "rewritten\n");
  EXPECT_FALSE(git({"push", "-q", "origin", "main"}, work).ok());  // not a fast-forward
  auto forced = git({"push", "--force", "origin", "main"}, work);
  ASSERT_TRUE(forced.ok()) << forced.all() << gate_->log();
  EXPECT_EQ(up_->rev("app", "refs/heads/main"), rewritten);
  EXPECT_EQ(gate_->mirror_rev("app", "refs/heads/main"), rewritten);
}

TEST_P(GateProtocols, BranchAndTagDeletesLand) {
  start_gate();
  const std::string work = clone(GetParam(), "work");
  ASSERT_TRUE(git({"tag", "v1"}, work).ok());
  ASSERT_TRUE(git({"push", "-q", "origin", "main:topic", "v1"}, work).ok());
  ASSERT_FALSE(up_->rev("app", "refs/heads/topic").empty());
  ASSERT_FALSE(up_->rev("app", "refs/tags/v1").empty());
  auto deleted = git({"push", "origin", "--delete", "topic", "v1"}, work);
  ASSERT_TRUE(deleted.ok()) << deleted.all() << gate_->log();
  EXPECT_EQ(up_->rev("app", "refs/heads/topic"), "");
  EXPECT_EQ(up_->rev("app", "refs/tags/v1"), "");
  EXPECT_EQ(gate_->mirror_rev("app", "refs/heads/topic"), "");
}

TEST_P(GateProtocols, APushWithThreeSecretShapesIsRejectedAndTheUpstreamIsUnchanged) {
  start_gate();
  const std::string work = clone(GetParam(), "work");
  const std::string refs_before = up_->refs("app");
  write_file(work + "/aws.env", "# deploy\n" + secret_text("secret.aws_access_key_id"));
  write_file(work + "/notes.md", secret_text("secret.anthropic_api_key"));
  write_file(work + "/deploy.pem", secret_text("secret.pem_private_key"));
  ASSERT_TRUE(git({"add", "-A"}, work).ok());
  ASSERT_TRUE(git({"commit", "-q", "-m", "oops"}, work).ok());
  const std::string bad = head(work);
  auto pushed = git({"push", "origin", "main"}, work);
  EXPECT_FALSE(pushed.ok());
  for (const char* want :
       {"secret.aws_access_key_id at aws.env:2", "secret.anthropic_api_key at notes.md:1",
        "secret.pem_private_key at deploy.pem:1", "pre-receive hook declined",
        "nothing was sent upstream"}) {
    EXPECT_NE(pushed.err.find(want), std::string::npos) << want << "\n" << pushed.err;
  }
  // Never the secret itself, neither to the client nor into the log.
  const std::string aws = secret_text("secret.aws_access_key_id");
  const std::string key_id = aws.substr(aws.find("AKIA"), 20);
  EXPECT_EQ(pushed.all().find(key_id), std::string::npos);
  EXPECT_EQ(gate_->log().find(key_id), std::string::npos);
  EXPECT_NE(gate_->log().find("\"event\":\"gitgate_push_rejected\""), std::string::npos);
  // The upstream has neither the refs nor the objects; the mirror's ref did not move.
  EXPECT_EQ(up_->refs("app"), refs_before);
  EXPECT_FALSE(up_->has_object("app", bad));
  EXPECT_NE(gate_->mirror_rev("app", "refs/heads/main"), bad);
  EXPECT_EQ(gate_->metric("gitgate_pushes_total{outcome=\"rejected\"}"), 1u);
}

TEST_F(GateE2E, AnOldSecretAlreadyInHistoryDoesNotBlockANewBranch) {
  up_->commit("app", {{"legacy.env", secret_text("secret.aws_access_key_id")}},
              "an old mistake, already public");
  start_gate();
  const std::string work = clone(Proto::git, "work");
  ASSERT_TRUE(git({"checkout", "-q", "-b", "feature"}, work).ok());
  const std::string tip = commit(work, "feature.txt", "new work\n");
  auto pushed = git({"push", "origin", "feature"}, work);
  ASSERT_TRUE(pushed.ok()) << pushed.all() << gate_->log();
  EXPECT_EQ(up_->rev("app", "refs/heads/feature"), tip);
}

TEST_P(GateProtocols, WithTheUpstreamDownReadsFailClosedWithItsError) {
  start_gate();
  const std::string work = clone(GetParam(), "work");
  up_->stop();
  auto fetched = git({"fetch", "origin"}, work);
  EXPECT_FALSE(fetched.ok());
  EXPECT_NE(fetched.err.find("fetch from the upstream failed"), std::string::npos) << fetched.err;
  EXPECT_NE(fetched.err.find("Connection refused"), std::string::npos) << fetched.err;
  auto cloned = git({"clone", url(GetParam()), dir_.file("second")});
  EXPECT_FALSE(cloned.ok());
  EXPECT_FALSE(std::filesystem::exists(dir_.file("second/README")));
  EXPECT_NE(gate_->log().find("\"event\":\"gitgate_fetch_failed\""), std::string::npos);
}

TEST_F(GateE2E, AWrongHostKeyIsRefused) {
  // Another server's key, validly formed.
  ScratchDir other("gitgate-otherkey");
  SshUpstream impostor(other.path());
  ASSERT_TRUE(impostor.start()) << impostor.error();
  start_gate("", impostor.host_key());
  auto cloned = git({"clone", gate_->git_url("app"), dir_.file("work")});
  EXPECT_FALSE(cloned.ok());
  EXPECT_NE(cloned.err.find("Host key verification failed"), std::string::npos) << cloned.err;
}

TEST_F(GateE2E, TheUpstreamsRefusalFailsThePushWithItsMessageAndTheMirrorStays) {
  start_gate();
  const std::string work = clone(Proto::http, "work");
  const std::string before = gate_->mirror_rev("app", "refs/heads/main");
  const std::string hook = up_->repo_dir("app") + "/hooks/pre-receive";
  write_file(hook, "#!/bin/sh\necho 'upstream policy: main is frozen today' >&2\nexit 1\n");
  std::filesystem::permissions(hook, std::filesystem::perms::owner_all);
  const std::string tip = commit(work, "f.txt", "x\n");
  auto pushed = git({"push", "origin", "main"}, work);
  EXPECT_FALSE(pushed.ok());
  EXPECT_NE(pushed.err.find("upstream policy: main is frozen today"), std::string::npos)
      << pushed.err;
  EXPECT_EQ(gate_->mirror_rev("app", "refs/heads/main"), before);
  EXPECT_FALSE(up_->has_object("app", tip));
  EXPECT_NE(gate_->log().find("\"event\":\"gitgate_push_failed\""), std::string::npos);
}

TEST_F(GateE2E, OfTwoConcurrentPushesToOneRefExactlyOneWins) {
  // Force pushes: the upstream would take both, so only the gate can keep one out.
  up_->commit("app", {{"second.txt", "2\n"}}, "second");
  start_gate();
  const std::string a = clone(Proto::git, "a"), b = clone(Proto::http, "b");
  ASSERT_TRUE(git({"reset", "-q", "--hard", "HEAD~1"}, a).ok());
  ASSERT_TRUE(git({"reset", "-q", "--hard", "HEAD~1"}, b).ok());
  const std::string tip_a = commit(a, "a.txt", "a\n"), tip_b = commit(b, "b.txt", "b\n");
  GitRun ra, rb;
  std::thread ta([&] { ra = git({"push", "--force", "origin", "main"}, a); });
  std::thread tb([&] { rb = git({"push", "--force", "origin", "main"}, b); });
  ta.join();
  tb.join();
  ASSERT_NE(ra.ok(), rb.ok()) << "a: " << ra.all() << "\nb: " << rb.all();
  const std::string winner = ra.ok() ? tip_a : tip_b;
  EXPECT_NE((ra.ok() ? rb : ra).err.find("another push landed first"), std::string::npos)
      << (ra.ok() ? rb : ra).err;
  EXPECT_EQ(up_->rev("app", "refs/heads/main"), winner);
  EXPECT_EQ(gate_->mirror_rev("app", "refs/heads/main"), winner);
  EXPECT_FALSE(up_->has_object("app", ra.ok() ? tip_b : tip_a));
}

TEST_F(GateE2E, TheGateWarmsItsMirrorsAtStart) {
  const std::string tip = up_->commit("app", {{"warm.txt", "w\n"}}, "before the gate starts");
  start_gate();
  // No client has asked yet.
  EXPECT_TRUE(eventually([&] { return gate_->mirror_rev("app", "refs/heads/main") == tip; }))
      << gate_->log();
}

TEST_F(GateE2E, ReadsArrivingTogetherShareAFetch) {
  start_gate();
  ASSERT_TRUE(eventually(
      [&] { return gate_->metric("gitgate_fetches_total{result=\"ok\"}") == 1; }));  // the warm-up
  constexpr int kReaders = 6;
  std::vector<std::thread> readers;
  std::atomic<int> ok{0};
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back([&, i] {
      ok += git({"ls-remote", i % 2 ? gate_->git_url("app") : gate_->http_url("app")}).ok();
    });
  }
  for (auto& t : readers) t.join();
  EXPECT_EQ(ok.load(), kReaders);
  // The first read starts a fetch; the others arrive during it and share the next one.
  EXPECT_LE(gate_->metric("gitgate_fetches_total{result=\"ok\"}"), 1u + 3u);
  EXPECT_GE(gate_->metric("gitgate_reads_coalesced_total"), static_cast<uint64_t>(kReaders - 3));
}

TEST_F(GateE2E, HeadFollowsTheUpstreamsDefaultBranch) {
  ASSERT_TRUE(git({"symbolic-ref", "HEAD", "refs/heads/trunk"}, up_->repo_dir("app")).ok());
  up_->commit("app", {{"t.txt", "trunk\n"}}, "on trunk", "trunk");
  start_gate();
  const std::string work = clone(Proto::git, "work");
  auto branch = git({"symbolic-ref", "--short", "HEAD"}, work);
  EXPECT_EQ(branch.out, "trunk\n");
  EXPECT_TRUE(std::filesystem::exists(work + "/t.txt"));
}

TEST_F(GateE2E, APushOverOneMebibyteStreamsChunkedAndBinaryFilesAreSkipped) {
  start_gate();
  const std::string work = clone(Proto::http, "work");
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  big[0] = '\0';  // binary
  big += secret_text("secret.aws_access_key_id");
  write_file(work + "/blob.bin", big);
  const std::string tip = commit(work, "text.txt", std::string(2 << 20, 'a') + "\n");
  auto pushed = git({"push", "origin", "main"}, work);
  ASSERT_TRUE(pushed.ok()) << pushed.all() << gate_->log();
  EXPECT_EQ(up_->rev("app", "refs/heads/main"), tip);
  EXPECT_EQ(gate_->metric("gitgate_binary_blobs_skipped_total"), 1u);
}

TEST_F(GateE2E, WarnModeForwardsAndSaysSo) {
  start_gate("dlp: {outbound: warn}\n");
  const std::string work = clone(Proto::git, "work");
  const std::string tip = commit(work, "aws.env", secret_text("secret.aws_access_key_id"));
  auto pushed = git({"push", "origin", "main"}, work);
  ASSERT_TRUE(pushed.ok()) << pushed.all();
  EXPECT_NE(pushed.err.find("gitgate: warning: 1 secret(s)"), std::string::npos) << pushed.err;
  EXPECT_EQ(up_->rev("app", "refs/heads/main"), tip);
  EXPECT_NE(gate_->log().find("\"event\":\"gitgate_push_warned\""), std::string::npos);
}

// dlp.detectors overrides a detector's action exactly as in egress: a `warn` detector's
// finding is reported and logged but lets the push through; an `off` one is not reported.
TEST_F(GateE2E, PerDetectorActionsWarnOnOneFindingAndSilenceAnother) {
  start_gate(
      "dlp:\n  outbound: block\n"
      "  detectors: {secret.aws_access_key_id: warn, secret.anthropic_api_key: off,\n"
      "              secret.generic_assignment: off}\n");  // the fake key's line is one too
  const std::string work = clone(Proto::git, "work");
  write_file(work + "/aws.env", secret_text("secret.aws_access_key_id"));
  write_file(work + "/notes.md", secret_text("secret.anthropic_api_key"));
  ASSERT_TRUE(git({"add", "-A"}, work).ok());
  ASSERT_TRUE(git({"commit", "-q", "-m", "keys"}, work).ok());
  const std::string tip = head(work);
  auto pushed = git({"push", "origin", "main"}, work);
  ASSERT_TRUE(pushed.ok()) << pushed.all() << gate_->log();
  EXPECT_NE(pushed.err.find("gitgate: warning: 1 secret(s)"), std::string::npos) << pushed.err;
  EXPECT_NE(pushed.err.find("secret.aws_access_key_id at aws.env:1"), std::string::npos)
      << pushed.err;
  EXPECT_EQ(pushed.err.find("anthropic"), std::string::npos) << pushed.err;
  EXPECT_EQ(up_->rev("app", "refs/heads/main"), tip);
  const std::string log = gate_->log();
  EXPECT_NE(log.find("\"event\":\"gitgate_push_warned\""), std::string::npos) << log;
  EXPECT_NE(log.find("secret.aws_access_key_id"), std::string::npos) << log;
  EXPECT_EQ(log.find("anthropic"), std::string::npos) << log;
}

// A `warn` detector does not save a push that also carries a blocking finding; the client
// is told which finding only warns.
TEST_F(GateE2E, AWarnDetectorsFindingDoesNotSaveAPushWithABlockingOne) {
  start_gate("dlp: {detectors: {secret.aws_access_key_id: warn}}\n");
  const std::string work = clone(Proto::git, "work");
  const std::string refs_before = up_->refs("app");
  write_file(work + "/aws.env", secret_text("secret.aws_access_key_id"));
  write_file(work + "/deploy.pem", secret_text("secret.pem_private_key"));
  ASSERT_TRUE(git({"add", "-A"}, work).ok());
  ASSERT_TRUE(git({"commit", "-q", "-m", "keys"}, work).ok());
  auto pushed = git({"push", "origin", "main"}, work);
  EXPECT_FALSE(pushed.ok());
  EXPECT_NE(pushed.err.find("push rejected: 2 secret(s)"), std::string::npos) << pushed.err;
  EXPECT_NE(pushed.err.find("secret.aws_access_key_id at aws.env:1 (warn only)"),
            std::string::npos)
      << pushed.err;
  EXPECT_NE(pushed.err.find("secret.pem_private_key at deploy.pem:1"), std::string::npos)
      << pushed.err;
  EXPECT_EQ(pushed.err.find("deploy.pem:1 (warn only)"), std::string::npos) << pushed.err;
  EXPECT_EQ(up_->refs("app"), refs_before);
}

TEST_F(GateE2E, AnOperatorListedSecretIsFoundInAnyFile) {
  const std::string planted = "db-password-7f3a9c2e1b";
  start_gate("dlp: {known_secrets_env: [GITGATE_SECRET_0]}\n", "", {"GITGATE_SECRET_0=" + planted});
  const std::string work = clone(Proto::git, "work");
  commit(work, "settings.ini", "[db]\npassword = " + planted + "\n");
  auto pushed = git({"push", "origin", "main"}, work);
  EXPECT_FALSE(pushed.ok());
  EXPECT_NE(pushed.err.find("known_secret at settings.ini:2"), std::string::npos) << pushed.err;
  EXPECT_EQ(gate_->log().find(planted), std::string::npos);
}

// The pending gitleaks-allow proposal the gate filed, once it is there.
std::optional<Proposal> wait_for_proposal(const ProposalQueue& q) {
  std::optional<Proposal> found;
  eventually([&] {
    auto scan = q.scan();
    if (scan.entries.empty()) return false;
    found = scan.entries.front().proposal;
    return true;
  });
  return found;
}

TEST_F(GateE2E, TheOperatorCanAllowABlockedPush) {
  const std::string queue_dir = dir_.file("proposals");
  std::filesystem::create_directories(queue_dir);
  start_gate("proposals: {queue: " + queue_dir + ", wait_ms: 30000, bottle: test-1}\n");
  const std::string work = clone(Proto::git, "work");
  const std::string tip = commit(work, "fixture.env", secret_text("secret.aws_access_key_id"));
  GitRun pushed;
  std::thread pusher([&] { pushed = git({"push", "origin", "main"}, work); });
  ProposalQueue q(queue_dir);
  auto p = wait_for_proposal(q);
  if (!p) {
    pusher.join();
    FAIL() << "no proposal filed: " << pushed.all() << gate_->log();
  }
  EXPECT_EQ(p->kind, ProposalKind::gitleaks_allow);
  EXPECT_EQ(p->bottle, "test-1");
  EXPECT_EQ(p->request["repo"], "app");
  EXPECT_EQ(p->request["findings"][0]["detector"], "secret.aws_access_key_id");
  EXPECT_EQ(p->request["findings"][0]["where"], "fixture.env:1");
  auto answered = q.answer(Response{
      p->id, Decision::approve, "a test fixture, not a real key", "alice", now_iso8601(), {}});
  ASSERT_TRUE(answered.ok()) << answered.error();
  pusher.join();
  ASSERT_TRUE(pushed.ok()) << pushed.all() << gate_->log();
  EXPECT_NE(pushed.err.find("the operator allowed it (alice: a test fixture, not a real key)"),
            std::string::npos)
      << pushed.err;
  EXPECT_EQ(up_->rev("app", "refs/heads/main"), tip);
  // The gate archived it, with what came of it.
  EXPECT_FALSE(std::filesystem::exists(q.proposal_path(p->id)));
  auto archived = q.scan(true);
  ASSERT_EQ(archived.entries.size(), 1u);
  ASSERT_TRUE(archived.entries[0].outcome.has_value());
  EXPECT_TRUE(archived.entries[0].outcome->ok);
  EXPECT_EQ(archived.entries[0].outcome->detail, "push forwarded to the upstream");
}

TEST_F(GateE2E, NoAnswerInTimeOrARefusalRejectsThePush) {
  const std::string queue_dir = dir_.file("proposals");
  std::filesystem::create_directories(queue_dir);
  start_gate("proposals: {queue: " + queue_dir + ", wait_ms: 1200}\n");
  const std::string work = clone(Proto::http, "work");
  const std::string tip = commit(work, "fixture.env", secret_text("secret.aws_access_key_id"));
  auto timed_out = git({"push", "origin", "main"}, work);
  EXPECT_FALSE(timed_out.ok());
  EXPECT_NE(timed_out.err.find("did not allow it (bottle-gitgate: no answer within 1 s)"),
            std::string::npos)
      << timed_out.err;
  ProposalQueue q(queue_dir);
  auto archived = q.scan(true);
  ASSERT_EQ(archived.entries.size(), 1u);
  EXPECT_TRUE(archived.entries[0].archived);
  ASSERT_TRUE(archived.entries[0].response.has_value());
  EXPECT_EQ(archived.entries[0].response->by, "bottle-gitgate");
  GitRun refused;
  std::thread pusher([&] { refused = git({"push", "origin", "main"}, work); });
  std::optional<Proposal> p;
  eventually([&] {
    for (const auto& e : q.scan().entries) p = e.proposal;
    return p.has_value();
  });
  if (p) (void)q.answer(Response{p->id, Decision::reject, "not today", "bob", now_iso8601(), {}});
  pusher.join();
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.err.find("did not allow it (bob: not today)"), std::string::npos)
      << refused.err;
  EXPECT_FALSE(up_->has_object("app", tip));
  EXPECT_EQ(q.scan().entries.size(), 0u);  // nothing left pending
}

TEST_F(GateE2E, AGzipRequestBodyIsInflatedForUploadPack) {
  start_gate();
  ASSERT_TRUE(git({"ls-remote", gate_->http_url("app")}).ok());  // the mirror has main now
  // A protocol v2 ls-refs request, gzipped the way git compresses large requests.
  const std::string body = "0014command=ls-refs\n00010009peel\n0000";
  const std::string gz_path = dir_.file("req.gz");
  write_file(dir_.file("req"), body);
  gitgate::SpawnSpec gz;
  gz.argv = {which("gzip"), "-c", dir_.file("req")};
  auto packed = gitgate::run_command(gz);
  ASSERT_TRUE(packed.ok() && packed->ok());
  const std::string request =
      "POST /app.git/git-upload-pack HTTP/1.1\r\nHost: gate\r\nContent-Type: "
      "application/x-git-upload-pack-request\r\nContent-Encoding: gzip\r\nGit-Protocol: "
      "version=2\r\nConnection: close\r\nContent-Length: " +
      std::to_string(packed->out.size()) + "\r\n\r\n" + packed->out;
  const std::string answer = exchange(gate_->http_port(), request);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_NE(answer.find("refs/heads/main"), std::string::npos) << answer;
}

}  // namespace
}  // namespace bottle::test
