// The proposal queue through its real interface: files in a real directory, several
// processes writing at once.
#include "common/proposal_queue.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/files.h"

namespace bottle {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class QueueDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bottle-queue-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Proposal route_proposal(const std::string& id = new_proposal_id()) const {
    Proposal p;
    p.id = id;
    p.kind = ProposalKind::egress_route;
    p.created = now_iso8601();
    p.bottle = "dev-1a2b3c";
    p.reason = "needs the package index";
    p.request = {{"route", {{"host", "pypi.org"}, {"port", 443}}}};
    return p;
  }
  Response decision(const std::string& id, Decision d, const std::string& by) const {
    Response r;
    r.id = id;
    r.decision = d;
    r.text = "because";
    r.by = by;
    r.decided = now_iso8601();
    return r;
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << text;
  }
  std::vector<std::string> files(const std::string& sub = "") const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_ + sub)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string dir_;
};

TEST_F(QueueDir, CreatedProposalReadsBackWithMode0600) {
  ProposalQueue q(dir_);
  Proposal p = route_proposal("1718000000000-0badcafe");
  ASSERT_TRUE(q.create(p).ok());
  auto back = q.proposal(p.id);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->kind, ProposalKind::egress_route);
  EXPECT_EQ(back->bottle, "dev-1a2b3c");
  EXPECT_EQ(back->request["route"]["host"], "pypi.org");
  struct stat st {};
  ASSERT_EQ(::stat(q.proposal_path(p.id).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(files(), std::vector<std::string>{"1718000000000-0badcafe.json"});  // no temp left
  auto j = json::parse(*read_text_file(q.proposal_path(p.id)));
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["kind"], "egress-route");
}

TEST_F(QueueDir, CreateNeverOverwritesAnExistingId) {
  ProposalQueue q(dir_);
  Proposal p = route_proposal("abc");
  ASSERT_TRUE(q.create(p).ok());
  p.reason = "second writer";
  auto st = q.create(p);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().find("exists"), std::string::npos) << st.error();
  EXPECT_EQ(q.proposal("abc")->reason, "needs the package index");
}

TEST_F(QueueDir, BadIdsAreRefused) {
  ProposalQueue q(dir_);
  for (const char* id : {"", "-abc", "ABC", "a.b", "a/b", "../x",
                         "a123456789012345678901234567890123456789012345678901234567890123x"}) {
    EXPECT_FALSE(valid_proposal_id(id)) << id;
    EXPECT_FALSE(q.create(route_proposal(id)).ok()) << id;
  }
  EXPECT_TRUE(valid_proposal_id("0"));
  EXPECT_TRUE(valid_proposal_id(new_proposal_id()));
}

TEST_F(QueueDir, ResponseIsAbsentUntilAnsweredThenReadsBack) {
  ProposalQueue q(dir_);
  Proposal p = route_proposal();
  ASSERT_TRUE(q.create(p).ok());
  auto none = q.response(p.id);
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_FALSE(none->has_value());
  Response r = decision(p.id, Decision::approve, "alice");
  r.route = json{{"host", "pypi.org"}, {"allow_private", false}};
  auto rec = q.answer(r);
  ASSERT_TRUE(rec.ok()) << rec.error();
  EXPECT_EQ(*rec, ProposalQueue::AnswerResult::recorded);
  auto back = q.response(p.id);
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->decision, Decision::approve);
  EXPECT_EQ((*back)->by, "alice");
  EXPECT_EQ((*back)->text, "because");
  EXPECT_EQ((**back).route->at("host"), "pypi.org");
}

TEST_F(QueueDir, AnswerUsesReasonForVerdictsAndTextForAnswers) {
  Response r = decision("x1", Decision::reject, "bob");
  EXPECT_EQ(to_json(r)["reason"], "because");
  EXPECT_FALSE(to_json(r).contains("text"));
  r.decision = Decision::answer;
  EXPECT_EQ(to_json(r)["text"], "because");
  EXPECT_FALSE(to_json(r).contains("reason"));
  auto back = response_from_json(to_json(r), "x");
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->text, "because");
}

TEST_F(QueueDir, SecondAnswerLosesAndTheFirstStays) {
  ProposalQueue q(dir_);
  Proposal p = route_proposal();
  ASSERT_TRUE(q.create(p).ok());
  EXPECT_EQ(*q.answer(decision(p.id, Decision::approve, "alice")),
            ProposalQueue::AnswerResult::recorded);
  EXPECT_EQ(*q.answer(decision(p.id, Decision::reject, "bob")),
            ProposalQueue::AnswerResult::already_answered);
  EXPECT_EQ((*q.response(p.id))->by, "alice");
}

