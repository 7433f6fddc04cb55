// The docker and k8s renderings: golden files, structural assertions (which service sees
// which network, which container sees which secret), no secret value anywhere, and the
// real validators: Debian's docker-compose, and the Kubernetes JSON schemas of
// tests/orchestrator/k8s-schemas (tests/orchestrator/k8s_validate.py).
#include "orchestrator/container_render.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "orchestrator/plan.h"
#include "tests/orchestrator/golden.h"
#include "tests/orchestrator/test_home.h"
#include "tests/support/support.h"
#ifdef BOTTLE_HAVE_INIT_LIB
#include "init/config.h"
#endif
#include "config/gate_config.h"
#include "config/yaml_emit.h"

namespace bottle::orchestrator {
namespace {

using testing::ExpectGolden;
using testing::replace_all;
using testing::TestHome;

// Values that must never appear in a rendering, whatever the test renders.
constexpr const char* kClaudeToken = "sk-ant-oat01-RENDER-CANARY-1111";
constexpr const char* kGithubToken = "ghp_RENDERCANARY2222222222222222222222";
constexpr const char* kOpsSecret = "ops-db-password-CANARY-3333";

const char* kBottle =
    "---\n"
    "env: {FOO: \"price $5\", ASK: \"?prompt\", FROM_HOST: \"${HOST_VAR}\"}\n"
    "egress:\n"
    "  dlp: {known_secrets_env: [OPS_DB_PASSWORD]}\n"
    "  routes:\n"
    "    - host: api.github.com\n"
    "      auth: {scheme: token, token_ref: GH_TOKEN}\n"
    "git-gate:\n"
    "  repos:\n"
    "    - name: app\n"
    "      url: ssh://git@git.example.com:2222/org/app.git\n"
    "      host_key: \"ssh-ed25519 "
    "AAAAC3NzaC1lZDI1NTE5AAAAIHPc6qDFTajfl6uR9jnS0mJ7JaAEf5ZfwIuIEQCd3YNj\"\n"
    "      key: {provider: static, path: /keys/app}\n"
    "---\n";

struct Rendered {
  TestHome home;
  Plan plan;
  ContainerTarget target;
};

std::unique_ptr<Rendered> render_setup(const std::string& backend) {
  auto r = std::make_unique<Rendered>();
  r->home.bottle("dev", kBottle);
  r->home.agent("impl",
                "---\nbottle: dev\nprovider: claude\nauth_token: BOTTLE_CLAUDE_TOKEN\n"
                "git: {user: {name: Impl, email: impl@example.test}}\n---\nDo the work.\n");
  auto m = load_manifest(r->home.dirs(), "impl");
  EXPECT_TRUE(m.ok()) << m.error();
  PlanOptions o;
  o.backend = backend;
  auto p = make_plan(*m, o);
  EXPECT_TRUE(p.ok()) << p.error();
  r->plan = *p;
  r->target.slug = "impl-1a2b3c";
  r->target.state_dir = "/var/lib/bottle-home/state/impl-1a2b3c";
  r->target.workspace = "/srv/work/app";
  return r;
}

void set_canaries() {
  setenv("BOTTLE_CLAUDE_TOKEN", kClaudeToken, 1);
  setenv("GH_TOKEN", kGithubToken, 1);
  setenv("OPS_DB_PASSWORD", kOpsSecret, 1);
}

void expect_no_secret(const std::string& text) {
  for (const char* v : {kClaudeToken, kGithubToken, kOpsSecret}) {
    EXPECT_EQ(text.find(v), std::string::npos) << "secret value in the rendering:\n" << text;
  }
}

std::vector<std::string> strings(const YAML::Node& seq) {
  std::vector<std::string> out;
  for (const auto& n : seq) out.push_back(n.Scalar());
  return out;
}

bool has_prefix(const std::vector<std::string>& v, const std::string& prefix) {
  return std::any_of(v.begin(), v.end(),
                     [&](const std::string& s) { return s.starts_with(prefix); });
}

TEST(ContainerRender, ComposeGolden) {
  auto r = render_setup("docker");
  ExpectGolden("compose.yaml",
               replace_all(render_compose(r->plan, r->target), r->home.home(), "<home>"));
}

TEST(ContainerRender, ComposeNetworksSecretsAndMounts) {
  set_canaries();
  auto r = render_setup("docker");
  const std::string text = render_compose(r->plan, r->target);
  expect_no_secret(text);
  YAML::Node c = YAML::Load(text);
  const YAML::Node sidecars = c["services"]["sidecars"], agent = c["services"]["agent"];
  // Networks: the agent only on the internal one; the bundle on both, under its names.
  EXPECT_TRUE(c["networks"]["internal"]["internal"].as<bool>());
  EXPECT_FALSE(c["networks"]["egress"]["internal"].IsDefined());
  EXPECT_EQ(strings(agent["networks"]), std::vector<std::string>{"internal"});
  ASSERT_TRUE(sidecars["networks"]["egress"].IsDefined());
  EXPECT_EQ(strings(sidecars["networks"]["internal"]["aliases"]),
            (std::vector<std::string>{"egress", "git-gate", "supervise"}));
  EXPECT_EQ(strings(agent["dns"]), std::vector<std::string>{"127.0.0.1"});
  // Secrets: token slots are names in the bundle's environment only.
  const auto side_env = strings(sidecars["environment"]);
  const auto agent_env = strings(agent["environment"]);
  for (const char* slot :
       {"EGRESS_TOKEN_0", "EGRESS_TOKEN_1", "EGRESS_SECRET_0", "GITGATE_SECRET_0"}) {
    EXPECT_NE(std::find(side_env.begin(), side_env.end(), slot), side_env.end()) << slot;
    EXPECT_FALSE(has_prefix(agent_env, slot)) << slot;
  }
  EXPECT_TRUE(has_prefix(agent_env, "HTTPS_PROXY=http://egress:9099"));
  EXPECT_TRUE(has_prefix(agent_env, "CLAUDE_CODE_OAUTH_TOKEN=egress-placeholder"));
  // Literal values are escaped against compose interpolation; host values pass by name.
  EXPECT_NE(std::find(agent_env.begin(), agent_env.end(), "FOO=price $$5"), agent_env.end());
  EXPECT_NE(std::find(agent_env.begin(), agent_env.end(), "FROM_HOST"), agent_env.end());
  // Mounts: the CA (key included) and the routes directory in the bundle only.
  const auto side_vol = strings(sidecars["volumes"]);
  const auto agent_vol = strings(agent["volumes"]);
  const std::string state = r->target.state_dir;
  EXPECT_NE(std::find(side_vol.begin(), side_vol.end(), state + "/ca:/etc/bottle/ca:ro"),
            side_vol.end());
  EXPECT_NE(std::find(side_vol.begin(), side_vol.end(), state + "/routes:/etc/bottle/routes"),
            side_vol.end());
  for (const auto& v : agent_vol) {
    EXPECT_EQ(v.find("/ca"), std::string::npos) << v;
    EXPECT_EQ(v.find("/routes"), std::string::npos) << v;
    EXPECT_EQ(v.find("gitgate"), std::string::npos) << v;
  }
  EXPECT_EQ(agent_vol.at(0), "/srv/work/app:/workspace");
  EXPECT_EQ(agent_vol.at(1), state + "/agent:/run/bottle:ro");
  // The agent's command registers supervise, then execs claude ($ escaped).
  const auto cmd = strings(agent["command"]);
  ASSERT_EQ(cmd.size(), 5u);
  EXPECT_NE(cmd[2].find("exec \"$$@\""), std::string::npos) << cmd[2];
  EXPECT_EQ(agent["depends_on"]["sidecars"]["condition"].Scalar(), "service_healthy");
  EXPECT_EQ(sidecars["labels"][kSlugLabel].Scalar(), "impl-1a2b3c");
  // The env names `docker compose` needs, and where bottle takes each value from.
  std::vector<std::string> names;
  for (const auto& n : compose_env_names(r->plan)) names.push_back(n.name + "<" + n.from);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "EGRESS_TOKEN_0<BOTTLE_CLAUDE_TOKEN", "EGRESS_TOKEN_1<GH_TOKEN",
                       "EGRESS_SECRET_0<OPS_DB_PASSWORD", "GITGATE_SECRET_0<OPS_DB_PASSWORD",
                       "ASK<", "FROM_HOST<HOST_VAR"}));
}

