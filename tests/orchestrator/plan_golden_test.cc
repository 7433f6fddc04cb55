// Plan rendering pinned by golden files in tests/orchestrator/golden/ (golden.h).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "config/gate_config.h"
#include "config/route_table.h"
#ifdef BOTTLE_HAVE_INIT_LIB
#include "init/config.h"
#endif
#include "orchestrator/plan.h"
#include "orchestrator/preflight.h"
#include "orchestrator/render.h"
#include "tests/orchestrator/golden.h"
#include "tests/orchestrator/test_home.h"

namespace bottle::orchestrator {
namespace {

using testing::ExpectGolden;
using testing::replace_all;
using testing::TestHome;

std::string fake_finder(const std::string& name) {
  return name == "bottle-egress" ? "/opt/bottle/bin/bottle-egress" : "";
}

const char* kClaudeBottle =
    "---\n"
    "env: {FOO: bar, ASK: \"?prompt\", FROM_HOST: \"${HOST_VAR}\", HTTPS_PROXY: nope}\n"
    "egress:\n"
    "  log: blocks\n"
    "  dlp: {outbound: block, inbound: warn}\n"
    "  routes:\n"
    "    - host: api.anthropic.com\n"
    "    - host: api.github.com\n"
    "      port: 443\n"
    "      matches:\n"
    "        - path: {type: PathPrefix, value: /repos/}\n"
    "          method: GET\n"
    "          headers: [{name: x-api-version, type: Exact, value: \"2022-11-28\"}]\n"
    "      auth: {scheme: token, token_ref: GH_TOKEN}\n"
    "    - host: \"*.pypi.org\"\n"
    "git-gate:\n"
    "  repos:\n"
    "    - name: app\n"
    "      url: ssh://git@git.example.com:2222/org/app.git\n"
    "      host_key: \"ssh-ed25519 "
    "AAAAC3NzaC1lZDI1NTE5AAAAIHPc6qDFTajfl6uR9jnS0mJ7JaAEf5ZfwIuIEQCd3YNj\"\n"
    "      key: {provider: static, path: /keys/app}\n"
    "---\n";

Plan claude_plan(TestHome& h) {
  h.bottle("dev", kClaudeBottle);
  h.agent("impl",
          "---\nbottle: dev\nprovider: claude\nauth_token: BOTTLE_CLAUDE_TOKEN\n---\nprompt\n");
  auto m = load_manifest(h.dirs(), "impl");
  EXPECT_TRUE(m.ok()) << m.error();
  PlanOptions o;
  o.find_binary = fake_finder;
  auto p = make_plan(*m, o);
  EXPECT_TRUE(p.ok()) << p.error();
  return *p;
}

TEST(PlanGolden, ClaudePreflight) {
  TestHome h;
  Plan p = claude_plan(h);
  ExpectGolden("claude_preflight.txt", replace_all(format_preflight(p), h.home(), "<home>"));
}

TEST(PlanGolden, ClaudeRoutesYaml) {
  TestHome h;
  Plan p = claude_plan(h);
  std::string routes = replace_all(render_routes_yaml(p), h.home(), "<home>");
  ExpectGolden("claude_routes.yaml", routes);
  // What we render must be what egress accepts (tokens resolved from a fake env).
  config::LoadOptions lo;
  lo.env = [](const std::string&) -> std::optional<std::string> { return "x"; };
  auto table = config::parse_routes(routes, "routes.yaml", lo);
  ASSERT_TRUE(table.ok()) << table.error();
  EXPECT_EQ((*table)->routes.size(), 3u);
}

TEST(PlanGolden, ClaudeInitYaml) {
  TestHome h;
  Plan p = claude_plan(h);
  InitLayout l;
  l.routes_file = "/state/s1/routes/routes.yaml";
  l.ca_cert = "/state/s1/ca/ca.pem";
  l.ca_key = "/state/s1/ca/ca-key.pem";
  l.admin_port = 41000;
  ExpectGolden("claude_init.yaml", render_init_yaml(p, l));
  EXPECT_EQ(daemons_csv(p), "egress");
}

TEST(PlanGolden, GitgateYamlAndInitEntriesWhenTheBinariesExist) {
  TestHome h;
  h.bottle("dev", kClaudeBottle);
  h.agent("impl", "---\nbottle: dev\nprovider: claude\n---\n");
  PlanOptions o;
  o.find_binary = [](const std::string& n) { return "/opt/bottle/bin/" + n; };
  auto p = make_plan(*load_manifest(h.dirs(), "impl"), o);
  ASSERT_TRUE(p.ok()) << p.error();
  EXPECT_EQ(daemons_csv(*p), "egress,gitgate,supervise");
  GitgateLayout gl{"/s/gitgate/keys", "/s/proposals", "impl-1a2b3c"};
  const std::string gate_yaml = replace_all(render_gitgate_yaml(*p, gl), h.home(), "<home>");
  ExpectGolden("gitgate.yaml", gate_yaml);
  // What we render is what the gate loads.
  auto gate = config::parse_gate_config(gate_yaml, "gitgate.yaml");
  ASSERT_TRUE(gate.ok()) << gate.error();
  EXPECT_EQ((*gate)->repos.at(0).key_file, "/s/gitgate/keys/app");
  EXPECT_EQ((*gate)->repos.at(0).url.port, 2222);
  ASSERT_TRUE((*gate)->proposals.has_value());
  EXPECT_EQ((*gate)->proposals->queue, "/s/proposals");
  ExpectGolden("gitconfig", render_gitconfig(*p));
  InitLayout l;
  l.routes_file = "/s/routes/routes.yaml";
  l.ca_cert = "/s/ca/ca.pem";
  l.ca_key = "/s/ca/ca-key.pem";
  l.gitgate_git_fd = 4;
  l.gitgate_http_fd = 5;
  l.gitgate_admin_port = 41001;
  l.supervise_fd = 6;
  l.gitgate_config = "/s/gitgate.yaml";
  l.gitgate_state = "/s/gitgate";
  l.supervise_queue = "/s/proposals";
  l.init_ctl = "/s/init.sock";
  ExpectGolden("all_daemons_init.yaml", render_init_yaml(*p, l));
#ifdef BOTTLE_HAVE_INIT_LIB
  auto parsed = init::parse_init_config(render_init_yaml(*p, l), "init.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(parsed->daemons.at("egress").inherit_fds, std::vector<int>{3});
  EXPECT_EQ(parsed->daemons.at("gitgate").inherit_fds, (std::vector<int>{4, 5}));
  EXPECT_EQ(parsed->daemons.at("gitgate").ready.port, 41001);
  EXPECT_EQ(parsed->daemons.at("gitgate").env_allow,
            (std::vector<std::string>{"PATH", "HOME", "GIT_KEY_*", "GITGATE_SECRET_*"}));
  EXPECT_EQ(parsed->daemons.at("supervise").inherit_fds, std::vector<int>{6});
  EXPECT_TRUE(parsed->daemons.at("egress").reload_signal);
  EXPECT_EQ(parsed->daemons.at("egress").ready.path, "/healthz");
  EXPECT_EQ(parsed->daemons.at("egress").env_allow,
            (std::vector<std::string>{"PATH", "HOME", "EGRESS_TOKEN_*", "EGRESS_SECRET_*"}));
#endif
  EXPECT_EQ(p->mcp_registration.front(), "claude");
}

TEST(PlanGolden, ProviderRouteWinsWithAWarning) {
  TestHome h;
  Plan p = claude_plan(h);
  ASSERT_FALSE(p.routes.empty());
  EXPECT_EQ(p.routes[0].host, "api.anthropic.com");
  EXPECT_TRUE(p.routes[0].from_provider);
  EXPECT_EQ(p.routes[0].token_slot, "EGRESS_TOKEN_0");
  int anthropic = 0;
  for (const auto& r : p.routes) anthropic += r.host == "api.anthropic.com";
  EXPECT_EQ(anthropic, 1);
  ASSERT_FALSE(p.warnings.empty());
  EXPECT_NE(
      p.warnings[0].find(h.bottle_path("dev") + ":7:7: route for api.anthropic.com is replaced"),
      std::string::npos)
      << p.warnings[0];
}

TEST(PlanGolden, SecretsNeverInThePlanOutput) {
  TestHome h;
  setenv("BOTTLE_CLAUDE_TOKEN", "sk-ant-very-secret", 1);
  Plan p = claude_plan(h);
  InitLayout l;
  std::string all = format_preflight(p) + render_routes_yaml(p) + render_init_yaml(p, l);
  EXPECT_EQ(all.find("sk-ant-very-secret"), std::string::npos);
  EXPECT_EQ(all.find("egress-placeholder"), std::string::npos);  // hidden env stays hidden
  unsetenv("BOTTLE_CLAUDE_TOKEN");
}

TEST(PlanGolden, CommandAgentWithResolvePins) {
  TestHome h;
  h.bottle("demo",
           "---\nsupervise: false\negress:\n  resolve: [\"upstream.demo:8080:127.0.0.1\"]\n"
           "  upstream_ca: /etc/bottle-test/ca.pem\n  routes:\n"
           "    - host: upstream.demo\n      port: 8080\n      allow_private: true\n"
           "      auth: {scheme: Bearer, token_ref: DEMO_TOKEN}\n---\n");
  h.agent("demo", "---\nbottle: demo\nprovider: command\ncommand: [sh, -c, \"echo hi\"]\n---\n");
  auto m = load_manifest(h.dirs(), "demo");
  ASSERT_TRUE(m.ok()) << m.error();
  PlanOptions o;
  o.find_binary = fake_finder;
  o.command = {"curl", "http://upstream.demo:8080/"};
  auto p = make_plan(*m, o);
  ASSERT_TRUE(p.ok()) << p.error();
  InitLayout l;
  l.routes_file = "/s/routes/routes.yaml";
  l.ca_cert = "/s/ca/ca.pem";
  l.ca_key = "/s/ca/ca-key.pem";
  ExpectGolden("command_preflight.txt", replace_all(format_preflight(*p), h.home(), "<home>"));
  ExpectGolden("command_routes.yaml", replace_all(render_routes_yaml(*p), h.home(), "<home>"));
  ExpectGolden("command_init.yaml", render_init_yaml(*p, l));
}

TEST(PlanGolden, KnownSecretsReachEgressThroughSecretSlots) {
  // Egress only receives EGRESS_* variables from init, so an operator-listed secret
  // named by its host variable would never reach the scanner.
  TestHome h;
  h.bottle("demo",
           "---\nsupervise: false\negress:\n  dlp: {known_secrets_env: [OPS_DB_PASSWORD, OPS_KEY]}\n"
           "  routes:\n    - host: upstream.demo\n      auth: {scheme: Bearer, token_ref: DEMO_TOKEN}\n---\n");
  h.agent("demo", "---\nbottle: demo\nprovider: command\ncommand: [\"true\"]\n---\n");
  auto m = load_manifest(h.dirs(), "demo");
  ASSERT_TRUE(m.ok()) << m.error();
  PlanOptions o;
  o.find_binary = fake_finder;
  auto p = make_plan(*m, o);
  ASSERT_TRUE(p.ok()) << p.error();
  ASSERT_EQ(p->token_slots.size(), 3u);
  EXPECT_EQ(p->token_slots[1].slot, "EGRESS_SECRET_0");
  EXPECT_EQ(p->token_slots[1].host_env, "OPS_DB_PASSWORD");
  EXPECT_EQ(p->token_slots[2].slot, "EGRESS_SECRET_1");
  std::string routes = render_routes_yaml(*p);
  EXPECT_NE(routes.find("EGRESS_SECRET_0"), std::string::npos) << routes;
  EXPECT_EQ(routes.find("OPS_DB_PASSWORD"), std::string::npos) << routes;
  // Egress loads the rendered file when the slots are set, as init would set them.
  config::LoadOptions lo;
  lo.env = [](const std::string& k) -> std::optional<std::string> {
    if (k.starts_with("EGRESS_")) return "v";
    return std::nullopt;
  };
  auto table = config::parse_routes(routes, "routes.yaml", lo);
  ASSERT_TRUE(table.ok()) << table.error();
  EXPECT_EQ((*table)->known_secrets_env, (std::vector<std::string>{"EGRESS_SECRET_0", "EGRESS_SECRET_1"}));
  // The manifest's own node is untouched (a second plan gives the same slots).
  auto again = make_plan(*m, o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->token_slots[1].host_env, "OPS_DB_PASSWORD");
  InitLayout l;
  EXPECT_NE(render_init_yaml(*p, l).find("\"EGRESS_SECRET_*\""), std::string::npos);
}

TEST(PlanGolden, SkillsGoWhereTheProviderLooks) {
  TestHome h;
  h.bottle("demo", "---\nsupervise: false\n---\n");
  h.agent("c", "---\nbottle: demo\nskills: [skills/review]\n---\n");
  h.agent(
      "x",
      "---\nbottle: demo\nprovider: command\ncommand: [\"true\"]\nskills: [skills/lint/]\n---\n");
  auto claude = make_plan(*load_manifest(h.dirs(), "c"), PlanOptions{});
  ASSERT_TRUE(claude.ok()) << claude.error();
  ASSERT_EQ(claude->skills.size(), 1u);
  EXPECT_EQ(claude->skills[0].source, h.home() + "/skills/review");
  EXPECT_EQ(claude->skills[0].destination, "/home/agent/.claude/skills/review");
  auto command = make_plan(*load_manifest(h.dirs(), "x"), PlanOptions{});
  ASSERT_TRUE(command.ok()) << command.error();
  EXPECT_EQ(command->skills[0].destination, "/run/bottle/skills/lint");
}

TEST(PlanGolden, CodexRoutesShareOneTokenSlot) {
  TestHome h;
  h.bottle("demo", "---\nsupervise: false\n---\n");
  h.agent("cx", "---\nbottle: demo\nprovider: codex\nauth_token: HOST_OPENAI\n---\n");
  auto p = make_plan(*load_manifest(h.dirs(), "cx"), PlanOptions{});
  ASSERT_TRUE(p.ok()) << p.error();
  ASSERT_EQ(p->routes.size(), 2u);
  EXPECT_EQ(p->routes[0].host, "api.openai.com");
  EXPECT_EQ(p->routes[1].host, "chatgpt.com");
  EXPECT_EQ(p->routes[1].token_slot, "EGRESS_TOKEN_0");
  ASSERT_EQ(p->token_slots.size(), 1u);
  EXPECT_EQ(p->token_slots[0].host_env, "HOST_OPENAI");
  EXPECT_EQ(p->argv, (std::vector<std::string>{"codex"}));
  bool placeholder = false;
  for (const auto& e : p->env)
    placeholder |= e.name == "OPENAI_API_KEY" && e.value.text == "egress-placeholder";
  EXPECT_TRUE(placeholder);
}

TEST(PlanGolden, EveryExampleManifestLoadsAndPlans) {
  TestHome h;
  const std::string examples = std::string(BOTTLE_GOLDEN_DIR) + "/../../../examples";
  for (const char* sub : {"agents", "bottles"}) {
    for (const auto& e : std::filesystem::directory_iterator(examples + "/" + sub)) {
      std::filesystem::copy_file(e.path(),
                                 h.home() + "/" + sub + "/" + e.path().filename().string());
    }
  }
  int agents = 0;
  for (const auto& name : list_agent_names(h.dirs())) {
    auto m = load_manifest(h.dirs(), name);
    ASSERT_TRUE(m.ok()) << m.error();
    auto p = make_plan(*m, PlanOptions{});
    ASSERT_TRUE(p.ok()) << p.error();
    ++agents;
  }
  EXPECT_GE(agents, 2);
  auto impl = make_plan(*load_manifest(h.dirs(), "implementer"), PlanOptions{});
  ASSERT_TRUE(impl.ok());
  ExpectGolden("implementer_preflight.txt",
               replace_all(format_preflight(*impl), h.home(), "<home>"));
}

TEST(PlanGolden, GitgateReposNeedAnSshUrlAPinnedHostKeyAndAStaticKey) {
  const std::string good_key =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHPc6qDFTajfl6uR9jnS0mJ7JaAEf5ZfwIuIEQCd3YNj";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"url: ssh://git@h/app.git\n      key: {provider: static, path: /k}\n", "needs 'host_key'"},
      {"url: https://h/app.git\n      host_key: \"" + good_key +
           "\"\n      key: {provider: static, path: /k}\n",
       "scheme 'https' is not ssh"},
      {"url: ssh://git@h/app.git\n      host_key: \"ssh-ed25519 AAAA\"\n      key: {provider: "
       "static, path: /k}\n",
       "not a ssh-ed25519 key"},
      {"url: ssh://git@h/app.git\n      host_key: \"" + good_key + "\"\n",
       "needs 'key: {provider: static"},
      {"url: ssh://git@h/app.git\n      host_key: \"" + good_key +
           "\"\n      key: {provider: gitea, provisioner_token: T}\n",
       "key provider 'gitea' is not supported yet"},
  };
  for (const auto& [fields, want] : cases) {
    TestHome h;
    h.bottle("dev", "---\ngit-gate:\n  repos:\n    - name: app\n      " + fields + "---\n");
    h.agent("impl", "---\nbottle: dev\nprovider: command\ncommand: [\"true\"]\n---\n");
    auto m = load_manifest(h.dirs(), "impl");
    ASSERT_TRUE(m.ok()) << m.error();
    auto p = make_plan(*m, PlanOptions{});
    ASSERT_FALSE(p.ok()) << fields;
    EXPECT_NE(p.error().find(h.bottle_path("dev") + ":4:7: repo 'app': "), std::string::npos)
        << p.error();
    EXPECT_NE(p.error().find(want), std::string::npos) << p.error();
  }
}

TEST(PlanGolden, OperatorSecretsReachTheGateThroughItsOwnSlots) {
  TestHome h;
  h.bottle("dev",
           std::string(kClaudeBottle)
               .replace(std::string(kClaudeBottle).find("  dlp: {outbound: block, inbound: warn}"),
                        39, "  dlp: {known_secrets_env: [OPS_DB_PASSWORD]}"));
  h.agent("impl", "---\nbottle: dev\nprovider: claude\n---\n");
  PlanOptions o;
  o.find_binary = [](const std::string& n) { return "/opt/bottle/bin/" + n; };
  auto p = make_plan(*load_manifest(h.dirs(), "impl"), o);
  ASSERT_TRUE(p.ok()) << p.error();
  bool egress_slot = false, gate_slot = false;
  for (const auto& t : p->token_slots) {
    egress_slot |= t.slot == "EGRESS_SECRET_0" && t.host_env == "OPS_DB_PASSWORD";
    gate_slot |= t.slot == "GITGATE_SECRET_0" && t.host_env == "OPS_DB_PASSWORD";
  }
  EXPECT_TRUE(egress_slot && gate_slot);
  const std::string yaml = render_gitgate_yaml(*p, GitgateLayout{"/k", "", ""});
  EXPECT_NE(yaml.find("known_secrets_env: [GITGATE_SECRET_0]"), std::string::npos) << yaml;
  config::GateLoadOptions lo;
  lo.env = [](const std::string& k) -> std::optional<std::string> {
    if (k.starts_with("GITGATE_")) return "v";
    return std::nullopt;
  };
  auto gate = config::parse_gate_config(yaml, "gitgate.yaml", lo);
  ASSERT_TRUE(gate.ok()) << gate.error();
  // Not rendered for egress's own file, and never the value.
  EXPECT_EQ(render_routes_yaml(*p).find("GITGATE_SECRET"), std::string::npos);
}

TEST(PlanGolden, GitconfigRewritesEverySpellingOfTheRepoUrl) {
  TestHome h;
  h.bottle("dev",
           "---\ngit-gate:\n  repos:\n    - name: app\n      url: git@github.com:org/app.git\n"
           "      host_key: \"ssh-ed25519 "
           "AAAAC3NzaC1lZDI1NTE5AAAAIHPc6qDFTajfl6uR9jnS0mJ7JaAEf5ZfwIuIEQCd3YNj\"\n"
           "      key: {provider: static, path: /k}\n---\n");
  h.agent("impl",
          "---\nbottle: dev\nprovider: command\ncommand: [\"true\"]\n"
          "git: {user: {name: \"Bot #1\", email: bot@example.test}}\n---\n");
  PlanOptions o;
  o.find_binary = [](const std::string& n) { return "/opt/bottle/bin/" + n; };
  auto p = make_plan(*load_manifest(h.dirs(), "impl"), o);
  ASSERT_TRUE(p.ok()) << p.error();
  EXPECT_EQ(render_gitconfig(*p),
            "[user]\n\tname = \"Bot #1\"\n\temail = \"bot@example.test\"\n"
            "[safe]\n\tdirectory = *\n"
            "[url \"git://127.0.0.1:9418/app.git\"]\n"
            "\tinsteadOf = \"git@github.com:org/app.git\"\n"
            "\tinsteadOf = \"ssh://git@github.com/org/app.git\"\n");
  // Without the gate binary there is nothing to rewrite to.
  auto no_gate = make_plan(*load_manifest(h.dirs(), "impl"), PlanOptions{});
  ASSERT_TRUE(no_gate.ok());
  EXPECT_EQ(render_gitconfig(*no_gate).find("insteadOf"), std::string::npos);
}

// Every backend renders the agent's side from one plan; only the layout differs.
TEST(PlanGolden, ContainerBackendsReachTheBundleByItsNames) {
  TestHome h;
  h.bottle("dev", kClaudeBottle);
  h.agent("impl",
          "---\nbottle: dev\nprovider: claude\nauth_token: BOTTLE_CLAUDE_TOKEN\n"
          "git: {user: {name: Impl, email: impl@example.test}}\nskills: [skills/review]\n---\n");
  auto m = load_manifest(h.dirs(), "impl");
  ASSERT_TRUE(m.ok()) << m.error();
  PlanOptions o;
  o.backend = "docker";
  o.find_binary = [](const std::string&) { return std::string(); };  // not this host's
  auto p = make_plan(*m, o);
  ASSERT_TRUE(p.ok()) << p.error();
  EXPECT_EQ(p->gitgate.binary, "/usr/local/bin/bottle-gitgate");
  EXPECT_EQ(daemons_csv(*p), "egress,gitgate,supervise");
  std::map<std::string, std::string> env(p->sandbox_env.begin(), p->sandbox_env.end());
  EXPECT_EQ(env["HTTPS_PROXY"], "http://egress:9099");
  EXPECT_EQ(env["no_proxy"], "git-gate,supervise,localhost,127.0.0.1,::1");
  EXPECT_EQ(env["HOME"], "/home/node");
  EXPECT_EQ(env["NODE_EXTRA_CA_CERTS"], "/run/bottle/bottle-ca.pem");
  EXPECT_NE(p->gitconfig.find("[url \"git://git-gate:9418/app.git\"]"), std::string::npos)
      << p->gitconfig;
  EXPECT_EQ(p->mcp_registration.back(), "http://supervise:9100/mcp");
  EXPECT_EQ(p->skills.at(0).destination, "/home/node/.claude/skills/review");
  ASSERT_EQ(p->launch_argv.size(), 5u);
  EXPECT_EQ(p->launch_argv[0], "sh");
  EXPECT_EQ(p->launch_argv.back(), "claude");
  ExpectGolden("claude_docker_preflight.txt",
               replace_all(format_preflight(*p), h.home(), "<home>"));
  // The same manifest on the local backend: loopback in the bottle's namespace.
  o.backend = "local";
  o.find_binary = [](const std::string& n) { return "/opt/bottle/bin/" + n; };
  auto local = make_plan(*m, o);
  ASSERT_TRUE(local.ok()) << local.error();
  std::map<std::string, std::string> lenv(local->sandbox_env.begin(), local->sandbox_env.end());
  EXPECT_EQ(lenv["HTTPS_PROXY"], "http://127.0.0.1:9099");
  EXPECT_EQ(lenv["NO_PROXY"], "127.0.0.1,localhost,::1");
  EXPECT_EQ(lenv["HOME"], "/home/agent");
  EXPECT_NE(local->gitconfig.find("git://127.0.0.1:9418/app.git"), std::string::npos);
}

TEST(PlanGolden, AManifestValueForANonSandboxNameReplacesTheDefaultOnce) {
  TestHome h;
  h.bottle("demo", "---\nsupervise: false\nenv: {LANG: de_DE.UTF-8}\n---\n");
  h.agent("x", "---\nbottle: demo\nprovider: command\ncommand: [\"true\"]\n---\n");
  auto p = make_plan(*load_manifest(h.dirs(), "x"), PlanOptions{});
  ASSERT_TRUE(p.ok()) << p.error();
  int lang = 0;
  for (const auto& [name, value] : p->sandbox_env) lang += name == "LANG";
  for (const auto& e : p->env) lang += e.name == "LANG";
  EXPECT_EQ(lang, 1);
  EXPECT_EQ(p->launch_argv, p->argv);  // no supervise: nothing to register
}

TEST(PlanGolden, CommandProviderNeedsACommand) {
  TestHome h;
  h.bottle("demo", "---\n---\n");
  h.agent("demo", "---\nbottle: demo\nprovider: command\n---\n");
  auto m = load_manifest(h.dirs(), "demo");
  ASSERT_TRUE(m.ok()) << m.error();
  auto p = make_plan(*m, PlanOptions{});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().find("needs 'command: [...]'"), std::string::npos) << p.error();
}

}  // namespace
}  // namespace bottle::orchestrator