TEST_F(QueueDir, ManyProcessesAnsweringAtOnceRecordExactlyOne) {
  ProposalQueue q(dir_);
  Proposal p = route_proposal();
  ASSERT_TRUE(q.create(p).ok());
  constexpr int kWriters = 16;
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  std::vector<pid_t> pids;
  for (int i = 0; i < kWriters; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(go[1]);
      char c;
      (void)!::read(go[0], &c, 1);  // all start together when the pipe closes
      auto r = q.answer(
          decision(p.id, i % 2 ? Decision::approve : Decision::reject, "op" + std::to_string(i)));
      ::_exit(!r.ok() ? 3 : *r == ProposalQueue::AnswerResult::recorded ? 0 : 1);
    }
    pids.push_back(pid);
  }
  ::close(go[0]);
  ::close(go[1]);
  int recorded = 0, lost = 0;
  std::string winner;
  for (size_t i = 0; i < pids.size(); ++i) {
    int status = 0;
    ::waitpid(pids[i], &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 0) {
      ++recorded;
      winner = "op" + std::to_string(i);
    }
    if (WEXITSTATUS(status) == 1) ++lost;
  }
  EXPECT_EQ(recorded, 1);
  EXPECT_EQ(lost, kWriters - 1);
  EXPECT_EQ((*q.response(p.id))->by, winner);
  EXPECT_EQ(files().size(), 2u) << "temp files left behind";
}

TEST_F(QueueDir, ManyWritersCreatingAtOnceAllLand) {
  ProposalQueue q(dir_);
  constexpr int kWriters = 8, kEach = 20;
  std::vector<pid_t> pids;
  for (int w = 0; w < kWriters; ++w) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (int i = 0; i < kEach; ++i) {
        if (!q.create(route_proposal()).ok()) ::_exit(1);
      }
      ::_exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto scan = q.scan();
  EXPECT_EQ(scan.entries.size(), static_cast<size_t>(kWriters * kEach));
  EXPECT_TRUE(scan.problems.empty()) << scan.problems.front();
}

