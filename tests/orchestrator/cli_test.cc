// The `bottle` binary through its real interface: exit codes, one-line errors, and the
// verbs that never start anything (--dry-run, info, render, usage errors).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/orchestrator/e2e_support.h"
#include "tests/orchestrator/test_home.h"

namespace bottle::orchestrator {
namespace {

using testing::run_bottle;
using testing::TestHome;

const char* kBottle =
    "---\nsupervise: false\nenv: {ASK: \"?prompt\", FOO: bar}\negress:\n  routes:\n"
    "    - host: api.example.com\n      auth: {scheme: Bearer, token_ref: CLI_TEST_TOKEN}\n---\n";
const char* kAgent = "---\nbottle: dev\nprovider: command\ncommand: [\"true\"]\n---\n";

TEST(Cli, HelpAndVersionExitZero) {
  TestHome h;
  EXPECT_EQ(run_bottle(h.home(), {"--help"}).exit_code, 0);
  auto v = run_bottle(h.home(), {"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("0.1.0"), std::string::npos);
}

TEST(Cli, UsageErrorsExitTwo) {
  TestHome h;
  auto r = run_bottle(h.home(), {"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("bottle: usage: ", 0), 0u) << r.err;
  EXPECT_EQ(run_bottle(h.home(), {"run"}).exit_code, 2);
  EXPECT_EQ(run_bottle(h.home(), {"routes", "frob", "x"}).exit_code, 2);
}

TEST(Cli, DryRunPrintsThePlanAndTouchesNothing) {
  TestHome h;
  h.bottle("dev", kBottle);
  h.agent("impl", kAgent);
  auto r = run_bottle(h.home(), {"run", "impl", "--dry-run", "--", "echo", "hi"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("command:   echo hi"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("api.example.com [auth:Bearer from $CLI_TEST_TOKEN]"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("ASK (asked at start), FOO"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("bar"), std::string::npos) << "env values must not be printed";
  EXPECT_FALSE(std::filesystem::exists(h.home() + "/state"));
}

TEST(Cli, ManifestErrorsAreOneLineWithPathAndExitOne) {
  TestHome h;
  h.bottle("dev", kBottle);
  h.agent("impl", "---\nbottle: dev\nprovidr: command\n---\n");
  auto r = run_bottle(h.home(), {"info", "impl"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "bottle: " + h.agent_path("impl") +
                       ":3:1: unknown key 'providr' in agent (did you mean 'provider'?)\n");
}

TEST(Cli, RenderRoutesPrintsTokenSlotsNotValues) {
  TestHome h;
  h.bottle("dev", kBottle);
  h.agent("impl", kAgent);
  auto r = run_bottle(h.home(), {"render", "impl", "--format", "routes"},
                      {"CLI_TEST_TOKEN=s3cret-value"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("token_env: \"EGRESS_TOKEN_0\""), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("s3cret-value"), std::string::npos);
}

TEST(Cli, ContainerBackendsWithoutTheirToolsAreAClearError) {
  TestHome h;
  h.bottle("dev", kBottle);
  h.agent("impl", kAgent);
  // An empty PATH: no docker, no docker-compose next to bottle or on it.
  auto r = run_bottle(h.home(), {"run", "impl", "--backend", "docker", "--", "true"},
                      {"PATH=" + h.root()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.substr(r.err.rfind("bottle: ")),
            "bottle: docker not found on PATH (see bottle doctor --backend docker)\n");
  auto env = run_bottle(h.home(), {"run", "impl", "--", "true"}, {"BOTTLE_BACKEND=k8s"});
  EXPECT_EQ(env.exit_code, 1);
  EXPECT_NE(env.err.find("bottle run: not on k8s"), std::string::npos) << env.err;
  EXPECT_EQ(
      run_bottle(h.home(), {"run", "impl", "--backend", "firecracker", "--", "true"}).exit_code, 2);
  // vm is implemented (issue 16): its plan shows the guest's resources.
  auto vm = run_bottle(h.home(), {"run", "impl", "--backend", "vm", "--dry-run", "--", "true"});
  EXPECT_EQ(vm.exit_code, 0) << vm.err;
  EXPECT_NE(vm.out.find("backend:   vm (1G, 1 cpu)"), std::string::npos) << vm.out;
}

TEST(Cli, RenderComposeAndK8sPrintNoTokenValue) {
  TestHome h;
  h.bottle("dev", kBottle);
  h.agent("impl", kAgent);
  auto compose = run_bottle(h.home(), {"render", "impl", "--format", "compose", "--cwd", "/srv/w"},
                            {"CLI_TEST_TOKEN=s3cret-value"});
  EXPECT_EQ(compose.exit_code, 0) << compose.err;
  EXPECT_NE(compose.out.find("      - EGRESS_TOKEN_0\n"), std::string::npos) << compose.out;
  EXPECT_NE(compose.out.find("\"/srv/w:/workspace\""), std::string::npos) << compose.out;
  EXPECT_NE(compose.out.find("dev.bot-bottle.slug: \"impl\""), std::string::npos);
  auto k8s = run_bottle(h.home(),
                        {"render", "impl", "--format", "k8s", "--label", "team-a", "--namespace",
                         "bots", "--bundle-ip", "10.0.0.5"},
                        {"CLI_TEST_TOKEN=s3cret-value"});
  EXPECT_EQ(k8s.exit_code, 0) << k8s.err;
  EXPECT_NE(k8s.out.find("name: \"bottle-team-a-agent\""), std::string::npos) << k8s.out;
  EXPECT_NE(k8s.out.find("namespace: \"bots\""), std::string::npos);
  for (const auto& out : {compose.out, k8s.out})
    EXPECT_EQ(out.find("s3cret-value"), std::string::npos);
  EXPECT_EQ(run_bottle(h.home(), {"render", "impl", "--format", "helm"}).exit_code, 2);
}

// A fake `docker` (and docker-compose) first on PATH: the doctor's docker checks, and
// docker's own words when the daemon does not answer.
TEST(Cli, DoctorDockerChecksTheCliComposeAndTheDaemon) {
  TestHome h;
  const std::string bin = h.root() + "/fakebin";
  std::filesystem::create_directories(bin);
  auto script = [&](const std::string& name, const std::string& body) {
    std::ofstream(bin + "/" + name) << "#!/bin/sh\n" << body;
    std::filesystem::permissions(bin + "/" + name, std::filesystem::perms::owner_all);
  };
  script("docker",
         "case \"$1\" in\n"
         "  compose) exit 1 ;;\n"
         "  info) echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is "
         "the docker daemon running?' >&2; exit 1 ;;\n"
         "esac\n");
  script("docker-compose", "echo 1.29.2\n");
  const std::string path = "PATH=" + bin + ":/usr/bin:/bin";
  auto down = run_bottle(h.home(), {"doctor", "--backend", "docker"}, {path});
  EXPECT_EQ(down.exit_code, 1) << down.out << down.err;
  EXPECT_NE(down.out.find("ok   docker         " + bin + "/docker\n"), std::string::npos)
      << down.out;
  EXPECT_NE(down.out.find("ok   compose        v1 (" + bin + "/docker-compose 1.29.2)"),
            std::string::npos)
      << down.out;
  EXPECT_NE(down.out.find("FAIL docker daemon  Cannot connect to the Docker daemon at "
                          "unix:///var/run/docker.sock"),
            std::string::npos)
      << down.out;
  EXPECT_NE(down.out.find("fix: start it (systemctl start docker)"), std::string::npos);
  script("docker", "case \"$1\" in\n  compose) echo 2.24.0 ;;\n  info) echo 24.0.7 ;;\nesac\n");
  auto up = run_bottle(h.home(), {"doctor", "--backend", "docker"}, {path});
  EXPECT_EQ(up.exit_code, 0) << up.out;
  EXPECT_NE(up.out.find("ok   compose        v2 (docker compose 2.24.0)"), std::string::npos)
      << up.out;
  EXPECT_NE(up.out.find("ok   docker daemon  server 24.0.7"), std::string::npos) << up.out;
  EXPECT_EQ(run_bottle(h.home(), {"doctor", "--backend", "k8s"}).exit_code, 2);
}

TEST(Cli, PromptEnvInANonInteractiveRunFailsBeforeAnythingStarts) {
  TestHome h;
  h.bottle("dev", kBottle);
  h.agent("impl", kAgent);
  auto r = run_bottle(h.home(), {"run", "impl", "--", "true"}, {"CLI_TEST_TOKEN=x"});
  EXPECT_EQ(r.exit_code, 1);
  if (r.err.find("needs root") == std::string::npos &&
      r.err.find("not found") == std::string::npos) {
    EXPECT_NE(r.err.find("env ASK is \"?prompt\" but there is no terminal"), std::string::npos)
        << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(h.home() + "/state"));
}

TEST(Cli, MissingCredentialVariableFailsBeforeAnythingStarts) {
  TestHome h;
  h.bottle("dev",
           "---\nsupervise: false\negress:\n  routes:\n    - host: api.example.com\n"
           "      auth: {scheme: Bearer, token_ref: CLI_TEST_UNSET_TOKEN}\n---\n");
  h.agent("impl", kAgent);
  auto r = run_bottle(h.home(), {"run", "impl", "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  if (r.err.find("needs root") == std::string::npos &&
      r.err.find("not found") == std::string::npos) {
    EXPECT_NE(r.err.find("CLI_TEST_UNSET_TOKEN is not set"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(h.home() + "/state"));
}

TEST(Cli, WorkspaceMustNotExposeBottleState) {
  TestHome h;
  h.bottle("dev", "---\nsupervise: false\n---\n");
  h.agent("impl", kAgent);
  auto r = run_bottle(h.home(), {"run", "impl", "--cwd", h.home(), "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  if (r.err.find("needs root") == std::string::npos) {
    EXPECT_NE(r.err.find("would expose bottle state"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(h.home() + "/state"));
}

TEST(Cli, DoctorNamesEveryCheckAndTheFixForFailures) {
  TestHome h;
  auto r = run_bottle(h.home(), {"doctor"});
  for (const char* check : {"root", "ip", "bwrap", "bottle-egress", "bottle-init"}) {
    EXPECT_NE(r.out.find(std::string(" ") + check + " "), std::string::npos) << check << "\n"
                                                                             << r.out;
  }
  const bool any_fail = r.out.find("FAIL") != std::string::npos;
  EXPECT_EQ(r.exit_code, any_fail ? 1 : 0) << r.out;
  EXPECT_EQ(any_fail, r.out.find("fix: ") != std::string::npos) << r.out;
}

TEST(Cli, MissingAgentProgramFailsBeforeAnythingStarts) {
  TestHome h;
  h.bottle("dev", "---\nsupervise: false\n---\n");
  h.agent("impl", "---\nbottle: dev\nprovider: claude\n---\n");
  auto r = run_bottle(h.home(), {"run", "impl", "--", "no-such-agent-program"});
  EXPECT_EQ(r.exit_code, 1);
  if (r.err.find("needs root") == std::string::npos &&
      r.err.find("not found (see") == std::string::npos) {
    EXPECT_NE(r.err.find("agent command 'no-such-agent-program' is not installed"),
              std::string::npos)
        << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(h.home() + "/state"));
}

TEST(Cli, SlugsCannotBePaths) {
  TestHome h;
  for (const char* verb : {"stop", "logs"}) {
    auto r = run_bottle(h.home(), {verb, "../../etc"});
    EXPECT_EQ(r.exit_code, 2) << verb;
    EXPECT_NE(r.err.find("is not a bottle slug"), std::string::npos) << r.err;
  }
  EXPECT_EQ(run_bottle(h.home(), {"routes", "show", "a/b"}).exit_code, 2);
}

TEST(Cli, StopOfAnUnknownBottleFails) {
  TestHome h;
  auto r = run_bottle(h.home(), {"stop", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("bottle: stop nope: no bottle 'nope'", 0), 0u) << r.err;
}

TEST(Cli, ListIsEmptyWithoutBottles) {
  TestHome h;
  auto r = run_bottle(h.home(), {"list"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "only the header line: " << r.out;
}

}  // namespace
}  // namespace bottle::orchestrator
