// Per-detector actions (routes.yaml dlp.detectors) applied to findings, as every place
// egress judges findings does it.
#include "config/dlp_actions.h"

#include <gtest/gtest.h>

namespace bottle::proxy {
namespace {

dlp::Finding finding(std::string detector, bool blocking = true) {
  dlp::Finding f;
  f.detector = std::move(detector);
  f.blocking = blocking;
  return f;
}

TEST(DlpPolicy, ActionsDropLowerOrKeepFindings) {
  config::DlpPolicy policy;  // outbound: block
  policy.detectors = {{"secret.jwt", config::DlpAction::warn}, {"secret.credit_card", config::DlpAction::off}};
  std::vector<dlp::Finding> found = {finding("secret.credit_card"), finding("secret.jwt")};
  EXPECT_FALSE(judge_findings(policy, dlp::Direction::outbound, found));
  ASSERT_EQ(found.size(), 1u);  // off: dropped
  EXPECT_EQ(found[0].detector, "secret.jwt");
  EXPECT_FALSE(found[0].blocking);  // warn: kept, does not block
  found.push_back(finding("secret.github_pat"));
  EXPECT_TRUE(judge_findings(policy, dlp::Direction::outbound, found, 1));  // default: block
}

TEST(DlpPolicy, TheDirectionModeDecidesWhetherAnythingBlocks) {
  config::DlpPolicy policy;
  policy.inbound = config::DlpAction::warn;
  std::vector<dlp::Finding> found = {finding("injection.prompt", true)};
  EXPECT_FALSE(judge_findings(policy, dlp::Direction::inbound, found));
  EXPECT_EQ(found.size(), 1u);
  policy.inbound = config::DlpAction::block;
  EXPECT_TRUE(judge_findings(policy, dlp::Direction::inbound, found));
  // A warn-level verdict (between the thresholds) never blocks.
  std::vector<dlp::Finding> warn = {finding("injection.prompt", false)};
  EXPECT_FALSE(judge_findings(policy, dlp::Direction::inbound, warn));
}

TEST(DlpPolicy, ScanErrorsAlwaysBlock) {
  config::DlpPolicy policy;
  std::vector<dlp::Finding> found = {finding("dlp.scan_error")};
  EXPECT_TRUE(judge_findings(policy, dlp::Direction::outbound, found));
  EXPECT_EQ(detector_action(policy, "dlp.scan_error"), config::DlpAction::block);
}

TEST(DlpPolicy, CheckListsEveryDetectorWithItsEffectiveAction) {
  auto table = config::parse_routes(
      "dlp: {detectors: {secret.jwt: warn}}\nroutes:\n  - host: a.test\n    dlp: {detectors: {injection.prompt: off}}\n",
      "routes.yaml");
  ASSERT_TRUE(table.ok()) << table.error();
  const std::string text = describe_detector_actions(**table);
  for (const dlp::DetectorInfo& d : dlp::detector_catalog()) {
    EXPECT_NE(text.find(std::string(d.id)), std::string::npos) << d.id;
  }
  EXPECT_NE(text.find("secret.jwt"), std::string::npos);
  EXPECT_NE(text.find("warn (default block)"), std::string::npos) << text;
  EXPECT_NE(text.find("route a.test: injection.prompt off"), std::string::npos) << text;
  EXPECT_NE(text.find("warn at 6, block at 10"), std::string::npos) << text;
}

}  // namespace
}  // namespace bottle::proxy