TEST(ContainerRender, BundleConfigsLoadInTheirDaemons) {
  auto r = render_setup("docker");
  const InitLayout l = container_init_layout(r->target.slug, true);
  const std::string init_yaml = render_init_yaml(r->plan, l);
  ExpectGolden("container_init.yaml", init_yaml);
  EXPECT_EQ(init_yaml.find("inherit_fds"), std::string::npos);
  EXPECT_NE(init_yaml.find("\"--listen\", \"0.0.0.0:9099\""), std::string::npos) << init_yaml;
#ifdef BOTTLE_HAVE_INIT_LIB
  auto parsed = init::parse_init_config(init_yaml, "init.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(parsed->daemons.at("egress").argv.front(), "/usr/local/bin/bottle-egress");
  EXPECT_TRUE(parsed->daemons.at("gitgate").inherit_fds.empty());
  // Routes changed under init (a ConfigMap swap, a bind-mounted directory) reload egress.
  EXPECT_EQ(parsed->daemons.at("egress").reload_on_change, "/etc/bottle/routes");
  EXPECT_EQ(parsed->daemons.at("supervise").reload_on_change, "");
#endif
  EXPECT_NE(init_yaml.find("\"--routes\", \"/etc/bottle/routes/routes.yaml\", \"--init-ctl\""),
            std::string::npos)
      << "docker: supervise's approvals write the bound routes directory";
  auto gate = config::parse_gate_config(
      render_gitgate_yaml(r->plan, container_gitgate_layout(r->target.slug, true)), "gitgate.yaml",
      config::GateLoadOptions{
          .env = [](const std::string&) -> std::optional<std::string> { return "v"; }});
  ASSERT_TRUE(gate.ok()) << gate.error();
  EXPECT_EQ((*gate)->repos.at(0).key_file, "/etc/bottle/gitgate-keys/app");
}

// Runs `cmd` with a shell; returns its exit code and output (stdout + stderr).
int run(const std::string& cmd, std::string& output) {
  output.clear();
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ContainerRender, DockerComposeAcceptsTheFile) {
  std::string out;
  if (run("docker-compose version", out) != 0)
    BOTTLE_SKIP() << "docker-compose not installed (scripts/install-deps installs it)";
  auto r = render_setup("docker");
  TestHome dir;
  const std::string file = dir.root() + "/docker-compose.yaml";
  std::ofstream(file) << render_compose(r->plan, r->target);
  // `config` validates against compose's schema and resolves the file as `up` would;
  // the slots come from its environment, as bottle passes them.
  const std::string env =
      "EGRESS_TOKEN_0=a EGRESS_TOKEN_1=b EGRESS_SECRET_0=c GITGATE_SECRET_0=d ASK=e FROM_HOST=f ";
  ASSERT_EQ(run(env + "docker-compose -p bottle-impl-1a2b3c -f " + file + " config -q", out), 0)
      << out;
  ASSERT_EQ(run(env + "docker-compose -p bottle-impl-1a2b3c -f " + file + " config", out), 0)
      << out;
  YAML::Node resolved = YAML::Load(out);
  // A literal `$` survives interpolation (compose prints it re-escaped as `$$`); unescaped,
  // `$HOST_VAR`-like text would have been replaced by compose's environment.
  EXPECT_EQ(resolved["services"]["agent"]["environment"]["FOO"].Scalar(), "price $$5");
  EXPECT_EQ(resolved["services"]["agent"]["environment"]["FROM_HOST"].Scalar(), "f");
  EXPECT_EQ(resolved["services"]["sidecars"]["environment"]["EGRESS_TOKEN_0"].Scalar(), "a");
  EXPECT_TRUE(resolved["networks"]["internal"]["internal"].as<bool>());
  // A broken file is refused: the check can fail.
  std::ofstream(file) << "services:\n  agent:\n    networks: 7\n";
  EXPECT_NE(run("docker-compose -f " + file + " config -q", out), 0);
}

std::vector<YAML::Node> documents(const std::string& text) {
  return YAML::LoadAll(text);
}

YAML::Node find(const std::vector<YAML::Node>& docs, const std::string& kind,
                const std::string& name) {
  for (const auto& d : docs) {
    if (d["kind"].Scalar() == kind && d["metadata"]["name"].Scalar() == name) return d;
  }
  ADD_FAILURE() << "no " << kind << " " << name;
  return YAML::Node();
}

ContainerTarget with_ip(ContainerTarget t) {
  t.bundle_ip = "10.96.12.34";
  return t;
}

TEST(ContainerRender, K8sGolden) {
  auto r = render_setup("k8s");
  ExpectGolden("k8s.yaml",
               replace_all(render_k8s(r->plan, with_ip(r->target)), r->home.home(), "<home>"));
}

TEST(ContainerRender, K8sSecretsReachOnlyTheBundle) {
  set_canaries();
  auto r = render_setup("k8s");
  const std::string text = render_k8s(r->plan, with_ip(r->target));
  expect_no_secret(text);
  const auto docs = documents(text);
  // Every Secret is rendered without data.
  int secrets = 0;
  for (const auto& d : docs) {
    if (d["kind"].Scalar() != "Secret") continue;
    ++secrets;
    EXPECT_FALSE(d["data"].IsDefined() || d["stringData"].IsDefined()) << d["metadata"]["name"];
  }
  EXPECT_EQ(secrets, 3);  // tokens, CA, git keys
  // Which container sees which secret: the bundle all three, the agent none.
  const YAML::Node bundle =
      find(docs, "Deployment", "bottle-impl-1a2b3c")["spec"]["template"]["spec"];
  const YAML::Node agent = find(docs, "Pod", "bottle-impl-1a2b3c-agent")["spec"];
  std::vector<std::string> bundle_secrets, agent_refs;
  for (const auto& v : bundle["volumes"])
    if (v["secret"]) bundle_secrets.push_back(v["secret"]["secretName"].Scalar());
  for (const auto& e : bundle["containers"][0]["env"])
    if (e["valueFrom"] && e["valueFrom"]["secretKeyRef"])
      bundle_secrets.push_back(e["valueFrom"]["secretKeyRef"]["name"].Scalar());
  EXPECT_NE(std::find(bundle_secrets.begin(), bundle_secrets.end(), "bottle-impl-1a2b3c-tokens"),
            bundle_secrets.end());
  EXPECT_NE(std::find(bundle_secrets.begin(), bundle_secrets.end(), "bottle-impl-1a2b3c-ca"),
            bundle_secrets.end());
  const std::string agent_text = config::to_yaml_text(agent);
  EXPECT_EQ(agent_text.find("secret"), std::string::npos) << agent_text;
  EXPECT_EQ(agent_text.find("EGRESS_TOKEN"), std::string::npos);
  // The agent: no DNS, the bundle's names pinned to its Service, hardened.
  EXPECT_EQ(agent["dnsPolicy"].Scalar(), "None");
  EXPECT_EQ(agent["hostAliases"][0]["ip"].Scalar(), "10.96.12.34");
  EXPECT_EQ(strings(agent["hostAliases"][0]["hostnames"]),
            (std::vector<std::string>{"egress", "git-gate", "supervise"}));
  for (const YAML::Node& c : {agent["containers"][0], bundle["containers"][0]}) {
    EXPECT_EQ(c["securityContext"]["runAsNonRoot"].Scalar(), "true");
    EXPECT_EQ(c["securityContext"]["readOnlyRootFilesystem"].Scalar(), "true");
    EXPECT_EQ(strings(c["securityContext"]["capabilities"]["drop"]),
              std::vector<std::string>{"ALL"});
    EXPECT_EQ(c["securityContext"]["seccompProfile"]["type"].Scalar(), "RuntimeDefault");
    EXPECT_TRUE(c["resources"]["limits"]["memory"].IsDefined());
  }
}

// The bundle's init.yaml in the ConfigMap: init watches the routes mount; supervise is not
// handed the read-only routes file to write approvals into.
TEST(ContainerRender, K8sBundleReloadsOnRouteChangesAndSuperviseDoesNotWriteThem) {
  auto r = render_setup("k8s");
  const auto docs = documents(render_k8s(r->plan, with_ip(r->target)));
  const std::string init_yaml =
      find(docs, "ConfigMap", "bottle-impl-1a2b3c-config")["data"]["init.yaml"].Scalar();
  EXPECT_NE(init_yaml.find("reload_on_change: \"/etc/bottle/routes\""), std::string::npos)
      << init_yaml;
  const size_t sv = init_yaml.find("bottle-supervise");
  ASSERT_NE(sv, std::string::npos);
  const std::string supervise = init_yaml.substr(sv, init_yaml.find('\n', sv) - sv);
  EXPECT_EQ(supervise.find("\"--routes\""), std::string::npos) << supervise;
  EXPECT_EQ(supervise.find("--init-ctl"), std::string::npos) << supervise;
  // ...and takes route requests all the same: `bottle proposals approve` applies them.
  EXPECT_NE(supervise.find("\"--routes-by-operator\""), std::string::npos) << supervise;
  EXPECT_NE(supervise.find("--egress-admin"), std::string::npos) << supervise;
}

TEST(ContainerRender, K8sNetworkPoliciesConfineTheAgent) {
  auto r = render_setup("k8s");
  const auto docs = documents(render_k8s(r->plan, with_ip(r->target)));
  const YAML::Node agent = find(docs, "NetworkPolicy", "bottle-impl-1a2b3c-agent")["spec"];
  EXPECT_EQ(agent["podSelector"]["matchLabels"]["bot-bottle.dev/component"].Scalar(), "agent");
  EXPECT_EQ(strings(agent["policyTypes"]), (std::vector<std::string>{"Ingress", "Egress"}));
  ASSERT_EQ(agent["egress"].size(), 1u);
  EXPECT_EQ(agent["egress"][0]["to"][0]["podSelector"]["matchLabels"]["bot-bottle.dev/component"]
                .Scalar(),
            "bundle");
  std::vector<std::string> ports;
  for (const auto& p : agent["egress"][0]["ports"]) ports.push_back(p["port"].Scalar());
  EXPECT_EQ(ports, (std::vector<std::string>{"9099", "9418", "9419", "9100"}));  // no 53
  EXPECT_EQ(agent["ingress"].size(), 0u);
  const YAML::Node bundle = find(docs, "NetworkPolicy", "bottle-impl-1a2b3c")["spec"];
  ASSERT_EQ(bundle["egress"].size(), 1u);
  EXPECT_EQ(bundle["egress"][0].size(), 0u);  // {}: anywhere
  EXPECT_EQ(
      bundle["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["bot-bottle.dev/component"]
          .Scalar(),
      "agent");
  // The routes ConfigMap is mounted as a directory (no subPath: updates reach it).
  const YAML::Node c =
      find(docs, "Deployment", "bottle-impl-1a2b3c")["spec"]["template"]["spec"]["containers"][0];
  bool routes_dir = false;
  for (const auto& m : c["volumeMounts"])
    routes_dir |= m["mountPath"].Scalar() == "/etc/bottle/routes" && !m["subPath"];
  EXPECT_TRUE(routes_dir);
  // Without the Service address the agent Pod is left out, with a note how to get it.
  const std::string bundle_only = render_k8s(r->plan, r->target);
  EXPECT_EQ(bundle_only.find("kind: Pod"), std::string::npos);
  EXPECT_NE(bundle_only.find("--bundle-ip"), std::string::npos);
}

// The Kubernetes schemas (tests/orchestrator/k8s-schemas) accept what we render and refuse
// what the API would.
TEST(ContainerRender, K8sObjectsMatchTheKubernetesSchemas) {
  std::string out;
  if (run("python3 -c 'import jsonschema, yaml'", out) != 0)
    BOTTLE_SKIP() << "python3-jsonschema / python3-yaml missing (scripts/install-deps)";
  const std::string validate = std::string(BOTTLE_K8S_VALIDATE) + " " + BOTTLE_K8S_SCHEMAS + " ";
  TestHome dir;
  const std::string file = dir.root() + "/k8s.yaml";
  for (const char* backend_case : {"full", "bundle-only", "command"}) {
    std::unique_ptr<Rendered> r;
    if (std::string(backend_case) == "command") {
      r = std::make_unique<Rendered>();
      r->home.bottle("plain", "---\nsupervise: false\n---\n");
      r->home.agent("x", "---\nbottle: plain\nprovider: command\ncommand: [make, test]\n---\n");
      PlanOptions o;
      o.backend = "k8s";
      r->plan = *make_plan(*load_manifest(r->home.dirs(), "x"), o);
      r->target.slug = "x-00ff00";
    } else {
      r = render_setup("k8s");
    }
    ContainerTarget t = std::string(backend_case) == "bundle-only" ? r->target : with_ip(r->target);
    std::ofstream(file) << render_k8s(r->plan, t);
    EXPECT_EQ(run(validate + file, out), 0) << backend_case << ":\n" << out;
  }
  // The check can fail: a wrong type, an unknown field, a bad name.
  std::ofstream(file) << "apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\n"
                         "spec:\n  containers: [{name: a, image: x, tty: \"yes\", bogus: 1}]\n";
  EXPECT_EQ(run(validate + file, out), 1);
  EXPECT_NE(out.find("metadata.name"), std::string::npos) << out;
  EXPECT_NE(out.find("spec.containers.0.tty"), std::string::npos) << out;
  EXPECT_NE(out.find("'bogus' was unexpected"), std::string::npos) << out;
}

}  // namespace
}  // namespace bottle::orchestrator
