#include "config/route_merge.h"

#include <gtest/gtest.h>

namespace bottle::config {
namespace {

using nlohmann::json;

// Written the way `bottle` renders routes.yaml (yaml-cpp emitter, flow maps inside routes).
constexpr const char* kRendered =
    "# Rendered by bottle from /home/op/agents/dev.md; edit with `bottle routes edit`.\n"
    "log: blocks\n"
    "routes:\n"
    "  - host: api.anthropic.com\n"
    "    port: 443\n"
    "    auth: {scheme: Bearer, token_env: EGRESS_TOKEN_0}\n"
    "  - host: api.github.com\n"
    "    matches:\n"
    "      - path: {type: PathPrefix, value: /repos/}\n"
    "        method: GET\n";

YAML::Node agent_route(const json& j) {
  auto r = route_from_json(j, RouteSource::agent);
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? *r : YAML::Node();
}

std::string agent_error(const json& j) {
  auto r = route_from_json(j, RouteSource::agent);
  return r.ok() ? "<ok>" : r.error();
}

MergedRoutes merged(const std::string& file, const json& route) {
  auto m = merge_route(file, "routes.yaml", agent_route(route));
  EXPECT_TRUE(m.ok()) << m.error();
  return m.ok() ? *m : MergedRoutes{};
}

TEST(RouteMerge, NewHostIsAppendedAndTheRestOfTheFileStaysByteForByte) {
  auto m = merged(kRendered, {{"host", "pypi.org"}, {"port", 443}});
  ASSERT_TRUE(m.changed);
  EXPECT_EQ(m.summary, "added route pypi.org:443");
  EXPECT_EQ(m.text, std::string(kRendered) + "  - host: pypi.org\n    port: 443\n");
  ASSERT_TRUE(m.table);
  EXPECT_NE(m.table->find_host("pypi.org", 443), nullptr);
}

TEST(RouteMerge, DiffOfAnApprovalShowsOnlyTheAddedLines) {
  auto m =
      merged(kRendered,
             {{"host", "pypi.org"},
              {"matches", json::array({{{"path", {{"type", "PathPrefix"}, {"value", "/simple/"}}},
                                        {"method", "GET"}}})}});
  EXPECT_EQ(unified_diff(kRendered, m.text, "routes.yaml", "routes.yaml (approved)"),
            "--- routes.yaml\n"
            "+++ routes.yaml (approved)\n"
            "@@ -8,3 +8,7 @@\n"
            "     matches:\n"
            "       - path: {type: PathPrefix, value: /repos/}\n"
            "         method: GET\n"
            "+  - host: pypi.org\n"
            "+    matches:\n"
            "+      - path: {type: PathPrefix, value: /simple/}\n"
            "+        method: GET\n");
}

TEST(RouteMerge, MatchesForAKnownHostAreAddedToItsRoute) {
  auto m =
      merged(kRendered,
             {{"host", "API.GitHub.com"},
              {"matches", json::array({{{"path", {{"type", "PathPrefix"}, {"value", "/user"}}}},
                                       {{"path", {{"type", "PathPrefix"}, {"value", "/repos/"}}},
                                        {"method", "GET"}}})}});
  ASSERT_TRUE(m.changed);
  EXPECT_EQ(m.summary, "added 1 match to route api.github.com");  // the second one exists
  EXPECT_NE(m.text.find("      - path: {type: PathPrefix, value: /user}\n"), std::string::npos)
      << m.text;
  EXPECT_EQ(m.table->routes.size(), 2u);
  EXPECT_EQ(m.table->routes[1].matches.size(), 2u);
}

TEST(RouteMerge, RouteAlreadyAllowingEverythingLeavesTheFileUntouched) {
  auto m = merged(
      kRendered, {{"host", "api.anthropic.com"},
                  {"matches", json::array({{{"path", {{"type", "Exact"}, {"value", "/v1/x"}}}}})}});
  EXPECT_FALSE(m.changed);
  EXPECT_EQ(m.text, kRendered);
  EXPECT_EQ(m.summary, "already allowed by route api.anthropic.com; nothing to change");
}

TEST(RouteMerge, ProposalWithoutMatchesWidensTheExistingRoute) {
  auto m = merged(kRendered, {{"host", "api.github.com"}, {"port", 443}});
  ASSERT_TRUE(m.changed);
  EXPECT_EQ(m.summary, "route api.github.com now allows every request (matches removed)");
  EXPECT_TRUE(m.table->routes[1].matches.empty());
  EXPECT_FALSE(m.table->routes[1].port.has_value()) << "the existing route keeps its ports";
}

TEST(RouteMerge, AnotherPortOfAKnownHostIsItsOwnRoute) {
  auto m = merged(kRendered, {{"host", "api.anthropic.com"}, {"port", 8443}});
  EXPECT_EQ(m.summary, "added route api.anthropic.com:8443");
  EXPECT_EQ(m.table->routes.size(), 3u);
}

TEST(RouteMerge, EmptyOrMissingRoutesListGetsABlockList) {
  for (const char* file : {"log: blocks\nroutes: []\n", "log: blocks\n", ""}) {
    auto m = merged(file, {{"host", "pypi.org"}});
    EXPECT_NE(m.text.find("routes:\n  - host: pypi.org\n"), std::string::npos) << m.text;
  }
}

TEST(RouteMerge, OperatorEditsMayAddAuthDlpAndAllowPrivateAndReplaceTheOldValues) {
  auto r = route_from_json(
      {{"host", "api.anthropic.com"}, {"allow_private", true}, {"dlp", {{"inbound", "off"}}}},
      RouteSource::operator_edit);
  ASSERT_TRUE(r.ok()) << r.error();
  auto m = merge_route(kRendered, "routes.yaml", *r);
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m->summary,
            "set dlp on route api.anthropic.com:443; set allow_private on route "
            "api.anthropic.com:443");
  EXPECT_TRUE(m->table->routes[0].allow_private);
  EXPECT_NE(m->text.find("    dlp: {inbound: \"off\"}\n"), std::string::npos) << m->text;
}

TEST(RouteMerge, ABrokenRoutesFileIsReportedWithItsPosition) {
  auto m = merge_route("routes:\n  - hots: x\n", "routes.yaml", agent_route({{"host", "a.org"}}));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().rfind("routes.yaml:2:", 0), 0u) << m.error();
}

