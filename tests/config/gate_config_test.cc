#include "config/gate_config.h"

#include <gtest/gtest.h>

#include <map>

#include "config/route_table.h"

namespace bottle::config {
namespace {

constexpr const char* kEd25519 =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHPc6qDFTajfl6uR9jnS0mJ7JaAEf5ZfwIuIEQCd3YNj";
constexpr const char* kEcdsa =
    "ecdsa-sha2-nistp256 "
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHnCFaXugQ6sZZ5Z91YQOtoi4u3yaSbu"
    "nM31pb7Rbl92ZyLgWJdE0T54mEPECH2p8kAi2qhYf8lyy/mbSM4dWuo=";

std::string repo_yaml(const std::string& extra = "", const std::string& key = "/keys/app") {
  return "repos:\n"
         "  - name: app\n"
         "    upstream: ssh://git@git.example.com:2222/org/app.git\n"
         "    host_key: \"" +
         std::string(kEd25519) +
         " comment\"\n"
         "    key: " +
         key + "\n" + extra;
}

std::string error_of(const std::string& yaml, const GateLoadOptions& o = {}) {
  auto c = parse_gate_config(yaml, "gitgate.yaml", o);
  return c.ok() ? "" : c.error();
}

TEST(SshUrl, ParsesBothSpellings) {
  auto a = parse_ssh_url("ssh://git@git.example.com:2222/org/app.git");
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ(a->user, "git");
  EXPECT_EQ(a->host, "git.example.com");
  EXPECT_EQ(a->port, 2222);
  EXPECT_EQ(a->path, "/org/app.git");
  EXPECT_FALSE(a->scp_like);
  auto b = parse_ssh_url("git@github.com:org/app.git");
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_EQ(b->host, "github.com");
  EXPECT_EQ(b->port, 22);
  EXPECT_EQ(b->path, "org/app.git");
  EXPECT_TRUE(b->scp_like);
  auto v6 = parse_ssh_url("ssh://[::1]:2200/srv/app.git");
  ASSERT_TRUE(v6.ok()) << v6.error();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 2200);
  auto v6scp = parse_ssh_url("git@[::1]:srv/app.git");
  ASSERT_TRUE(v6scp.ok()) << v6scp.error();
  EXPECT_EQ(v6scp->host, "::1");
  EXPECT_EQ(v6scp->path, "srv/app.git");
}

TEST(SshUrl, RefusesWhatSshWouldReadAsAnOptionOrWhatIsNotSsh) {
  for (const char* bad :
       {"ssh://-oProxyCommand=touch%20x/app.git", "-oProxyCommand=x:app.git", "x::y@host:path",
        "https://github.com/org/app.git", "file:///srv/app.git", "ext::sh -c x", "/srv/app.git",
        "host/with:colon", "ssh://host", "ssh://host/", "ssh://host:99999/x", "ssh://host:/x",
        "ssh://-git@host/x", "git@host:", "ssh://host/a\nb"}) {
    EXPECT_FALSE(parse_ssh_url(bad).ok()) << bad;
  }
  EXPECT_NE(
      parse_ssh_url("https://github.com/org/app.git").error().find("scheme 'https' is not ssh"),
      std::string::npos);
  EXPECT_NE(parse_ssh_url("ext::sh -c x").error().find("remote helper"), std::string::npos);
}

TEST(SshUrl, EquivalentSpellingsForTheAgentsRewrites) {
  auto a = parse_ssh_url("ssh://git@github.com/org/app.git");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(
      a->equivalent_urls(),
      (std::vector<std::string>{"git@github.com:org/app.git", "ssh://git@github.com/org/app.git",
                                "ssh://git@github.com:22/org/app.git"}));
  auto b = parse_ssh_url("git@github.com:org/app.git");
  EXPECT_EQ(b->equivalent_urls(), (std::vector<std::string>{"ssh://git@github.com/org/app.git"}));
  EXPECT_TRUE(parse_ssh_url("ssh://git@h:2222/x.git")->equivalent_urls().empty());
}

TEST(HostKey, AcceptsKnownTypesWhoseBlobNamesTheType) {
  auto k = parse_host_key(std::string(kEd25519) + " user@host");
  ASSERT_TRUE(k.ok()) << k.error();
  EXPECT_EQ(*k, kEd25519);  // comment dropped
  EXPECT_TRUE(parse_host_key(kEcdsa).ok()) << parse_host_key(kEcdsa).error();
}

TEST(HostKey, RefusesAKnownHostsLineATruncatedBlobOrAMismatchedType) {
  EXPECT_NE(
      parse_host_key(std::string("github.com ") + kEd25519).error().find("without the host name"),
      std::string::npos);
  EXPECT_FALSE(parse_host_key("ssh-ed25519 AAAA").ok());
  EXPECT_FALSE(parse_host_key("ssh-ed25519").ok());
  EXPECT_FALSE(parse_host_key("").ok());
  // An ecdsa blob labelled ed25519.
  std::string swapped = std::string("ssh-ed25519 ") + (kEcdsa + std::string(kEcdsa).find(' ') + 1);
  EXPECT_NE(parse_host_key(swapped).error().find("not a ssh-ed25519 key"), std::string::npos);
  EXPECT_FALSE(
      parse_host_key(
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI!Pc6qDFTajfl6uR9jnS0mJ7JaAEf5ZfwIuIEQCd3YNj")
          .ok());
}

TEST(GateConfig, ParsesReposDlpAndTimeouts) {
  auto c = parse_gate_config(
      repo_yaml(
          "dlp: {outbound: warn, max_body_bytes: 1024, known_secrets_env: [GITGATE_SECRET_0]}\n"
          "timeouts: {request_ms: 250, idle_ms: 9000}\n"),
      "gitgate.yaml");
  ASSERT_TRUE(c.ok()) << c.error();
  const GateConfig& g = **c;
  ASSERT_EQ(g.repos.size(), 1u);
  EXPECT_EQ(g.repos[0].name, "app");
  EXPECT_EQ(g.repos[0].url.port, 2222);
  EXPECT_EQ(g.repos[0].host_key, kEd25519);
  EXPECT_EQ(g.repos[0].key_file, "/keys/app");
  EXPECT_EQ(g.repos[0].line, 2);
  EXPECT_EQ(g.dlp.outbound, DlpAction::warn);
  EXPECT_EQ(g.dlp.max_body_bytes, 1024u);
  EXPECT_EQ(g.known_secrets_env, std::vector<std::string>{"GITGATE_SECRET_0"});
  EXPECT_EQ(g.timeouts.request_ms, 250u);
  EXPECT_EQ(g.timeouts.idle_ms, 9000u);
  EXPECT_EQ(g.find("app"), &g.repos[0]);
  EXPECT_EQ(g.find("nope"), nullptr);
}

TEST(GateConfig, ProposalsNameAQueueAndABoundedWait) {
  auto c = parse_gate_config(
      repo_yaml("proposals: {queue: /s/proposals, wait_ms: 1500, bottle: dev-1}\n"),
      "gitgate.yaml");
  ASSERT_TRUE(c.ok()) << c.error();
  ASSERT_TRUE((*c)->proposals.has_value());
  EXPECT_EQ((*c)->proposals->queue, "/s/proposals");
  EXPECT_EQ((*c)->proposals->wait_ms, 1500u);
  EXPECT_EQ((*c)->proposals->bottle, "dev-1");
  EXPECT_FALSE((*parse_gate_config(repo_yaml(), "g.yaml"))->proposals.has_value());
  EXPECT_EQ(error_of(repo_yaml("proposals: {queue: rel/dir}\n")),
            "gitgate.yaml:6:20: 'proposals' needs 'queue: <absolute path of the proposal queue "
            "directory>'");
  EXPECT_EQ(error_of(repo_yaml("proposals: {queue: /q, wait_ms: 0}\n")),
            "gitgate.yaml:6:33: 'wait_ms' must be between 1 and 86400000 (got 0)");
}

TEST(GateConfig, KeyIsAFileOrAnEnvSlotThatMustBeSetForTheDaemon) {
  auto c = parse_gate_config(repo_yaml("", "GIT_KEY_0"), "gitgate.yaml");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ((*c)->repos[0].key_env, "GIT_KEY_0");
  GateLoadOptions with_env;
  with_env.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  EXPECT_EQ(error_of(repo_yaml("", "GIT_KEY_0"), with_env),
            "gitgate.yaml:5:10: environment variable GIT_KEY_0 is not set");
  EXPECT_EQ(error_of(repo_yaml("", "id_ed25519")),
            "gitgate.yaml:5:10: 'key' must be an absolute file path or an env slot GIT_KEY_<n> "
            "(got 'id_ed25519')");
  EXPECT_EQ(error_of(repo_yaml("", "GIT_KEY_X")),
            "gitgate.yaml:5:10: 'key' must be an absolute file path or an env slot GIT_KEY_<n> "
            "(got 'GIT_KEY_X')");
}

TEST(GateConfig, ErrorsNameFileLineAndColumn) {
  const std::map<std::string, std::string> cases = {
      {"repos:\n  - name: app\n    upstream: ssh://h/x.git\n    key: /k\n",
       "gitgate.yaml:2:5: repo 'app' is missing 'host_key' (the upstream's pinned ssh host key; "
       "the gate never "
       "trusts a key on first use)"},
      {"repos:\n  - name: ../etc\n",
       "gitgate.yaml:2:11: repo name '../etc' must match [A-Za-z0-9._-]+"},
      {"repos:\n  - name: app.git\n",
       "gitgate.yaml:2:11: repo name 'app.git' must not end in .git (the gate serves it as "
       "/app.git.git)"},
      {"repos:\n  - name: app\n    upstream: https://github.com/o/a.git\n",
       "gitgate.yaml:3:15: bad upstream 'https://github.com/o/a.git': scheme 'https' is not ssh "
       "(expected "
       "ssh://[user@]host[:port]/path or [user@]host:path)"},
      {"repos:\n  - name: app\n    upstrem: x\n",
       "gitgate.yaml:3:5: unknown key 'upstrem' in repo (did you mean 'upstream'?)"},
      {"repos:\n  - name: app\n    upstream: ssh://h/x.git\n    host_key: ssh-ed25519 AAAA\n",
       "gitgate.yaml:4:15: host_key: the base64 part is not a ssh-ed25519 key"},
      {"repo: []\n",
       "gitgate.yaml:1:1: unknown key 'repo' in gitgate file (did you mean 'repos'?)"},
      {"dlp: {}\n", "gitgate.yaml:1:1: missing 'repos' (the list of repos the gate fronts)"},
      {"", "gitgate.yaml:1:1: empty gitgate file (expected 'repos:')"},
      {"repos: {}\n", "gitgate.yaml:1:8: 'repos' must be a list"},
      {"repos: []\ndlp: {inbound: block}\n", "gitgate.yaml:2:7: unknown key 'inbound' in dlp"},
      {"repos: []\ndlp: {outbound: deny}\n",
       "gitgate.yaml:2:17: 'outbound' must be one of block | warn | off (got 'deny')"},
      {"repos: []\ndlp: {known_secrets_env: [lower]}\n",
       "gitgate.yaml:2:27: 'lower' is not an environment variable name ([A-Z_][A-Z0-9_]*)"},
      {"repos: []\ntimeouts: {request_ms: 0}\n",
       "gitgate.yaml:2:24: 'request_ms' must be between 1 and 3600000 (got 0)"},
  };
  for (const auto& [yaml, want] : cases) EXPECT_EQ(error_of(yaml), want) << yaml;
  std::string dup = repo_yaml() + repo_yaml().substr(std::string("repos:\n").size());
  EXPECT_EQ(error_of(dup), "gitgate.yaml:6:5: duplicate repo name 'app' (first at line 2)");
}

TEST(GateConfig, SharesTheDlpSectionWithRoutesYaml) {
  // The same key is read by the same loader in both files.
  auto routes =
      parse_routes("dlp: {outbound: warn, max_body_bytes: 5}\nroutes: []\n", "routes.yaml");
  ASSERT_TRUE(routes.ok()) << routes.error();
  auto gate =
      parse_gate_config("repos: []\ndlp: {outbound: warn, max_body_bytes: 5}\n", "gitgate.yaml");
  ASSERT_TRUE(gate.ok()) << gate.error();
  EXPECT_EQ((*routes)->default_dlp.outbound, (*gate)->dlp.outbound);
  EXPECT_EQ((*routes)->default_dlp.max_body_bytes, (*gate)->dlp.max_body_bytes);
  // Route-level dlp still refuses the file-level list.
  auto per_route = parse_routes("routes:\n  - host: a.example\n    dlp: {known_secrets_env: [X]}\n",
                                "routes.yaml");
  ASSERT_FALSE(per_route.ok());
  EXPECT_NE(per_route.error().find("unknown key 'known_secrets_env' in route dlp"),
            std::string::npos)
      << per_route.error();
}

}  // namespace
}  // namespace bottle::config
