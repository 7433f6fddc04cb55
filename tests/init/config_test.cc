#include "init/config.h"

#include <gtest/gtest.h>

namespace bottle::init {
namespace {

TEST(InitConfig, ParsesTheDocumentedExample) {
  auto c = parse_init_config(R"(daemons:
  egress:
    argv: [/usr/local/bin/bottle-egress, --config, /etc/bottle/routes/routes.yaml, --listen, fd:3]
    env: [PATH, HOME, "EGRESS_TOKEN_*", RUST_LOG]
    inherit_fds: [3]
    restart: always
    ready: {http: "127.0.0.1:9098/healthz"}
    reload_signal: true
    reload_on_change: /etc/bottle/routes
  gitgate:
    argv: [/usr/local/bin/bottle-gitgate]
    restart: on-failure
    ready: {tcp: "[::1]:9418"}
)",
                             "init.yaml");
  ASSERT_TRUE(c.ok()) << c.error();
  const DaemonSpec& e = c->daemons.at("egress");
  EXPECT_EQ(e.argv.size(), 5u);
  EXPECT_EQ(e.env_allow[2], "EGRESS_TOKEN_*");
  EXPECT_EQ(e.inherit_fds, std::vector<int>{3});
  EXPECT_EQ(e.ready.kind, ReadyProbe::Kind::http);
  EXPECT_EQ(e.ready.host, "127.0.0.1");
  EXPECT_EQ(e.ready.port, 9098);
  EXPECT_EQ(e.ready.path, "/healthz");
  EXPECT_TRUE(e.reload_signal);
  EXPECT_EQ(e.reload_on_change, "/etc/bottle/routes");
  const DaemonSpec& g = c->daemons.at("gitgate");
  EXPECT_EQ(g.restart, RestartPolicy::on_failure);
  EXPECT_EQ(g.ready.kind, ReadyProbe::Kind::tcp);
  EXPECT_EQ(g.ready.host, "::1");
  EXPECT_FALSE(g.reload_signal);
  EXPECT_EQ(g.reload_on_change, "");
  EXPECT_TRUE(g.env_allow.empty());
}

std::string error_of(const std::string& yaml) {
  auto c = parse_init_config(yaml, "init.yaml");
  return c.ok() ? "(parsed)" : c.error();
}

TEST(InitConfig, ErrorsCarryLineAndColumn) {
  EXPECT_EQ(error_of("daemons:\n  egress:\n    argv: [/bin/true]\n    argz: 1\n"),
            "init.yaml:4:5: unknown key 'argz' in daemon 'egress' (did you mean 'argv'?) "
            "(allowed: argv, env, inherit_fds, ready, reload_on_change, reload_signal, restart)");
  EXPECT_EQ(error_of("daemons:\n  egress:\n    argv: [/bin/true]\n    reload_signal: yes\n"),
            "init.yaml:4:20: daemon 'egress' reload_signal must be true or false");
  EXPECT_EQ(error_of("daemons:\n  egress:\n    argv: [/bin/true]\n    reload_on_change: etc\n"),
            "init.yaml:4:23: daemon 'egress' reload_on_change must be an absolute directory path");
  EXPECT_EQ(error_of("demons: {}\n"),
            "init.yaml:1:1: unknown key 'demons' in the top level (did you mean 'daemons'?) "
            "(allowed: daemons)");
}

TEST(InitConfig, RejectsWrongTypesAndValues) {
  EXPECT_NE(error_of("daemons:\n  x:\n    argv: /bin/true\n")
                .find("init.yaml:3:11: daemon 'x' argv must be a list"),
            std::string::npos);
  EXPECT_NE(error_of("daemons:\n  x:\n    argv: [true]\n").find("absolute path"),
            std::string::npos);
  EXPECT_NE(error_of("daemons:\n  x:\n    argv: []\n").find("must not be empty"),
            std::string::npos);
  EXPECT_NE(error_of("daemons:\n  x: {env: [PATH]}\n").find("needs 'argv'"), std::string::npos);
  EXPECT_NE(error_of("daemons:\n  x: {argv: [/a], restart: sometimes}\n")
                .find("always, on-failure or never"),
            std::string::npos);
  EXPECT_NE(error_of("daemons:\n  x: {argv: [/a], inherit_fds: [2]}\n").find("fd number >= 3"),
            std::string::npos);
  EXPECT_NE(error_of("daemons:\n  x: {argv: [/a], inherit_fds: [3, 3]}\n").find("twice"),
            std::string::npos);
  EXPECT_NE(error_of("daemons:\n  x: {argv: [/a], env: [\"A-B\"]}\n").find("variable name"),
            std::string::npos);
  EXPECT_NE(
      error_of("daemons:\n  x: {argv: [/a], ready: {tcp: \"localhost:1\"}}\n").find("IP:PORT"),
      std::string::npos);
  EXPECT_NE(
      error_of("daemons:\n  x: {argv: [/a], ready: {tcp: \"1.2.3.4:1\", http: \"1.2.3.4:2\"}}\n")
          .find("exactly one"),
      std::string::npos);
  EXPECT_NE(error_of("daemons:\n  x: {argv: [/a], ready: {udp: \"1.2.3.4:1\"}}\n")
                .find("unknown key 'udp'"),
            std::string::npos);
  EXPECT_NE(error_of("daemons:\n  Bad!: {argv: [/a]}\n").find("init.yaml:2:3: daemon name"),
            std::string::npos);
  EXPECT_NE(error_of("daemons:\n  x: {argv: [/a]}\n  x: {argv: [/b]}\n")
                .find("init.yaml:3:3: duplicate key 'x'"),
            std::string::npos);
  EXPECT_NE(error_of("").find("empty config"), std::string::npos);
  // The strict reader's rules hold for init.yaml too.
  EXPECT_EQ(error_of("daemons:\n  x: &a {argv: [/a]}\n  y: *a\n"),
            "init.yaml:2:6: anchors (&name) are not allowed; write the value out");
  EXPECT_EQ(error_of("daemons:\n\tx: {argv: [/a]}\n"),
            "init.yaml:2:1: tab in indentation; indent with spaces");
  EXPECT_NE(error_of("daemons: [\n").find("init.yaml:"), std::string::npos);
}

TEST(InitConfig, SelectsDaemonsFromCsv) {
  auto c = parse_init_config("daemons:\n  egress: {argv: [/a]}\n  gitgate: {argv: [/b]}\n", "f");
  ASSERT_TRUE(c.ok());
  auto s = select_daemons(" gitgate, egress,,gitgate ", *c);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, (std::vector<std::string>{"gitgate", "egress"}));
  EXPECT_TRUE(select_daemons("", *c)->empty());
  auto bad = select_daemons("egress,supervise", *c);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(),
            "BOTTLE_DAEMONS: unknown daemon 'supervise' (configured: egress, gitgate)");
}

}  // namespace
}  // namespace bottle::init
