// The docker and k8s lifecycles through the real `bottle` binary, with a fake `docker`
// (also answering as docker-compose) and a fake `kubectl` first on PATH
// (tests/orchestrator/fakes/): the exact command sequence, token values never on argv or
// in a file, readiness polling, exit status, logs, down, orphans, docker's own errors.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/proposal_queue.h"
#include "common/strings.h"
#include "orchestrator/process.h"
#include "orchestrator/state.h"
#include "tests/orchestrator/e2e_support.h"
#include "tests/orchestrator/test_home.h"
#include "tests/support/support.h"

namespace bottle::orchestrator {
namespace {

namespace fs = std::filesystem;
using testing::run_bottle;
using testing::TestHome;

const char* kToken = "tok-5d41402abc4b2a76b9719d911017c592";

const char* kBottleManifest =
    "---\nsupervise: false\nenv: {FOO: bar, FROM_HOST: \"${AGENT_VALUE}\"}\negress:\n  routes:\n"
    "    - host: api.example.com\n      auth: {scheme: Bearer, token_ref: CLI_TEST_TOKEN}\n---\n";
const char* kAgentManifest = "---\nbottle: dev\nprovider: command\ncommand: [\"true\"]\n---\n";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// A BOTTLE_HOME with the agent, and a bin/ holding the fakes (docker, docker-compose,
// kubectl) and what they record (fake/).
class Fixture {
 public:
  explicit Fixture(bool with_docker = true, bool with_v1 = false, bool with_kubectl = false) {
    h_.bottle("dev", kBottleManifest);
    h_.agent("impl", kAgentManifest);
    fs::create_directories(bin());
    fs::create_directories(fake());
    const std::string src = std::string(BOTTLE_FAKES_DIR);
    if (with_docker) fs::copy_file(src + "/docker", bin() + "/docker");
    if (with_v1) fs::copy_file(src + "/docker", bin() + "/docker-compose");
    if (with_kubectl) fs::copy_file(src + "/kubectl", bin() + "/kubectl");
  }
  std::string home() const { return h_.home(); }
  void bottle_manifest(const std::string& text) const { h_.bottle("dev", text); }
  std::string bin() const { return h_.root() + "/bin"; }
  std::string fake() const { return h_.root() + "/fake"; }
  std::string workspace() const { return h_.project(); }
  std::string state(const std::string& slug) const { return home() + "/state/" + slug; }

  CaptureResult bottle(const std::vector<std::string>& args,
                       std::vector<std::string> env = {}) const {
    env.push_back("PATH=" + bin() + ":/usr/bin:/bin");
    env.push_back("FAKE_DIR=" + fake());
    env.push_back("CLI_TEST_TOKEN=" + std::string(kToken));
    env.push_back("AGENT_VALUE=from-host");
    return run_bottle(home(), args, env, workspace());
  }
  // `bottle args...` as uid:gid (no supplementary groups): an operator who is not root.
  CaptureResult bottle_as(uid_t uid, const std::vector<std::string>& args,
                          std::vector<std::string> env = {}) const {
    std::vector<std::string> argv = {"setpriv", "--reuid=" + std::to_string(uid),
                                     "--regid=" + std::to_string(uid), "--clear-groups", "env",
                                     "-C", workspace(), "BOTTLE_HOME=" + home(),
                                     "PATH=" + bin() + ":/usr/bin:/bin", "FAKE_DIR=" + fake(),
                                     "CLI_TEST_TOKEN=" + std::string(kToken),
                                     "AGENT_VALUE=from-host"};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.push_back(testing::bottle_binary());
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_capture(argv);
    return r ? *r : CaptureResult{-1, "", r.error()};
  }
  // Hands the whole fixture (home, workspace, fakes) to uid.
  void give_to(uid_t uid) const {
    ::chmod(h_.root().c_str(), 0755);
    for (const auto& e : fs::recursive_directory_iterator(h_.root()))
      (void)::lchown(e.path().c_str(), uid, uid);
    (void)::lchown(h_.root().c_str(), uid, uid);
  }
  // `bottle run` in the background until the fake agent waits (metadata says running):
  // polled, bounded.
  Result<ChildProcess> run_waiting(const std::vector<std::string>& extra = {}) const {
    SpawnOptions so;
    so.argv = {"env", "-C", workspace(), "BOTTLE_HOME=" + home(), "PATH=" + bin() + ":/usr/bin:/bin",
               "FAKE_DIR=" + fake(), "CLI_TEST_TOKEN=" + std::string(kToken), "AGENT_VALUE=x",
               "FAKE_AGENT_WAIT=1"};
    so.argv.insert(so.argv.end(), extra.begin(), extra.end());
    so.argv.insert(so.argv.end(),
                   {testing::bottle_binary(), "run", "impl", "--backend", "docker", "--label", "one"});
    so.stdin_null = true;
    so.stdout_file = so.stderr_file = fake() + "/bottle.out";
    auto child = spawn(so);
    if (!child) return Error{child.error()};
    for (int i = 0; i < 400; ++i) {
      auto md = read_metadata(state("one"));
      if (md && md->status == "running" &&
          slurp(fake() + "/envs").find("agent waiting") != std::string::npos)
        return std::move(*child);
      if (child->poll()) break;
      ::usleep(25000);
    }
    return Error{"never running: " + slurp(fake() + "/bottle.out")};
  }

