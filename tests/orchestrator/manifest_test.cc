// Manifest loading (SPEC §9.1): lookup order, trust boundary, strict YAML and every
// error with its position.
#include "orchestrator/manifest.h"

#include <gtest/gtest.h>

#include "tests/orchestrator/test_home.h"

namespace bottle::orchestrator {
namespace {

using testing::TestHome;

const char* kDevBottle =
    "---\n"
    "env: {FOO: bar, ASK: \"?prompt\", FROM_HOST: \"${HOST_VAR}\"}\n"
    "egress:\n"
    "  log: full\n"
    "  routes:\n"
    "    - host: example.com\n"
    "      matches: [{path: {type: PathPrefix, value: /v1/}}]\n"
    "    - host: api.github.com\n"
    "      auth: {scheme: token, token_ref: GH_TOKEN}\n"
    "supervise: false\n"
    "---\n"
    "notes\n";

const char* kAgent =
    "---\n"
    "bottle: dev\n"
    "provider: claude\n"
    "auth_token: BOTTLE_CLAUDE_TOKEN\n"
    "git: {user: {name: Impl Bot, email: impl@example.com}}\n"
    "---\n"
    "You are the implementer.\n";

// Error text must start with "path:line:" so editors can jump to it.
void ExpectErrorAt(const Result<Manifest>& m, const std::string& path, int line,
                   const std::string& fragment) {
  ASSERT_FALSE(m.ok()) << "expected an error containing: " << fragment;
  std::string prefix = path + ":" + std::to_string(line) + ":";
  EXPECT_EQ(m.error().rfind(prefix, 0), 0u) << m.error() << "\n(expected prefix " << prefix << ")";
  EXPECT_NE(m.error().find(fragment), std::string::npos) << m.error();
}

TEST(Manifest, LoadsAgentAndBottle) {
  TestHome h;
  h.bottle("dev", kDevBottle);
  h.agent("impl", kAgent);
  auto m = load_manifest(h.dirs(), "impl");
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m->agent.bottle, "dev");
  EXPECT_EQ(m->agent.provider, "claude");
  EXPECT_EQ(m->agent.auth_token, "BOTTLE_CLAUDE_TOKEN");
  EXPECT_EQ(m->agent.git_user.name, "Impl Bot");
  EXPECT_EQ(m->agent.prompt, "You are the implementer.\n");
  ASSERT_TRUE(m->bottle.egress.has_value());
  EXPECT_EQ(m->bottle.egress->log, "full");
  ASSERT_EQ(m->bottle.egress->routes.size(), 2u);
  EXPECT_EQ(m->bottle.egress->route_origins[1], h.bottle_path("dev") + ":8:7");
  EXPECT_EQ(m->bottle.supervise, false);
}

TEST(Manifest, VmResourcesDefaultAndParse) {
  TestHome h;
  h.agent("impl", "---\nbottle: small\n---\n");
  h.bottle("small", "---\nsupervise: false\n---\n");
  auto m = load_manifest(h.dirs(), "impl");
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_FALSE(m->bottle.vm.has_value());
  h.bottle("small", "---\nvm: {memory: 2G, cpus: 2}\n---\n");
  m = load_manifest(h.dirs(), "impl");
  ASSERT_TRUE(m.ok()) << m.error();
  ASSERT_TRUE(m->bottle.vm.has_value());
  EXPECT_EQ(m->bottle.vm->memory, "2048M");
  EXPECT_EQ(m->bottle.vm->cpus, 2);
  h.bottle("small", "---\nvm:\n  memory: 2GB\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.bottle_path("small"), 3,
                "vm.memory '2GB' is not a size from 128M to 256G");
  h.bottle("small", "---\nvm:\n  memory: 64M\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.bottle_path("small"), 3, "from 128M");
  h.bottle("small", "---\nvm:\n  cpu: 2\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.bottle_path("small"), 3, "cpu");
  h.bottle("small", "---\nvm: big\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.bottle_path("small"), 2, "'vm' must be a mapping");
}

TEST(Manifest, EnvValueKinds) {
  TestHome h;
  h.bottle("dev", kDevBottle);
  h.agent("impl", kAgent);
  auto m = load_manifest(h.dirs(), "impl");
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m->bottle.env.at("FOO").kind, EnvValue::Kind::literal);
  EXPECT_EQ(m->bottle.env.at("FOO").text, "bar");
  EXPECT_EQ(m->bottle.env.at("ASK").kind, EnvValue::Kind::prompt);
  EXPECT_EQ(m->bottle.env.at("FROM_HOST").kind, EnvValue::Kind::host);
  EXPECT_EQ(m->bottle.env.at("FROM_HOST").text, "HOST_VAR");
}

TEST(Manifest, ProjectAgentShadowsHomeAgent) {
  TestHome h;
  h.bottle("dev", kDevBottle);
  h.agent("impl", kAgent);
  h.project_agent("impl", "---\nbottle: dev\nprovider: command\ncommand: [echo, hi]\n---\n");
  auto m = load_manifest(h.dirs(), "impl");
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m->agent.provider, "command");
  EXPECT_EQ(m->agent.path, h.project_agent_path("impl"));
}

TEST(Manifest, BottlesNeverLoadFromTheProjectDirectory) {
  TestHome h;
  h.agent("impl", kAgent);
  std::filesystem::create_directories(h.home() + "/../project/.bot-bottle/bottles");
  TestHome::write(h.home() + "/../project/.bot-bottle/bottles/dev.md", kDevBottle);
  auto m = load_manifest(h.dirs(), "impl");
  ExpectErrorAt(m, h.agent_path("impl"), 2, "bottle 'dev' not found in " + h.home() + "/bottles");
}

TEST(Manifest, MissingAgentListsAvailableOnes) {
  TestHome h;
  h.agent("alpha", kAgent);
  auto m = load_manifest(h.dirs(), "beta");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().find("agent 'beta' not found"), std::string::npos) << m.error();
  EXPECT_NE(m.error().find("available: alpha"), std::string::npos) << m.error();
}

TEST(Manifest, RejectsBadAgentName) {
  TestHome h;
  auto m = load_manifest(h.dirs(), "../etc/passwd");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().find("must match [a-z][a-z0-9-]*"), std::string::npos) << m.error();
}

