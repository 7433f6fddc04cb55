// The generated attack corpus (attack_corpus.h) replayed through egress's request path:
// every attack class is blocked, every benign look-alike passes, and no finding carries
// the secret it found. bench_dlp_corpus runs the same corpus at full size.
#include <map>

#include "tests/dlp/attack_corpus.h"
#include "tests/dlp/test_util.h"

namespace bottle::dlp::testing {
namespace {

class AttackCorpusTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    corpus_ = new AttackCorpus(generate_attack_corpus(20261124, 10));
    auto snap = corpus_snapshot(*corpus_);
    ASSERT_TRUE(snap.ok()) << snap.error();
    snap_ = *snap;
  }
  static void TearDownTestSuite() {
    delete corpus_;
    snap_.reset();
  }
  static AttackCorpus* corpus_;
  static std::shared_ptr<const proxy::Snapshot> snap_;
};
AttackCorpus* AttackCorpusTest::corpus_ = nullptr;
std::shared_ptr<const proxy::Snapshot> AttackCorpusTest::snap_;

std::string describe_case(const AttackCase& c, const ReplayResult& r) {
  return c.cls + " host=" + c.x.host + " target=" + c.x.target + " findings: " + describe(r.findings);
}

TEST_F(AttackCorpusTest, EveryAttackIsBlockedAndEveryLookAlikePasses) {
  std::map<std::string, std::pair<size_t, size_t>> by_class;  // blocked, total
  uint32_t i = 0;
  for (const auto& c : corpus_->cases) {
    const ReplayResult r = replay(*snap_, c, i++);
    auto& [blocked, total] = by_class[c.cls];
    blocked += r.blocked;
    ++total;
    if (c.benign) {
      EXPECT_FALSE(r.blocked) << describe_case(c, r);
    } else {
      EXPECT_TRUE(r.blocked) << describe_case(c, r);
    }
    if (!c.secret.empty()) expect_no_leak(r.findings, c.secret);
  }
  EXPECT_GE(by_class.size(), 40u);
  for (const auto& [cls, n] : by_class) EXPECT_GE(n.second, 10u) << cls;
}

}  // namespace
}  // namespace bottle::dlp::testing