  // Each recorded call, with this home's path shortened to $HOME.
  std::vector<std::string> calls() const {
    std::string text = slurp(fake() + "/calls");
    for (size_t p; (p = text.find(home())) != std::string::npos;)
      text.replace(p, home().size(), "$HOME");
    return lines_of(text);
  }
  // No token value on any argv, in any file under the home (state, compose file, logs).
  void expect_token_nowhere() const {
    EXPECT_EQ(slurp(fake() + "/calls").find(kToken), std::string::npos);
    for (const auto& e : fs::recursive_directory_iterator(home())) {
      if (e.is_regular_file()) {
        EXPECT_EQ(slurp(e.path()).find(kToken), std::string::npos) << e.path();
      }
    }
  }

 private:
  TestHome h_;
};

const std::string kCompose = "docker compose -p bottle-one -f $HOME/state/one/docker-compose.yaml";

// docker's client runs on a pty of bottle's, so what the containerised agent prints reaches
// the operator's terminal through the same filter as a local agent's: colours and titles
// pass, clipboard and passthrough sequences do not. Run under script(1), so bottle's
// stdout is a terminal.
TEST(DockerBackend, TheAgentsOutputReachesATerminalFiltered) {
  Fixture f;
  std::string command =
      "env -C " + shell_quote(f.workspace()) + " BOTTLE_HOME=" + shell_quote(f.home()) +
      " PATH=" + shell_quote(f.bin() + ":/usr/bin:/bin") + " FAKE_DIR=" + shell_quote(f.fake()) +
      " CLI_TEST_TOKEN=" + kToken + " AGENT_VALUE=x FAKE_AGENT_PRINTF=" +
      shell_quote(
          "\\033[31mred\\033[0m\\033]52;c;aGk=\\007"
          "\\033Ptmux;\\033\\033]52;c;aGk=\\007\\033\\\\drawn\\n") +
      " " + testing::bottle_binary() + " run impl --backend docker --label one -- true";
  auto r = run_capture({"script", "-qec", command, "/dev/null"});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->exit_code, 0) << r->out << r->err;
  EXPECT_NE(r->out.find("\x1b[31mred\x1b[0m"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("drawn"), std::string::npos) << r->out;
  EXPECT_EQ(r->out.find("]52;"), std::string::npos) << ::testing::PrintToString(r->out);
  EXPECT_EQ(r->out.find("tmux;"), std::string::npos) << ::testing::PrintToString(r->out);
}

TEST(DockerBackend, RunUpWaitsForHealthRunsTheAgentSavesLogsAndDowns) {
  Fixture f;
  auto r = f.bottle({"run", "impl", "--backend", "docker", "--label", "one", "--", "true"},
                    {"FAKE_HEALTH_AFTER=3", "FAKE_AGENT_EXIT=7"});
  EXPECT_EQ(r.exit_code, 7) << r.err;  // the agent's status is bottle's
  EXPECT_EQ(r.out, "agent output\n");
  const std::vector<std::string> expected = {
      "docker compose version --short",
      kCompose + " up -d sidecars",
      kCompose + " exec -T sidecars bottle-init ctl health",
      kCompose + " exec -T sidecars bottle-init ctl health",
      kCompose + " exec -T sidecars bottle-init ctl health",
      kCompose + " run --rm --no-deps -T agent",
      kCompose + " logs --no-color --no-log-prefix sidecars",
      kCompose + " down --remove-orphans",
  };
  EXPECT_EQ(f.calls(), expected) << slurp(f.fake() + "/calls");
  // The token reached `up`'s environment (by name; its length, never its text, recorded)
  // and no other call's.
  const std::string envs = slurp(f.fake() + "/envs");
  EXPECT_NE(envs.find("up token chars: " + std::to_string(std::string(kToken).size())),
            std::string::npos)
      << envs;
  for (const auto& l : lines_of(envs)) {
    if (l.find("env: EGRESS_TOKEN_0") != std::string::npos) {
      EXPECT_EQ(l, "docker compose env: EGRESS_TOKEN_0 ") << "only `up` gets the token";
    }
  }
  EXPECT_EQ(std::count(envs.begin(), envs.end(), '\n'), 9) << "one line per call, and up's";
  f.expect_token_nowhere();
  const std::string dir = f.state("one");
  EXPECT_EQ(
      slurp(dir + "/logs/sidecar.log"),
      "{\"ts\":\"2026-01-01T00:00:00Z\",\"event\":\"daemon_started\",\"daemon\":\"egress\"}\n");
  auto md = read_metadata(dir);
  ASSERT_TRUE(md.ok()) << md.error();
  EXPECT_EQ(md->backend, "docker");
  EXPECT_EQ(md->project, "bottle-one");
  EXPECT_EQ(md->status, "exited");
  EXPECT_FALSE(fs::exists(dir + "/ca/ca-key.pem")) << "the CA key goes at teardown";
  const std::string compose = slurp(dir + "/docker-compose.yaml");
  EXPECT_NE(compose.find("- EGRESS_TOKEN_0\n"), std::string::npos) << compose;
  EXPECT_NE(compose.find(dir + "/routes:/etc/bottle/routes"), std::string::npos);
  // Owned by the images' users: the bundle (10001) and node (1000).
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/routes/routes.yaml").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 10001u);
  ASSERT_EQ(::stat((dir + "/init.yaml").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 10001u);
  ASSERT_EQ(::stat((dir + "/agent/prompt.md").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(DockerBackend, FallsBackToComposeV1) {
  Fixture f(true, true);
  auto r = f.bottle({"run", "impl", "--backend", "docker", "--label", "one"}, {"FAKE_NO_V2=1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto calls = f.calls();
  ASSERT_GE(calls.size(), 3u);
  EXPECT_EQ(calls[1],
            "docker-compose -p bottle-one -f $HOME/state/one/docker-compose.yaml up -d "
            "sidecars");
}

// Compose v1 is the docker-compose beside the docker CLI, or the one named: never another
// found on PATH (which, here, could be a real one outside the fakes).
TEST(DockerBackend, ComposeV1IsTheOneBesideDockerOrTheNamedOneNeverAnotherOnPath) {
  Fixture f;
  const std::string elsewhere = f.fake() + "/elsewhere";
  fs::create_directories(elsewhere);
  fs::copy_file(std::string(BOTTLE_FAKES_DIR) + "/docker", elsewhere + "/docker-compose");
  auto run = [&](const std::string& label, std::vector<std::string> env) {
    env.insert(env.end(), {"PATH=" + f.bin() + ":" + elsewhere + ":/usr/bin:/bin",
                           "FAKE_DIR=" + f.fake(), "CLI_TEST_TOKEN=" + std::string(kToken),
                           "AGENT_VALUE=x", "FAKE_NO_V2=1"});
    return testing::run_bottle(f.home(), {"run", "impl", "--backend", "docker", "--label", label},
                               env, f.workspace());
  };
  auto r = run("one", {});
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_NE(r.err.rfind("bottle: "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.substr(r.err.rfind("bottle: ")),
            "bottle: neither `docker compose` nor a docker-compose beside " + f.bin() +
                "/docker works (see bottle doctor --backend docker)\n");
  for (const auto& c : f.calls()) EXPECT_EQ(c.rfind("docker-compose", 0), std::string::npos) << c;

  std::ofstream(f.fake() + "/calls", std::ios::trunc).close();
  auto named = run("two", {"BOTTLE_DOCKER_COMPOSE=" + elsewhere + "/docker-compose"});
  EXPECT_EQ(named.exit_code, 0) << named.err;
  auto calls = f.calls();
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls[1].rfind("docker-compose -p bottle-two ", 0), 0u) << calls[1];

  // BOTTLE_DOCKER picks the docker CLI itself; its neighbour is the v1 looked for.
  fs::copy_file(f.bin() + "/docker", elsewhere + "/docker");
  std::ofstream(f.fake() + "/calls", std::ios::trunc).close();
  auto beside = run("three", {"BOTTLE_DOCKER=" + elsewhere + "/docker"});
  EXPECT_EQ(beside.exit_code, 0) << beside.err;
  calls = f.calls();
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls[1].rfind("docker-compose -p bottle-three ", 0), 0u) << calls[1];
}

TEST(DockerBackend, UpFailureIsDockersOwnWordsOnOneLineAndTearsDown) {
  Fixture f;
  auto r = f.bottle({"run", "impl", "--backend", "docker", "--label", "one"},
                    {"FAKE_UP_EXIT=1",
                     "FAKE_UP_STDERR=Error response from daemon: pull access denied for "
                     "bot-bottle/sidecar"});
  EXPECT_EQ(r.exit_code, 1);
  auto lines = lines_of(r.err);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(),
            "bottle: compose up: Error response from daemon: pull access denied for "
            "bot-bottle/sidecar");
  auto calls = f.calls();
  EXPECT_EQ(calls.back(), kCompose + " down --remove-orphans");
  EXPECT_EQ(std::count(calls.begin(), calls.end(), kCompose + " run --rm --no-deps -T agent"), 0);
}

TEST(DockerBackend, NotReadyIsABoundedWaitWithTheLastAnswer) {
  Fixture f;
  auto r = f.bottle({"run", "impl", "--backend", "docker", "--label", "one"},
                    {"FAKE_HEALTH_AFTER=100000", "BOTTLE_DOCKER_READY_TIMEOUT=0.5"});
  EXPECT_EQ(r.exit_code, 1);
  auto lines = lines_of(r.err);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back().rfind("bottle: sidecars not ready after 0.5 s: bottle-init: ctl health: "
                               "egress not ready (logs: ",
                               0),
            0u)
      << lines.back();
  auto calls = f.calls();
  const auto polls =
      std::count(calls.begin(), calls.end(), kCompose + " exec -T sidecars bottle-init ctl health");
  EXPECT_GE(polls, 2);
  EXPECT_LE(polls, 10) << "polled with a growing interval";
  EXPECT_EQ(calls.back(), kCompose + " down --remove-orphans");
}

TEST(DockerBackend, StopFromAnotherProcessEndsTheAgentAndDowns) {
  Fixture f;
  SpawnOptions so;
  so.argv = {"env",
             "-C",
             f.workspace(),
             "BOTTLE_HOME=" + f.home(),
             "PATH=" + f.bin() + ":/usr/bin:/bin",
             "FAKE_DIR=" + f.fake(),
             "CLI_TEST_TOKEN=" + std::string(kToken),
             "AGENT_VALUE=x",
             "FAKE_AGENT_WAIT=1",
             testing::bottle_binary(),
             "run",
             "impl",
             "--backend",
             "docker",
             "--label",
             "one"};
  so.stdin_null = true;
  so.stdout_file = so.stderr_file = f.fake() + "/bottle.out";
  auto child = spawn(so);
  ASSERT_TRUE(child.ok()) << child.error();
  // Running once metadata.json says so and the fake agent is waiting (its TERM trap set):
  // polled, bounded.
  bool running = false;
  for (int i = 0; i < 400 && !running; ++i) {
    auto md = read_metadata(f.state("one"));
    running = md && md->status == "running" &&
              slurp(f.fake() + "/envs").find("agent waiting") != std::string::npos;
    if (!running) ::usleep(25000);
  }
  ASSERT_TRUE(running) << slurp(f.fake() + "/bottle.out");
  auto stop = run_bottle(f.home(), {"stop", "one"},
                         {"PATH=" + f.bin() + ":/usr/bin:/bin", "FAKE_DIR=" + f.fake()});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(child->wait(), 143) << slurp(f.fake() + "/bottle.out");
  auto md = read_metadata(f.state("one"));
  ASSERT_TRUE(md.ok());
  EXPECT_EQ(md->status, "exited");
  auto calls = f.calls();
  EXPECT_EQ(std::count(calls.begin(), calls.end(), kCompose + " down --remove-orphans"), 1)
      << "the owning bottle downs it; stop does not repeat it";
  EXPECT_NE(slurp(f.fake() + "/envs").find("agent got TERM"), std::string::npos);
  EXPECT_TRUE(fs::exists(f.state("one") + "/logs/sidecar.log"));
}

TEST(DockerBackend, OrphanedProjectsAreListedAndCleanedUpByLabel) {
  Fixture f;
  // Two labelled projects: one of this home whose state dir is gone, one of another home.
  std::ofstream(f.fake() + "/ps") << "bottle-gone\tgone\t" << f.state("gone") << "\tUp 5 minutes\n"
                                  << "bottle-gone\tgone\t" << f.state("gone") << "\tUp 5 minutes\n"
                                  << "bottle-theirs\ttheirs\t/elsewhere/state/theirs\tUp 1 hour\n";
  auto list = f.bottle({"list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  auto rows = lines_of(list.out);
  ASSERT_EQ(rows.size(), 2u) << list.out;
  EXPECT_EQ(rows[1].rfind("gone ", 0), 0u) << rows[1];
  EXPECT_NE(rows[1].find("docker"), std::string::npos);
  EXPECT_NE(rows[1].find("orphaned (bottle cleanup)"), std::string::npos);
  EXPECT_EQ(list.out.find("theirs"), std::string::npos);

  auto clean = f.bottle({"cleanup"});
  EXPECT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_NE(clean.err.find("removed orphaned docker project bottle-gone"), std::string::npos)
      << clean.err;
  auto calls = f.calls();
  const std::string label = "label=com.docker.compose.project=bottle-gone";
  auto has = [&](const std::string& c) {
    return std::find(calls.begin(), calls.end(), c) != calls.end();
  };
  EXPECT_TRUE(has("docker container ls --quiet --filter " + label + " --all"));
  EXPECT_TRUE(has("docker container rm --force c1 c2"));
  EXPECT_TRUE(has("docker network ls --quiet --filter " + label));
  EXPECT_TRUE(has("docker network rm n1"));
  for (const auto& c : calls) EXPECT_EQ(c.find("theirs"), std::string::npos) << c;
}

TEST(DockerBackend, ABottleWhoseProcessDiedIsOrphanedUntilCleanupDownsIt) {
  Fixture f;
  ASSERT_EQ(f.bottle({"run", "impl", "--backend", "docker", "--label", "one"}).exit_code, 0);
  auto md = read_metadata(f.state("one"));
  ASSERT_TRUE(md.ok());
  md->status = "running";  // as a SIGKILLed `bottle` leaves it
  md->pids.orchestrator = ProcessId{md->pids.orchestrator.pid, 1};
  ASSERT_TRUE(write_metadata(f.state("one"), *md).ok());
  auto list = f.bottle({"list"});
  EXPECT_NE(list.out.find("orphaned (bottle cleanup)"), std::string::npos) << list.out;
  std::ofstream(f.fake() + "/calls", std::ios::trunc).close();
  auto clean = f.bottle({"cleanup"});
  EXPECT_EQ(clean.exit_code, 0) << clean.err;
  const std::vector<std::string> expected = {
      "docker compose version --short", kCompose + " logs --no-color --no-log-prefix sidecars",
      kCompose + " down --remove-orphans",
      "docker ps --all --filter label=dev.bot-bottle.slug --filter "
      "label=com.docker.compose.project --format {{.Label \"com.docker.compose.project\"}}\t{{"
      ".Label \"dev.bot-bottle.slug\"}}\t{{.Label \"dev.bot-bottle.state\"}}\t{{.Status}}"};
  EXPECT_EQ(f.calls(), expected);
  EXPECT_FALSE(fs::exists(f.state("one")));
}

// A live docker bottle (its owner: this test process) takes route edits through the bound
// directory and a reload inside the bundle.
TEST(DockerBackend, RoutesApplyWritesTheBoundFileAndReloadsInTheBundle) {
  Fixture f;
  auto r = f.bottle({"run", "impl", "--backend", "docker", "--label", "one"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto md = read_metadata(f.state("one"));
  ASSERT_TRUE(md.ok());
  md->status = "running";
  md->pids.orchestrator = identify_process(::getpid());
  ASSERT_TRUE(write_metadata(f.state("one"), *md).ok());
  const std::string routes =
      "routes:\n  - host: api.example.com\n    auth: {scheme: Bearer, token_env: EGRESS_TOKEN_0}\n"
      "  - host: pypi.org\n";
  TestHome::write(f.fake() + "/routes.yaml", routes);
  std::ofstream(f.fake() + "/calls", std::ios::trunc).close();
  auto apply = f.bottle({"routes", "apply", "one", f.fake() + "/routes.yaml"});
  EXPECT_EQ(apply.exit_code, 0) << apply.err;
  EXPECT_EQ(slurp(f.state("one") + "/routes/routes.yaml"), routes);
  struct stat st {};
  ASSERT_EQ(::stat((f.state("one") + "/routes/routes.yaml").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 10001u) << "the bundle's user must read what apply wrote";
  EXPECT_EQ(f.calls().back(), kCompose + " exec -T sidecars bottle-init ctl reload");
  // A token slot the bundle was never given is refused before anything is written.
  TestHome::write(f.fake() + "/bad.yaml",
                  "routes:\n  - host: x.example\n    auth: {scheme: Bearer, token_env: "
                  "EGRESS_TOKEN_9}\n");
  auto bad = f.bottle({"routes", "apply", "one", f.fake() + "/bad.yaml"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("EGRESS_TOKEN_9 has no value in this bottle"), std::string::npos)
      << bad.err;
  EXPECT_EQ(slurp(f.state("one") + "/routes/routes.yaml"), routes);
}

// Every docker call is bounded: a hung daemon is a one-line error naming the command and
// the variable that raises the bound, the hung process group is killed, and the bottle
// still tears down.
TEST(DockerBackend, AHungDockerCallIsABoundedOneLineError) {
  Fixture f;
  const auto started = std::chrono::steady_clock::now();
  auto r = f.bottle({"run", "impl", "--backend", "docker", "--label", "one"},
                    {"FAKE_HANG=up", "BOTTLE_CLI_SLOW_TIMEOUT=1"});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
  EXPECT_EQ(r.exit_code, 1);
  auto lines = lines_of(r.err);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(),
            "bottle: compose up: `docker compose up` timed out after 1 s "
            "(BOTTLE_CLI_SLOW_TIMEOUT)");
  EXPECT_EQ(f.calls().back(), kCompose + " down --remove-orphans");
  // The hung fake is gone with its process group.
  const std::string envs = slurp(f.fake() + "/envs");
  const size_t at = envs.find("hanging up ");
  ASSERT_NE(at, std::string::npos) << envs;
  const pid_t hung = std::stoi(envs.substr(at + 11));
  EXPECT_TRUE(::kill(hung, 0) != 0 && errno == ESRCH) << "pid " << hung << " still there";

  // A quick call (the readiness probe) has the other bound.
  Fixture g;
  auto h = g.bottle({"run", "impl", "--backend", "docker", "--label", "one"},
                    {"FAKE_HANG=exec", "BOTTLE_CLI_TIMEOUT=3"});
  EXPECT_EQ(h.exit_code, 1);
  lines = lines_of(h.err);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(),
            "bottle: readiness: `docker compose exec` timed out after 3 s (BOTTLE_CLI_TIMEOUT)");
}

TEST(K8sBackend, AHungKubectlCallIsABoundedOneLineError) {
  Fixture f(false, false, true);
  const auto started = std::chrono::steady_clock::now();
  auto r = f.bottle({"start", "impl", "--backend", "k8s", "--label", "one"},
                    {"FAKE_HANG=apply", "BOTTLE_CLI_TIMEOUT=3"});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
  EXPECT_EQ(r.exit_code, 1);
  auto lines = lines_of(r.err);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(),
            "bottle: kubectl apply: `kubectl apply` timed out after 3 s (BOTTLE_CLI_TIMEOUT)");
  auto stop = f.bottle({"stop", "one"}, {"FAKE_HANG=delete", "BOTTLE_CLI_TIMEOUT=3"});
  EXPECT_EQ(stop.exit_code, 1);
  EXPECT_NE(stop.err.find("`kubectl delete all,configmap,secret,networkpolicy` timed out after "
                         "3 s (BOTTLE_CLI_TIMEOUT)"),
            std::string::npos)
      << stop.err;
}

// While the agent runs, `bottle logs` shows the bundle's output as compose streams it; the
// final save at teardown replaces it with the whole log.
TEST(DockerBackend, LogsOfARunningBottleAreLive) {
  Fixture f;
  auto child = f.run_waiting();
  ASSERT_TRUE(child.ok()) << child.error();
  bool live = false;
  std::string shown;
  for (int i = 0; i < 200 && !live; ++i) {
    shown = f.bottle({"logs", "one"}).out;
    live = shown.find("live_line") != std::string::npos;
    if (!live) ::usleep(25000);
  }
  EXPECT_TRUE(live) << shown;
  EXPECT_NE(slurp(f.fake() + "/follow").find(" logs --follow --no-color --no-log-prefix sidecars"),
            std::string::npos);
  auto stop = run_bottle(f.home(), {"stop", "one"},
                         {"PATH=" + f.bin() + ":/usr/bin:/bin", "FAKE_DIR=" + f.fake()});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(child->wait(), 143);
  const std::string saved = slurp(f.state("one") + "/logs/sidecar.log");
  EXPECT_NE(saved.find("daemon_started"), std::string::npos) << saved;
  EXPECT_EQ(saved.find("live_line"), std::string::npos) << "the final save is the whole log";
}

// --keep as on the local backend: the sidecars stay up after the agent until `bottle stop`.
TEST(DockerBackend, KeepLeavesTheSidecarsUpUntilStop) {
  Fixture g;
  auto r = g.bottle({"run", "impl", "--backend", "docker", "--label", "one", "--keep"},
                    {"FAKE_AGENT_EXIT=3"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("kept one (compose project bottle-one still up): bottle stop one"),
            std::string::npos)
      << r.err;
  auto calls = g.calls();
  EXPECT_EQ(std::count(calls.begin(), calls.end(), kCompose + " down --remove-orphans"), 0);
  EXPECT_EQ(calls.back(), kCompose + " logs --no-color --no-log-prefix sidecars");
  EXPECT_EQ(read_metadata(g.state("one"))->status, "kept");
  EXPECT_NE(g.bottle({"list"}).out.find("kept"), std::string::npos);
  auto clean = g.bottle({"cleanup"});
  EXPECT_EQ(clean.exit_code, 0) << clean.err;
  calls = g.calls();
  EXPECT_EQ(std::count(calls.begin(), calls.end(), kCompose + " down --remove-orphans"), 0)
      << "cleanup leaves a kept bottle alone";
  auto stop = g.bottle({"stop", "one"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(g.calls().back(), kCompose + " down --remove-orphans");
  EXPECT_EQ(read_metadata(g.state("one"))->status, "exited");
}

// An operator in the docker group, not root: nothing to chown, so the bundle runs as the
// operator (compose `user:` and a passwd entry for that uid), and every file bound into it,
// the proposals queue included, is the operator's: what supervise writes, the operator
// reads, and the reverse. The agent's files are readable by the agent image's user.
TEST(DockerBackend, AnOperatorWhoIsNotRootRunsIt) {
  if (::geteuid() != 0 || run_capture({"setpriv", "--version"})->exit_code != 0) {
    BOTTLE_SKIP() << "needs root and setpriv to become another user";
  }
  Fixture f;
  f.bottle_manifest(
      "---\nsupervise: true\negress:\n  routes:\n    - host: api.example.com\n"
      "      auth: {scheme: Bearer, token_ref: CLI_TEST_TOKEN}\n---\n");
  const uid_t uid = 4242;
  f.give_to(uid);
  auto r = f.bottle_as(uid, {"run", "impl", "--backend", "docker", "--label", "one"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string dir = f.state("one");
  const std::string compose = slurp(dir + "/docker-compose.yaml");
  EXPECT_NE(compose.find("user: \"4242:4242\""), std::string::npos) << compose;
  EXPECT_NE(compose.find(dir + "/passwd:/etc/passwd:ro"), std::string::npos) << compose;
  EXPECT_NE(slurp(dir + "/passwd").find("bottle:x:4242:4242:"), std::string::npos);
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    struct stat st {};
    ASSERT_EQ(::lstat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, uid) << e.path() << " is not the operator's";
  }
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << "the state dir fences the shared files";
  ASSERT_EQ(::stat((dir + "/proposals").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, uid) << "the queue: the bundle (running as the operator) writes there";
  ASSERT_EQ(::stat((dir + "/agent/prompt.md").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0044, 0044u) << "node (uid 1000) in the agent image reads it";
}

const std::string kApply = "kubectl apply --server-side --field-manager=bottle -f ";

TEST(K8sBackend, StartAppliesTheBundleFillsSecretsFromStdinThenTheAgentPod) {
  Fixture f(false, false, true);
  auto r = f.bottle({"start", "impl", "--backend", "k8s", "--label", "one"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> expected = {
      "kubectl config current-context",
      kApply + "$HOME/state/one/k8s-bundle.yaml",
      "kubectl apply --server-side --field-manager=bottle-secrets -f -",
      "kubectl get service bottle-one -o jsonpath={.spec.clusterIP}",
      kApply + "$HOME/state/one/k8s.yaml",
  };
  EXPECT_EQ(f.calls(), expected);
  EXPECT_EQ(r.out, "attach: kubectl attach -it bottle-one-agent\nstop:   bottle stop one\n");
  // The values went on stdin only.
  const std::string secrets = slurp(f.fake() + "/stdin-0");
  EXPECT_NE(secrets.find(std::string("\"EGRESS_TOKEN_0\":\"") + kToken + "\""), std::string::npos)
      << secrets;
  EXPECT_NE(secrets.find("\"FROM_HOST\":\"from-host\""), std::string::npos);
  EXPECT_NE(secrets.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(secrets.find("\"bot-bottle.dev/slug\":\"one\""), std::string::npos);
  f.expect_token_nowhere();
  EXPECT_NE(slurp(f.state("one") + "/k8s.yaml").find("10.96.0.42"), std::string::npos);
  EXPECT_FALSE(fs::exists(f.state("one") + "/ca/ca-key.pem")) << "the key lives in the Secret";
  auto md = read_metadata(f.state("one"));
  ASSERT_TRUE(md.ok());
  EXPECT_EQ(md->status, "applied");
  auto list = f.bottle({"list"});
  EXPECT_NE(list.out.find("k8s"), std::string::npos) << list.out;

  std::ofstream(f.fake() + "/calls", std::ios::trunc).close();
  auto stop = f.bottle({"stop", "one"}, {"BOTTLE_K8S_NAMESPACE=ignored"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  const std::vector<std::string> deleted = {
      "kubectl config current-context",
      "kubectl delete all,configmap,secret,networkpolicy -l bot-bottle.dev/slug=one "
      "--ignore-not-found"};
  EXPECT_EQ(f.calls(), deleted);
  EXPECT_EQ(read_metadata(f.state("one"))->status, "exited");
}

TEST(K8sBackend, WithoutAContextStartPrintsTheApplyLine) {
  Fixture f(false, false, true);
  auto r = f.bottle({"start", "impl", "--backend", "k8s", "--label", "one"},
                    {"FAKE_NO_CONTEXT=1", "BOTTLE_K8S_NAMESPACE=team-a"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("kubectl --namespace team-a apply --server-side --field-manager=bottle -f " +
                       f.state("one") + "/k8s-bundle.yaml\n"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(f.calls(), std::vector<std::string>{"kubectl config current-context"});
  EXPECT_NE(slurp(f.state("one") + "/k8s-bundle.yaml").find("namespace: \"team-a\""),
            std::string::npos);
  f.expect_token_nowhere();
  auto stop = f.bottle({"stop", "one"}, {"FAKE_NO_CONTEXT=1"});
  EXPECT_EQ(stop.exit_code, 1);
  EXPECT_EQ(stop.err,
            "bottle: stop one: no kubectl with a current context here; run: kubectl --namespace "
            "team-a delete all,configmap,secret,networkpolicy -l bot-bottle.dev/slug=one "
            "--ignore-not-found\n");
}

TEST(K8sBackend, ApplyErrorsAreKubectlsOwnWords) {
  Fixture f(false, false, true);
  auto r = f.bottle({"start", "impl", "--backend", "k8s", "--label", "one"},
                    {"FAKE_APPLY_STDERR=error: unable to recognize: no matches for kind "
                     "\"NetworkPolicy\""});
  EXPECT_EQ(r.exit_code, 1);
  auto lines = lines_of(r.err);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(),
            "bottle: kubectl apply: error: unable to recognize: no matches for kind "
            "\"NetworkPolicy\"");
}

TEST(K8sBackend, RoutesApplyWaitsForTheMountedCopyThenReloads) {
  Fixture f(false, false, true);
  ASSERT_EQ(f.bottle({"start", "impl", "--backend", "k8s", "--label", "one"}).exit_code, 0);
  const std::string routes =
      "routes:\n  - host: api.example.com\n    auth: {scheme: Bearer, token_env: EGRESS_TOKEN_0}\n"
      "  - host: pypi.org\n";
  TestHome::write(f.fake() + "/routes.yaml", routes);
  std::ofstream(f.fake() + "/calls", std::ios::trunc).close();
  auto r = f.bottle({"routes", "apply", "one", f.fake() + "/routes.yaml"}, {"FAKE_ROUTES_LAG=2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string cat =
      "kubectl exec deployment/bottle-one -c sidecars -- cat /etc/bottle/routes/routes.yaml";
  const std::vector<std::string> expected = {
      "kubectl config current-context",
      "kubectl apply --server-side --field-manager=bottle -f -",
      cat,
      cat,
      cat,
      "kubectl exec deployment/bottle-one -c sidecars -- bottle-init ctl reload"};
  EXPECT_EQ(f.calls(), expected);
  const std::string cm = slurp(f.fake() + "/routes-cm");
  EXPECT_NE(cm.find("\"name\":\"bottle-one-routes\""), std::string::npos) << cm;
  EXPECT_NE(cm.find("\"app.kubernetes.io/part-of\":\"bot-bottle\""), std::string::npos);
  EXPECT_EQ(slurp(f.state("one") + "/routes/routes.yaml"), routes);

  // A bundle that never sees it: a bounded wait, and a clear error.
  auto slow = f.bottle({"routes", "apply", "one", f.fake() + "/routes.yaml"},
                       {"FAKE_ROUTES_LAG=100000", "BOTTLE_K8S_ROUTES_TIMEOUT=0.5"});
  EXPECT_EQ(slow.exit_code, 1);
  EXPECT_NE(slow.err.find("the bundle did not see the new routes within 0.5 s: the mounted "
                          "routes.yaml is still the old one"),
            std::string::npos)
      << slow.err;
}

// The bundle pod's proposal queue as the fake kubectl keeps it (FAKE_DIR/pod/...), and the
// env that lets its `kubectl exec` run the real bottle-supervise there.
class PodQueue {
 public:
  explicit PodQueue(const Fixture& f)
      : queue_(f.fake() + "/pod/var/lib/bottle/proposals"),
        supervise_((fs::path(testing::bottle_binary()).parent_path().parent_path() /
                    "supervise/bottle-supervise")
                       .string()) {
    fs::create_directories(queue_.dir());
  }
  // As bottle-supervise in the pod would: a pending proposal, its id returned.
  std::string propose(ProposalKind kind, const nlohmann::json& request, const std::string& reason) {
    Proposal p;
    p.id = new_proposal_id();
    p.kind = kind;
    p.created = "2026-01-01T00:00:00Z";
    p.bottle = "one";
    p.reason = reason;
    p.request = request;
    EXPECT_TRUE(queue_.create(p).ok());
    return p.id;
  }
  std::optional<Response> response(const std::string& id) const {
    auto r = queue_.response(id);
    return r ? *r : std::nullopt;
  }
  const ProposalQueue& queue() const { return queue_; }
  std::vector<std::string> env() const {
    return {"FAKE_SUPERVISE=" + supervise_, "BOTTLE_OPERATOR=alice"};
  }

 private:
  ProposalQueue queue_;
  std::string supervise_;
};

const char* kSupervisedManifest =
    "---\nsupervise: true\negress:\n  routes:\n"
    "    - host: api.example.com\n      auth: {scheme: Bearer, token_ref: CLI_TEST_TOKEN}\n---\n";

TEST(K8sBackend, ProposalsAreReadAndAnsweredInThePodAndApprovedRoutesAppliedAsAConfigMap) {
  Fixture f(false, false, true);
  f.bottle_manifest(kSupervisedManifest);
  ASSERT_EQ(f.bottle({"start", "impl", "--backend", "k8s", "--label", "one"}).exit_code, 0);
  // supervise in the pod asks, and leaves the routes to the operator's side.
  EXPECT_NE(slurp(f.state("one") + "/k8s-bundle.yaml").find("--routes-by-operator"),
            std::string::npos);
  PodQueue pod(f);
  const std::string route = pod.propose(
      ProposalKind::egress_route, {{"route", {{"host", "pypi.org"}, {"port", 443}}}}, "pip install");
  const std::string denied = pod.propose(
      ProposalKind::egress_route, {{"route", {{"host", "evil.test"}}}}, "exfiltrate");
  const std::string gpu = pod.propose(ProposalKind::capability, {{"what", "a GPU"}}, "training");

  auto list = f.bottle({"proposals", "list"}, pod.env());
  EXPECT_EQ(list.exit_code, 0) << list.err;
  for (const auto& id : {route, denied, gpu})
    EXPECT_NE(list.out.find(id), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("pypi.org:443"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("a GPU"), std::string::npos) << list.out;

  // Approve: the route goes into the routes ConfigMap, the bundle sees it and reloads,
  // and only then is the answer written into the pod's queue.
  std::ofstream(f.fake() + "/calls", std::ios::trunc).close();
  auto approve =
      f.bottle({"proposals", "approve", route, "--reason", "ok", "--wait", "0"}, pod.env());
  EXPECT_EQ(approve.exit_code, 0) << approve.err;
  EXPECT_NE(approve.out.find("applied: added route pypi.org:443"), std::string::npos)
      << approve.out;
  const std::string exec = "kubectl exec deployment/bottle-one -c sidecars -- ";
  const std::string queue_dir = " --dir /var/lib/bottle/proposals";
  const std::vector<std::string> calls = {
      "kubectl config current-context",
      exec + "bottle-supervise queue scan --all" + queue_dir,
      "kubectl config current-context",
      "kubectl apply --server-side --field-manager=bottle -f -",
      exec + "cat /etc/bottle/routes/routes.yaml",
      exec + "bottle-init ctl reload",
      "kubectl config current-context",
      "kubectl exec -i deployment/bottle-one -c sidecars -- bottle-supervise queue answer" +
          queue_dir};
  EXPECT_EQ(f.calls(), calls);
  EXPECT_NE(slurp(f.fake() + "/routes-cm").find("host: pypi.org"), std::string::npos)
      << slurp(f.fake() + "/routes-cm");
  EXPECT_NE(slurp(f.state("one") + "/routes/routes.yaml").find("host: pypi.org"),
            std::string::npos);
  auto approved = pod.response(route);
  ASSERT_TRUE(approved.has_value());
  EXPECT_EQ(approved->decision, Decision::approve);
  EXPECT_EQ(approved->by, "alice");
  EXPECT_EQ(approved->text, "ok");

  // Reject: nothing applied, the answer in the pod.
  const std::string cm_before = slurp(f.fake() + "/routes-cm");
  auto reject = f.bottle({"proposals", "reject", denied, "--reason", "no", "--wait", "0"}, pod.env());
  EXPECT_EQ(reject.exit_code, 0) << reject.err;
  EXPECT_EQ(slurp(f.fake() + "/routes-cm"), cm_before);
  ASSERT_TRUE(pod.response(denied).has_value());
  EXPECT_EQ(pod.response(denied)->decision, Decision::reject);
  EXPECT_EQ(slurp(f.state("one") + "/routes/routes.yaml").find("evil.test"), std::string::npos);

  // capability-block: answered in the pod; once supervise archived it, the operator's
  // wait reports what came of it.
  auto answer = f.bottle({"proposals", "answer", gpu, "use the CPU", "--wait", "0"}, pod.env());
  EXPECT_EQ(answer.exit_code, 0) << answer.err;
  ASSERT_TRUE(pod.response(gpu).has_value());
  EXPECT_EQ(pod.response(gpu)->decision, Decision::answer);
  EXPECT_EQ(pod.response(gpu)->text, "use the CPU");
  ASSERT_TRUE(pod.queue().archive(gpu, Outcome{gpu, true, "answered", "2026-01-01T00:00:01Z"}).ok());
  auto again = f.bottle({"proposals", "answer", gpu, "twice"}, pod.env());
  EXPECT_EQ(again.exit_code, 0) << "the same decision: reported, not overwritten";
  EXPECT_NE(again.out.find("was already answered: answer by alice: use the CPU"), std::string::npos)
      << again.out << again.err;
  auto pending = f.bottle({"proposals", "list"}, pod.env());
  EXPECT_EQ(pending.out, "no pending proposals\n") << pending.err;
  f.expect_token_nowhere();
}

TEST(K8sBackend, AnAnswerAlreadyInThePodIsReportedNotOverwritten) {
  Fixture f(false, false, true);
  f.bottle_manifest(kSupervisedManifest);
  ASSERT_EQ(f.bottle({"start", "impl", "--backend", "k8s", "--label", "one"}).exit_code, 0);
  PodQueue pod(f);
  const std::string id = pod.propose(ProposalKind::capability, {{"what", "x"}}, "r");
  auto r = f.bottle({"proposals", "show", id}, pod.env());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("status:   pending"), std::string::npos) << r.out;
  Response first{id, Decision::reject, "mine", "bob", "2026-01-01T00:00:00Z", std::nullopt};
  ASSERT_TRUE(pod.queue().answer(first).ok());
  auto late = f.bottle({"proposals", "answer", id, "yours", "--wait", "0"}, pod.env());
  EXPECT_EQ(late.exit_code, 1);
  EXPECT_NE(late.out.find("was already answered: reject by bob: mine"), std::string::npos)
      << late.out << late.err;
  EXPECT_EQ(pod.response(id)->by, "bob");
  // kubectl failing: a one-line error naming the pod's queue.
  auto broken = f.bottle({"proposals", "list"}, {"FAKE_SUPERVISE=/nonexistent"});
  EXPECT_EQ(broken.exit_code, 0);
  EXPECT_NE(broken.err.find("bottle: warning: one: kubectl exec (scan the pod's proposal queue): "),
            std::string::npos)
      << broken.err;
}

}  // namespace
}  // namespace bottle::orchestrator