TEST(RouteFromJson, AgentMayProposeHostPortAndMatchesOnly) {
  EXPECT_EQ(agent_error({{"host", "x.org"}, {"auth", {{"scheme", "Bearer"}}}}),
            "route: 'auth' cannot be proposed by the agent (only host, port and matches; the "
            "operator may add more when approving)");
  EXPECT_EQ(agent_error({{"host", "x.org"}, {"allow_private", true}}).substr(0, 30),
            "route: 'allow_private' cannot ");
  EXPECT_EQ(agent_error(json::array()), "route: must be an object with at least \"host\"");
  EXPECT_EQ(agent_error({{"port", 443}}), "route: \"host\" (a string) is required");
}

TEST(RouteFromJson, ValidationErrorsComeFromTheRoutesLoaderWithoutPositions) {
  EXPECT_EQ(agent_error({{"host", "x.org"}, {"matches", json::array({{{"methd", "GET"}}})}}),
            "route: unknown key 'methd' in match (did you mean 'method'?)");
  EXPECT_EQ(agent_error({{"host", "x.org"}, {"port", "443"}}).substr(0, 13), "route: 'port'");
  EXPECT_EQ(agent_error({{"host", "x.org"}, {"port", nullptr}}),
            "route: 'port' has no value (null)");
  std::string re = agent_error(
      {{"host", "x.org"},
       {"matches", json::array({{{"path", {{"type", "RegularExpression"}, {"value", "(("}}}}})}});
  EXPECT_NE(re.find("regular expression"), std::string::npos) << re;
  EXPECT_EQ(agent_error({{"host", "x.org"}, {"matches", json::array({json::object()})}}), "<ok>");
}

TEST(RouteFromJson, StringsThatYamlWouldRetypeAreQuoted) {
  auto n = agent_route(
      {{"host", "x.org"},
       {"matches",
        json::array(
            {{{"method", "GET"},
              {"path", {{"type", "Exact"}, {"value", "/on"}}},
              {"headers",
               json::array({{{"name", "v"}, {"type", "Exact"}, {"value", "2023-06-01"}}})}}})}});
  const std::string text = route_yaml(n);
  EXPECT_NE(text.find("value: \"2023-06-01\""), std::string::npos) << text;
  auto back = route_json_from_yaml(text, "edit.yaml");
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ((*back)["matches"][0]["headers"][0]["value"], "2023-06-01");
  EXPECT_EQ((*back)["host"], "x.org");
}

TEST(RouteFromJson, EditedYamlMustBeOneRoute) {
  EXPECT_EQ(route_json_from_yaml("- host: a\n- host: b\n", "e.yaml").error(),
            "e.yaml: expected exactly one route");
  EXPECT_EQ(route_json_from_yaml("just text\n", "e.yaml").error(),
            "e.yaml: expected one route (host: ...)");
  auto port = route_json_from_yaml("host: a.org\nport: 8443\nallow_private: true\n", "e.yaml");
  ASSERT_TRUE(port.ok());
  EXPECT_EQ((*port)["port"], 8443);
  EXPECT_EQ((*port)["allow_private"], true);
}

TEST(UnifiedDiff, EqualTextsHaveNoDiffAndDistantChangesGetTwoHunks) {
  EXPECT_EQ(unified_diff("a\nb\n", "a\nb\n", "x", "y"), "");
  std::string before, after;
  for (int i = 0; i < 20; ++i) {
    before += "l" + std::to_string(i) + "\n";
    after += (i == 2 ? "L2" : i == 15 ? "L15" : "l" + std::to_string(i)) + "\n";
  }
  EXPECT_EQ(unified_diff(before, after, "x", "y"),
            "--- x\n+++ y\n"
            "@@ -1,6 +1,6 @@\n l0\n l1\n-l2\n+L2\n l3\n l4\n l5\n"
            "@@ -13,7 +13,7 @@\n l12\n l13\n l14\n-l15\n+L15\n l16\n l17\n l18\n");
}

}  // namespace
}  // namespace bottle::config