TEST_F(QueueDir, AnswerToAnUnknownProposalIsAnErrorAndLeavesNothing) {
  ProposalQueue q(dir_);
  auto r = q.answer(decision("1234-deadbeef", Decision::approve, "alice"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("no pending proposal 1234-deadbeef"), std::string::npos) << r.error();
  EXPECT_TRUE(files().empty());
}

TEST_F(QueueDir, ArchiveMovesProposalResponseAndOutcomeAndIsIdempotent) {
  ProposalQueue q(dir_);
  Proposal p = route_proposal("42-cafe");
  ASSERT_TRUE(q.create(p).ok());
  ASSERT_TRUE(q.answer(decision(p.id, Decision::approve, "alice")).ok());
  Outcome o{p.id, true, "route live in egress", now_iso8601()};
  ASSERT_TRUE(q.archive(p.id, o).ok());
  EXPECT_EQ(files(), std::vector<std::string>{"processed"});
  EXPECT_EQ(files("/processed"), (std::vector<std::string>{"42-cafe.json", "42-cafe.outcome.json",
                                                           "42-cafe.response.json"}));
  EXPECT_TRUE(q.archive(p.id).ok());
  // Answering after the archive is refused: nothing pending any more.
  auto late = q.answer(decision(p.id, Decision::reject, "bob"));
  EXPECT_FALSE(late.ok());
  auto scan = q.scan(true);
  ASSERT_EQ(scan.entries.size(), 1u);
  EXPECT_TRUE(scan.entries[0].archived);
  ASSERT_TRUE(scan.entries[0].outcome.has_value());
  EXPECT_EQ(scan.entries[0].outcome->detail, "route live in egress");
  EXPECT_EQ(scan.entries[0].response->by, "alice");
  EXPECT_TRUE(q.scan(false).entries.empty());
}

TEST_F(QueueDir, AProposalArchivedBetweenTheTwoListingsIsSeenOnce) {
  ProposalQueue q(dir_);
  Proposal p = route_proposal("43-cafe");
  ASSERT_TRUE(q.create(p).ok());
  ASSERT_TRUE(q.answer(decision(p.id, Decision::approve, "alice")).ok());
  ASSERT_TRUE(q.archive(p.id).ok());
  // What the live listing saw just before the consumer moved the files.
  fs::copy_file(dir_ + "/processed/43-cafe.json", dir_ + "/43-cafe.json");
  fs::copy_file(dir_ + "/processed/43-cafe.response.json", dir_ + "/43-cafe.response.json");
  auto scan = q.scan(true);
  ASSERT_EQ(scan.entries.size(), 1u);
  EXPECT_TRUE(scan.entries[0].archived);
  EXPECT_EQ(scan.entries[0].response->by, "alice");
}

TEST_F(QueueDir, AnswerRacingAnArchiveNeverLeavesAStrayResponse) {
  ProposalQueue q(dir_);
  Proposal p = route_proposal();
  ASSERT_TRUE(q.create(p).ok());
  // The consumer timed out: its synthetic answer wins, then it archives.
  ASSERT_EQ(*q.answer(decision(p.id, Decision::reject, "bottle-supervise")),
            ProposalQueue::AnswerResult::recorded);
  ASSERT_EQ(::rename(q.proposal_path(p.id).c_str(), (dir_ + "/moved").c_str()), 0);
  // Mid-archive: proposal gone, response still here; an operator's answer is a loser.
  EXPECT_EQ(*q.answer(decision(p.id, Decision::approve, "alice")),
            ProposalQueue::AnswerResult::already_answered);
  EXPECT_EQ((*q.response(p.id))->by, "bottle-supervise");
}

TEST_F(QueueDir, ScanReportsBadFilesOneLineEachAndKeepsTheGoodOnes) {
  ProposalQueue q(dir_);
  Proposal good = route_proposal("100-good");
  ASSERT_TRUE(q.create(good).ok());
  json base = to_json(route_proposal("101-x"));
  write("101-x.json", base.dump().substr(0, 40));  // half-written by a foreign writer
  json v2 = to_json(route_proposal("102-x"));
  v2["version"] = 2;
  write("102-x.json", v2.dump());
  write("Bad_Name.json", base.dump());
  write("notes.txt", "hello");
  json mismatch = to_json(route_proposal("104-y"));
  write("104-x.json", mismatch.dump());
  json extra = to_json(route_proposal("105-x"));
  extra["colour"] = "red";
  write("105-x.json", extra.dump());
  json kind = to_json(route_proposal("106-x"));
  kind["kind"] = "egress-block";
  write("106-x.json", kind.dump());
  write("107-x.response.json", to_json(decision("107-x", Decision::approve, "a")).dump());
  write("100-good.response.json", "{\"version\":1");  // corrupt answer to a good proposal
  write(".100-good.json.tmp.Ab12Cd", "{");            // someone's write in progress
  auto scan = q.scan();
  ASSERT_EQ(scan.entries.size(), 1u);
  EXPECT_EQ(scan.entries[0].proposal.id, "100-good");
  EXPECT_FALSE(scan.entries[0].response.has_value());
  std::string all;
  for (const auto& line : scan.problems) {
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    all += line + "\n";
  }
  EXPECT_EQ(scan.problems.size(), 9u) << all;
  for (const char* needle :
       {"101-x.json: not valid JSON", "102-x.json: unsupported \"version\"",
        "Bad_Name.json: not a queue file", "notes.txt: not a queue file",
        "104-x.json: \"id\" does not match", "105-x.json: unknown key \"colour\"",
        "106-x.json: unknown \"kind\"", "107-x.response.json: answer to a proposal that is not",
        "100-good.response.json: not valid JSON"}) {
    EXPECT_NE(all.find(needle), std::string::npos) << needle << "\n" << all;
  }
  EXPECT_EQ(all.find(".tmp."), std::string::npos) << all;
  // Reading the corrupt answer directly is an error, not a crash or "no answer".
  EXPECT_FALSE(q.response("100-good").ok());
}

TEST_F(QueueDir, MissingDirectoryIsAnEmptyQueue) {
  ProposalQueue q(dir_ + "/nope");
  auto scan = q.scan(true);
  EXPECT_TRUE(scan.entries.empty());
  EXPECT_TRUE(scan.problems.empty());
}

TEST_F(QueueDir, ScanIsOldestFirst) {
  ProposalQueue q(dir_);
  Proposal late = route_proposal("9-late");
  late.created = "2025-01-02T00:00:00Z";
  Proposal early = route_proposal("8-early");
  early.created = "2025-01-01T23:59:59+00:00";
  ASSERT_TRUE(q.create(late).ok());
  ASSERT_TRUE(q.create(early).ok());
  auto scan = q.scan();
  ASSERT_EQ(scan.entries.size(), 2u);
  EXPECT_EQ(scan.entries[0].proposal.id, "8-early");
}

// A scan carried as JSON (`bottle-supervise queue scan` in a pod, read by `bottle
// proposals`): everything comes back, and a malformed document is one clear error.
TEST_F(QueueDir, ScanSurvivesTheTripThroughJsonAndBadDocumentsAreOneLineErrors) {
  ProposalQueue q(dir_);
  Proposal done = route_proposal("1-aa");
  Proposal waiting = route_proposal("2-bb");
  ASSERT_TRUE(q.create(done).ok());
  ASSERT_TRUE(q.create(waiting).ok());
  ASSERT_TRUE(q.answer(decision(done.id, Decision::approve, "alice")).ok());
  ASSERT_TRUE(q.archive(done.id, Outcome{done.id, true, "live", now_iso8601()}).ok());
  write("junk.json", "{");
  const auto before = q.scan(true);
  auto back = ProposalQueue::scan_from_json(ProposalQueue::scan_to_json(before), "pod");
  ASSERT_TRUE(back.ok()) << back.error();
  ASSERT_EQ(back->entries.size(), 2u);
  EXPECT_EQ(back->problems, before.problems);
  EXPECT_EQ(back->problems.size(), 1u);
  EXPECT_EQ(back->entries[0].proposal.id, "1-aa");
  EXPECT_TRUE(back->entries[0].archived);
  EXPECT_EQ(back->entries[0].response->by, "alice");
  EXPECT_EQ(back->entries[0].outcome->detail, "live");
  EXPECT_EQ(back->entries[1].proposal.request, waiting.request);
  EXPECT_FALSE(back->entries[1].response.has_value());

  EXPECT_EQ(ProposalQueue::scan_from_json(json::array(), "pod").error(),
            "pod: expected {\"entries\": [...], \"problems\": [...]}");
  json bad = ProposalQueue::scan_to_json(before);
  bad["entries"][1]["proposal"]["id"] = "../x";
  auto err = ProposalQueue::scan_from_json(bad, "pod");
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.error().rfind("pod: entries[1].proposal", 0), 0u) << err.error();
  bad = ProposalQueue::scan_to_json(before);
  bad["entries"][0].erase("archived");
  EXPECT_FALSE(ProposalQueue::scan_from_json(bad, "pod").ok());
}