TEST(Manifest, MissingFrontmatter) {
  TestHome h;
  h.agent("impl", "just a prompt\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.agent_path("impl"), 1,
                "missing YAML frontmatter");
}

TEST(Manifest, UnclosedFrontmatter) {
  TestHome h;
  h.agent("impl", "---\nbottle: dev\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.agent_path("impl"), 1, "not closed");
}

TEST(Manifest, UnknownAgentKeySuggestsTheRightOne) {
  TestHome h;
  h.bottle("dev", kDevBottle);
  h.agent("impl", "---\nbottle: dev\nprovder: claude\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.agent_path("impl"), 3,
                "did you mean 'provider'?");
}

TEST(Manifest, UnknownProviderSuggestsTheRightOne) {
  TestHome h;
  h.bottle("dev", kDevBottle);
  h.agent("impl", "---\nbottle: dev\nprovider: claud\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.agent_path("impl"), 3, "did you mean 'claude'?");
}

TEST(Manifest, RoleIsReservedOnAgents) {
  TestHome h;
  h.bottle("dev", kDevBottle);
  h.agent("impl", "---\nbottle: dev\n\nrole: admin\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.agent_path("impl"), 4, "'role' is reserved");
}

TEST(Manifest, RoleIsReservedOnRoutes) {
  TestHome h;
  h.bottle("dev",
           "---\negress:\n  routes:\n    - host: a.example\n      role: claude_code_oauth\n---\n");
  h.agent("impl", "---\nbottle: dev\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.bottle_path("dev"), 5, "'role' is reserved");
}

TEST(Manifest, MissingBottleKey) {
  TestHome h;
  h.agent("impl", "---\nprovider: claude\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.agent_path("impl"), 2, "missing 'bottle'");
}

TEST(Manifest, TabIndentationIsRejected) {
  TestHome h;
  h.bottle("dev", "---\nenv:\n\tFOO: bar\n---\n");
  h.agent("impl", "---\nbottle: dev\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.bottle_path("dev"), 3, "tab");
}

TEST(Manifest, AnchorsAreRejected) {
  TestHome h;
  h.bottle("dev", "---\nenv: &e {FOO: bar}\n---\n");
  h.agent("impl", "---\nbottle: dev\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.bottle_path("dev"), 2, "anchors");
}

TEST(Manifest, DateLookingEnvValueMustBeQuoted) {
  TestHome h;
  h.bottle("dev", "---\nenv:\n  FOO: bar\n  SINCE: 2024-01-01\n---\n");
  h.agent("impl", "---\nbottle: dev\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.bottle_path("dev"), 4, "SINCE");
}

TEST(Manifest, YesIsNotABoolean) {
  TestHome h;
  h.bottle("dev", "---\nsupervise: yes\n---\n");
  h.agent("impl", "---\nbottle: dev\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.bottle_path("dev"), 2, "true or false");
}

TEST(Manifest, UnknownRouteKeyIsReportedAtTheRoute) {
  TestHome h;
  h.bottle("dev",
           "---\negress:\n  routes:\n    - host: a.example\n    - host: b.example\n      prot: "
           "443\n---\n");
  h.agent("impl", "---\nbottle: dev\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.bottle_path("dev"), 6, "did you mean 'port'?");
}

TEST(Manifest, RouteMatchErrorsComeFromTheEgressParser) {
  TestHome h;
  h.bottle("dev",
           "---\negress:\n  routes:\n    - host: a.example\n"
           "      matches: [{path: {type: RegularExpression, value: \"(\"}}]\n---\n");
  h.agent("impl", "---\nbottle: dev\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.bottle_path("dev"), 4, "route:");
}

TEST(Manifest, TokenEnvInAManifestPointsToTokenRef) {
  TestHome h;
  h.bottle("dev",
           "---\negress:\n  routes:\n    - host: a.example\n"
           "      auth: {scheme: Bearer, token_env: EGRESS_TOKEN_0}\n---\n");
  h.agent("impl", "---\nbottle: dev\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.bottle_path("dev"), 5, "token_ref");
}

TEST(Manifest, DuplicateRoute) {
  TestHome h;
  h.bottle("dev", "---\negress:\n  routes:\n    - host: a.example\n    - host: a.example\n---\n");
  h.agent("impl", "---\nbottle: dev\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.bottle_path("dev"), 5, "duplicate route");
}

TEST(Manifest, UpstreamCaMustBeAbsolute) {
  TestHome h;
  h.bottle("dev", "---\negress:\n  upstream_ca: certs/ca.pem\n---\n");
  h.agent("impl", "---\nbottle: dev\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.bottle_path("dev"), 3, "absolute path");
}

TEST(Manifest, BadEnvName) {
  TestHome h;
  h.bottle("dev", "---\nenv:\n  BAD-NAME: x\n---\n");
  h.agent("impl", "---\nbottle: dev\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.bottle_path("dev"), 3,
                "not a valid variable name");
}

TEST(Manifest, RepoNeedsAValidName) {
  TestHome h;
  h.bottle("dev", "---\ngit-gate:\n  repos:\n    - name: \"a b\"\n      url: ssh://x/y.git\n---\n");
  h.agent("impl", "---\nbottle: dev\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.bottle_path("dev"), 4, "[A-Za-z0-9._-]+");
}

TEST(Manifest, GitUserCannotInjectGitconfigLines) {
  TestHome h;
  h.bottle("dev", kDevBottle);
  h.agent("impl",
          "---\nbottle: dev\ngit:\n  user: {name: \"x\\n[core]\\n\\tpager = evil\"}\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.agent_path("impl"), 4,
                "cannot contain newlines");
}

TEST(Manifest, AgentsCannotDeclareGitRemotes) {
  TestHome h;
  h.bottle("dev", kDevBottle);
  h.agent("impl", "---\nbottle: dev\ngit:\n  remotes: []\n---\n");
  ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.agent_path("impl"), 4,
                "'remotes' is not allowed");
}

TEST(Manifest, SkillsMustStayInsideTheManifestDirectory) {
  TestHome h;
  h.bottle("dev", kDevBottle);
  for (const char* bad : {"/etc/passwd", "../outside", "skills/../../x"}) {
    h.agent("impl", std::string("---\nbottle: dev\nskills:\n  - \"") + bad + "\"\n---\n");
    ExpectErrorAt(load_manifest(h.dirs(), "impl"), h.agent_path("impl"), 4,
                  "must be a relative path");
  }
}

TEST(Manifest, BrokenUnrelatedFilesDoNotBlockAnAgent) {
  TestHome h;
  h.bottle("dev", kDevBottle);
  h.bottle("broken", "---\nenv: [\n---\n");
  h.agent("impl", kAgent);
  h.agent("other", "---\nbottle: broken\nnonsense: true\n---\n");
  auto m = load_manifest(h.dirs(), "impl");
  EXPECT_TRUE(m.ok()) << m.error();
  EXPECT_FALSE(load_manifest(h.dirs(), "other").ok());
}

TEST(Manifest, ListsAgentNamesWithoutParsing) {
  TestHome h;
  h.agent("b-agent", "garbage");
  h.project_agent("a-agent", "garbage");
  h.agent("Bad_Name", "---\n---\n");
  EXPECT_EQ(list_agent_names(h.dirs()), (std::vector<std::string>{"a-agent", "b-agent"}));
}

}  // namespace
}  // namespace bottle::orchestrator
