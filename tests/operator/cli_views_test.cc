// `bottle list`, `bottle logs` and `bottle top` (line mode) on a bottle home written the
// way `bottle start` writes it, and the usage error for an unknown subcommand.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/files.h"
#include "orchestrator/terminal.h"
#include "tests/supervise/harness.h"

namespace bottle::supervise::testing {
namespace {

using nlohmann::json;

// Lines as bottle-init writes them into state/<slug>/logs/sidecar.log.
const std::string kBlock =
    R"({"ts":"2026-12-03T10:31:02.123Z","level":"warn","component":"egress","daemon":"egress","event":"egress_block","reason":"dlp_outbound","host":"api.example.com","method":"POST","path":"/upload","detector":"secret.aws_access_key_id","location":"body","snippet":"key=AKIA********"})";
const std::string kWarn =
    R"({"ts":"2026-12-03T10:31:03.000Z","level":"warn","component":"egress","daemon":"egress","event":"egress_dlp_warn","host":"docs.example.com","detector":"injection.jailbreak","location":"response_body"})";
const std::string kInit =
    R"({"ts":"2026-12-03T10:31:00.000Z","level":"info","component":"init","event":"daemon_started","name":"egress"})";
const std::string kSupervise =
    R"({"ts":"2026-12-03T10:31:01.000Z","level":"info","component":"supervise","daemon":"supervise","event":"supervise_listening"})";
const std::string kHostBlock =
    R"({"ts":"2026-12-03T10:31:04.000Z","level":"warn","component":"egress","daemon":"egress","event":"egress_block","reason":"host_not_allowed","host":"blocked.example"})";

std::string log_path(const BottleHome& h) {
  return h.state() + "/logs/sidecar.log";
}

void write_log(const BottleHome& h, const std::vector<std::string>& lines) {
  std::filesystem::create_directories(h.state() + "/logs");
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  write_file(log_path(h), text);
}

Proposal proposal(const std::string& id) {
  return {id,           ProposalKind::capability, now_iso8601(), "ops-list",
          "needs psql", json{{"what", "psql"}}};
}

TEST(OperatorCli, UnknownSubcommandIsNamedWithASuggestion) {
  BottleHome home;
  auto r = home.bottle({"bogus"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("bottle: usage: unknown command 'bogus' (commands: start, run, list", 0),
            0u)
      << r.err;
  r = home.bottle({"lsit"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'lsit' (did you mean 'list'?)"), std::string::npos)
      << r.err;
  r = home.bottle({"proposals", "aprove", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'proposals aprove' (did you mean 'approve'?)"),
            std::string::npos)
      << r.err;
  r = home.bottle({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("a command is required (start, run,"), std::string::npos) << r.err;
  // Words after an option are values, not commands.
  EXPECT_EQ(home.bottle({"logs", "--daemon", "egress", "dev-test"}).exit_code, 0);
}

TEST(BottleList, ShowsLabelBackendAgeBlocksAndPendingProposals) {
  BottleHome home("ops-list");
  write_log(home, {kInit, kBlock, kWarn, kHostBlock, "not json"});
  ProposalQueue q(home.queue());
  ASSERT_TRUE(q.create(proposal("100-a")).ok());
  ASSERT_TRUE(q.create(proposal("200-b")).ok());
  auto r = home.bottle({"list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "no colour when stdout is not a terminal";
  EXPECT_NE(r.out.find("LABEL"), std::string::npos);
  EXPECT_NE(r.out.find("BLOCKS PENDING"), std::string::npos) << r.out;
  // label, agent, backend, age, status, 2 blocks (the warning is not one), 2 pending
  std::istringstream rows(r.out);
  std::string header, row;
  std::getline(rows, header);
  std::getline(rows, row);
  std::istringstream fields(row);
  std::vector<std::string> f;
  for (std::string w; fields >> w;) f.push_back(w);
  ASSERT_EQ(f.size(), 7u) << row;
  EXPECT_EQ(f[0], "ops-list");
  EXPECT_EQ(f[2], "local");
  EXPECT_TRUE(f[3].back() == 's') << "age in seconds: " << f[3];
  EXPECT_EQ(f[4], "running");
  EXPECT_EQ(f[5], "2");
  EXPECT_EQ(f[6], "2");
  // The colour every view paints the label in is recorded with it.
  json md = json::parse(read_file(home.state() + "/metadata.json"));
  EXPECT_EQ(md["label"], "ops-list");
  EXPECT_EQ(md["color"], orchestrator::label_color("ops-list").hex);
  EXPECT_EQ(md["color"].get<std::string>().size(), 7u);
}

TEST(BottleList, LabelColourIsStableAndSpread) {
  using orchestrator::label_color;
  EXPECT_EQ(label_color("frontend").ansi256, label_color("frontend").ansi256);
  std::set<int> seen;
  for (const char* l : {"a", "b", "c", "d", "e", "f", "g", "h", "frontend", "backend", "infra"})
    seen.insert(label_color(l).ansi256);
  EXPECT_GE(seen.size(), 5u) << "eleven labels should not share a handful of colours";
}

TEST(BottleLogs, PipedOutputIsTheJsonLinesFilteredByDaemonAndBlocks) {
  BottleHome home("ops-logs");
  write_log(home, {kInit, kSupervise, kBlock, kWarn});
  auto all = home.bottle({"logs", "ops-logs"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(all.out, read_file(log_path(home))) << "piped: the lines as written";
  auto egress = home.bottle({"logs", "ops-logs", "--daemon", "egress"});
  EXPECT_EQ(egress.out, kBlock + "\n" + kWarn + "\n");
  auto init = home.bottle({"logs", "ops-logs", "--daemon", "init"});
  EXPECT_EQ(init.out, kInit + "\n");
  auto blocks = home.bottle({"logs", "ops-logs", "--blocks"});
  EXPECT_EQ(blocks.out, kBlock + "\n" + kWarn + "\n");
  auto none = home.bottle({"logs", "ops-logs", "--daemon", "supervise", "--blocks"});
  EXPECT_EQ(none.out, "");
  auto bad = home.bottle({"logs", "ops-logs", "--daemon", "proxy"});
  EXPECT_EQ(bad.exit_code, 2);
  auto missing = home.bottle({"logs", "no-such"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "bottle: no bottle 'no-such'\n");
}

TEST(BottleLogs, FollowPrintsLinesAsTheyAreAppended) {
  BottleHome home("ops-follow");
  write_log(home, {kInit});
  ScratchDir work;
  const std::string out = work.path() + "/follow.out";
  ChildProcess follow = home.bottle_background({"logs", "ops-follow", "--follow", "--blocks"}, out);
  ASSERT_TRUE(follow.pid() > 0);
  // Half a line first: nothing is printed until its newline arrives.
  std::ofstream(log_path(home), std::ios::app) << kBlock.substr(0, 40) << std::flush;
  std::ofstream(log_path(home), std::ios::app) << kBlock.substr(40) << "\n" << kSupervise << "\n";
  ASSERT_TRUE(eventually([&] { return read_file(out) == kBlock + "\n"; })) << read_file(out);
  std::ofstream(log_path(home), std::ios::app) << kHostBlock << "\n";
  ASSERT_TRUE(eventually([&] { return read_file(out) == kBlock + "\n" + kHostBlock + "\n"; }))
      << read_file(out);
  follow.terminate(std::chrono::seconds(5));
}

TEST(BottleTop, LineModeReportsBottlesBlocksAndProposals) {
  BottleHome home("ops-top");
  write_log(home, {kInit});
  ScratchDir work;
  const std::string out = work.path() + "/top.out";
  ChildProcess top = home.bottle_background({"top", "--interval", "0.1"}, out);
  ASSERT_TRUE(eventually([&] {
    return read_file(out).find("ops-top running (agent test, backend local") != std::string::npos;
  })) << read_file(out);
  std::ofstream(log_path(home), std::ios::app) << kBlock << "\n";
  ProposalQueue q(home.queue());
  ASSERT_TRUE(q.create(proposal("300-c")).ok());
  ASSERT_TRUE(eventually([&] {
    const std::string s = read_file(out);
    return s.find("ops-top proposal 300-c capability psql -- needs psql") != std::string::npos &&
           s.find("egress_block reason=dlp_outbound method=POST host=api.example.com") !=
               std::string::npos &&
           s.find("blocks 1 (dlp_outbound 1)  pending 1") != std::string::npos;
  })) << read_file(out);
  EXPECT_EQ(read_file(out).find('\x1b'), std::string::npos) << "no escapes when piped";
  EXPECT_EQ(top.terminate(std::chrono::seconds(5)), 0) << read_file(out);
}

}  // namespace
}  // namespace bottle::supervise::testing