TEST(ProposalJson, FieldErrorsNameTheFileAndTheField) {
  auto r = proposal_from_json(json::parse(R"({"version":1,"id":"a","kind":"stuck",
      "created":"yesterday","bottle":"","reason":"","request":{}})"),
                              "q/a.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "q/a.json: \"created\" is not an RFC 3339 time");
  auto s = proposal_from_json(json::array(), "q/b.json");
  EXPECT_EQ(s.error(), "q/b.json: not a JSON object");
  auto t = response_from_json(json::parse(R"({"version":1,"id":"a","decision":"approve",
      "reason":"x","text":"y","by":"me","decided":"2025-06-18T09:30:00Z"})"),
                              "q/a.response.json");
  EXPECT_EQ(t.error(), "q/a.response.json: has both \"reason\" and \"text\"");
  auto u = response_from_json(json::parse(R"({"version":1,"id":"a","decision":"approve",
      "by":"me","decided":"2025-06-18T09:30:00Z","route":"pypi.org"})"),
                              "r");
  EXPECT_EQ(u.error(), "r: \"route\" must be an object");
}

TEST(Iso8601, ParsesUtcOffsetsAndFractionsAndRejectsTheRest) {
  EXPECT_EQ(parse_iso8601("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_iso8601("2025-06-18T09:30:00Z"), 1750239000);
  EXPECT_EQ(parse_iso8601("2025-06-18T11:30:00.123+02:00"), 1750239000);
  EXPECT_EQ(parse_iso8601("2025-06-18T04:30:00-05:00"), 1750239000);
  for (const char* bad :
       {"", "2025-06-18", "2025-06-18T09:30:00", "2025-13-01T00:00:00Z", "2025-06-18T09:30:00Zjunk",
        "2025-06-18 09:30:00Z", "x025-06-18T09:30:00Z", "2025-06-18T09:30:00.Z"}) {
    EXPECT_FALSE(parse_iso8601(bad).has_value()) << bad;
  }
  EXPECT_TRUE(parse_iso8601(now_iso8601()).has_value());
}

}  // namespace
}  // namespace bottle
