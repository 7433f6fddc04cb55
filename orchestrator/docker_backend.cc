#include "orchestrator/docker_backend.h"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "config/route_table.h"
#include "orchestrator/agent_stdio.h"
#include "orchestrator/bottle_files.h"
#include "orchestrator/container_cli.h"
#include "orchestrator/container_render.h"
#include "orchestrator/gitgate_files.h"
#include "orchestrator/manifest.h"
#include "orchestrator/preflight.h"
#include "orchestrator/process.h"
#include "orchestrator/render.h"
#include "orchestrator/routes_cmd.h"
#include "orchestrator/skills.h"
#include "orchestrator/state.h"

namespace bottle::orchestrator {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::atomic<pid_t> g_agent_pid{0};
std::atomic<bool> g_stop_requested{false};

void forward_stop(int) {
  g_stop_requested = true;
  pid_t p = g_agent_pid.load();
  if (p > 0) ::kill(p, SIGTERM);
}

std::string project_name(const std::string& slug) {
  return "bottle-" + slug;
}

std::string compose_file(const std::string& slug) {
  return state_dir(slug) + "/docker-compose.yaml";
}

// Image pulls happen in `up`; this bounds the wait for init's health after it.
std::chrono::milliseconds ready_timeout() {
  const char* env = std::getenv("BOTTLE_DOCKER_READY_TIMEOUT");
  const double seconds = env && *env ? std::atof(env) : 60;
  return std::chrono::milliseconds(static_cast<long long>((seconds > 0 ? seconds : 60) * 1000));
}

// `docker compose` (v2) when the plugin answers, else v1 (compose_v1_for). Asked once
// per `bottle` process.
Result<std::vector<std::string>> find_compose() {
  const std::string docker = docker_cli();
  if (docker.empty()) return Error{"docker not found on PATH (see bottle doctor --backend docker)"};
  auto v2 = run_cli({docker, "compose", "version", "--short"}, CliWait::quick);
  if (v2 && v2->exit_code == 0) return std::vector<std::string>{docker, "compose"};
  const std::string v1 = compose_v1_for(docker);
  if (!v1.empty()) return std::vector<std::string>{v1};
  return Error{"neither `docker compose` nor a docker-compose beside " + docker +
               " works (see bottle doctor --backend docker)"};
}

Result<std::vector<std::string>> compose_base() {
  static const Result<std::vector<std::string>> found = find_compose();
  return found;
}

std::vector<std::string> project_argv(const std::vector<std::string>& base,
                                      const std::string& slug,
                                      const std::vector<std::string>& args) {
  std::vector<std::string> argv = base;
  argv.insert(argv.end(), {"-p", project_name(slug), "-f", compose_file(slug)});
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// One compose command for the bottle; `env` ("K=V") goes to compose's environment only.
Result<CaptureResult> compose(const std::string& slug, const std::vector<std::string>& args,
                              const std::vector<std::string>& env = {}) {
  auto base = compose_base();
  if (!base) return Error{base.error()};
  const bool slow = !args.empty() && (args[0] == "up" || args[0] == "down");
  return run_cli(project_argv(*base, slug, args), slow ? CliWait::slow : CliWait::quick, "", env);
}

Status compose_ok(const std::string& slug, const std::vector<std::string>& args,
                  const std::string& what, const std::vector<std::string>& env = {}) {
  auto r = compose(slug, args, env);
  if (!r) return Error{what + ": " + r.error()};
  if (r->exit_code != 0) return Error{what + ": " + failure_line(*r)};
  return OkStatus();
}

// The bundle's output (init's JSON lines) where `bottle logs` reads it: written straight
// to the file (a long session's log is larger than run_capture keeps).
Status save_logs(const std::string& slug) {
  auto base = compose_base();
  if (!base) return Error{base.error()};
  const std::string log = state_dir(slug) + "/logs/sidecar.log";
  const std::string err = state_dir(slug) + "/logs/compose-logs.err";
  std::error_code ec;
  fs::remove(log, ec);
  fs::remove(err, ec);
  SpawnOptions so;
  so.argv = project_argv(*base, slug, {"logs", "--no-color", "--no-log-prefix", "sidecars"});
  so.stdin_null = true;
  so.stdout_file = log;
  so.stderr_file = err;
  so.new_session = true;  // its own process group: killed whole on timeout
  auto child = spawn(so);
  if (!child) return Error{"compose logs: " + child.error()};
  const auto bound = cli_timeout(CliWait::quick);
  // Its exit, or the bound: a pidfd turns readable when the process ends.
  UniqueFd exited(static_cast<int>(::syscall(SYS_pidfd_open, child->pid(), 0)));
  pollfd pfd{exited.get(), POLLIN, 0};
  const auto deadline = std::chrono::steady_clock::now() + bound;
  std::optional<int> code;
  while (!(code = child->poll())) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!exited.valid() || left.count() <= 0) {
      ::kill(-child->pid(), SIGKILL);
      child->wait();
      return Error{"`" + cli_command_name(so.argv) + "` timed out after " + seconds_text(bound) +
                   " (BOTTLE_CLI_TIMEOUT)"};
    }
    (void)::poll(&pfd, 1, static_cast<int>(left.count()) + 1);
  }
  if (*code == 0) return OkStatus();
  auto said = read_text_file(err);
  return Error{"compose logs: " + failure_line(CaptureResult{*code, "", said ? *said : ""})};
}

// Logs, `down`, the CA key: what ends a docker bottle, from its state dir alone.
Status take_down(const std::string& slug, const std::function<void(const std::string&)>& progress) {
  if (auto st = save_logs(slug); !st) progress("warning: " + st.error());
  progress("compose down " + project_name(slug));
  Status down = compose_ok(slug, {"down", "--remove-orphans"}, "compose down");
  std::error_code ec;
  fs::remove(state_dir(slug) + "/ca/ca-key.pem", ec);
  if (auto md = read_metadata(state_dir(slug)); md && down) {
    md->status = "exited";
    (void)write_metadata(state_dir(slug), *md);
  }
  return down;
}

class DockerBottle {
 public:
  DockerBottle(const Plan& plan, const LaunchOptions& opt) : plan_(plan), opt_(opt) {}
  ~DockerBottle() { teardown(); }
  DockerBottle(const DockerBottle&) = delete;
  DockerBottle& operator=(const DockerBottle&) = delete;

  Result<int> run();

 private:
  void progress(const std::string& line) {
    if (opt_.progress) opt_.progress(line);
  }
  Status prepare_state();
  Status write_files();
  Status wait_ready();
  Result<int> run_agent(const std::vector<std::string>& env);
  void follow_logs();
  void teardown();

  const Plan& plan_;
  const LaunchOptions& opt_;
  std::vector<SkillContent> skills_;
  std::vector<std::string> base_;
  std::string slug_, dir_;
  BottleMetadata md_;
  bool up_ = false;
  bool torn_down_ = false;
  ChildProcess log_follower_;  // `compose logs --follow` into logs/sidecar.log while it runs
};

Status DockerBottle::prepare_state() {
  auto slug = choose_slug(plan_.agent, opt_.label);
  if (!slug) return Error{slug.error()};
  slug_ = *slug;
  dir_ = state_dir(slug_);
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (ec) return Error{dir_ + ": " + ec.message()};
  std::vector<std::pair<std::string, mode_t>> dirs = {
      {"", 0700}, {"/ca", 0700}, {"/routes", 0700}, {"/logs", 0700}, {"/agent", 0755},
      {"/run", 0700}};
  if (!plan_.supervise_daemon.binary.empty()) dirs.emplace_back("/proposals", 0700);
  for (const auto& [sub, mode] : dirs) {
    if (auto st = make_dir(dir_ + sub, mode); !st) return st;
  }
  md_.slug = slug_;
  md_.label = opt_.label.empty() ? slug_ : opt_.label;
  md_.agent = plan_.agent;
  md_.bottle = plan_.bottle;
  md_.backend = "docker";
  md_.project = project_name(slug_);
  md_.created = now_iso8601();
  md_.status = "starting";
  md_.pids.orchestrator = identify_process(::getpid());
  md_.workspace = opt_.workspace;
  return write_metadata(dir_, md_);
}

// Every file the compose file binds, owned by the user of the image that reads it.
Status DockerBottle::write_files() {
  if (auto st = write_bottle_files(plan_, dir_, slug_, skills_); !st) return st;
  const bool supervise = !plan_.supervise_daemon.binary.empty();
  std::vector<std::string> bundle = {"/ca", "/routes", "/run", "/init.yaml"};
  if (supervise) bundle.push_back("/proposals");
  if (!plan_.gitgate.binary.empty()) {
    if (auto st = write_gitgate_files(plan_, dir_ + "/gitgate", dir_ + "/gitgate.yaml"); !st)
      return st;
    // The keys are bound where the image's gitgate.yaml says, not at their host path.
    if (auto st = write_file_atomic(
            dir_ + "/gitgate.yaml",
            render_gitgate_yaml(plan_, container_gitgate_layout(slug_, supervise)), 0600);
        !st)
      return st;
    if (auto st = make_dir(dir_ + "/gitgate/state", 0700); !st) return st;
    bundle.insert(bundle.end(), {"/gitgate", "/gitgate.yaml"});
  }
  if (auto st = write_file_atomic(dir_ + "/init.yaml",
                                  render_init_yaml(plan_, container_init_layout(slug_, supervise)),
                                  0600);
      !st)
    return st;
  ContainerTarget target;
  target.slug = slug_;
  target.state_dir = dir_;
  target.workspace = opt_.workspace;
  const bool root = ::geteuid() == 0;
  if (!root) {
    // An operator in the docker group: the bundle runs as them (container_render.h).
    const std::string uid = std::to_string(::geteuid()), gid = std::to_string(::getegid());
    target.sidecar_user = uid + ":" + gid;
    for (const auto& [file, text] : std::vector<std::pair<std::string, std::string>>{
             {"/passwd", "root:x:0:0:root:/root:/usr/sbin/nologin\nbottle:x:" + uid + ":" + gid +
                             ":bot-bottle:" + kBundleStateDir + ":/usr/sbin/nologin\n"},
             {"/group", "root:x:0:\nbottle:x:" + gid + ":\n"}}) {
      if (auto st = write_file_atomic(dir_ + file, text, 0644); !st) return st;
    }
  }
  if (auto st = write_file_atomic(compose_file(slug_), render_compose(plan_, target), 0600); !st)
    return st;
  if (!root) return share_tree_read_only(dir_ + "/agent");
  for (const auto& path : bundle) {
    if (auto st = chown_tree(dir_ + path, kBundleUid, kBundleUid); !st) return st;
  }
  return chown_tree(dir_ + "/agent", kImageAgentUid, kImageAgentUid);
}

// init's health through the container: 0 once every daemon is ready. Polled with a
// growing interval, bounded; the last thing docker said is in the error.
Status DockerBottle::wait_ready() {
  const auto timeout = ready_timeout();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto delay = 50ms;
  std::string last = "no answer";
  for (;;) {
    auto r = compose(slug_, {"exec", "-T", "sidecars", "bottle-init", "ctl", "health"});
    if (!r) return Error{"readiness: " + r.error()};
    if (r->exit_code == 0) {
      progress("sidecars ready (egress at " + plan_.layout.egress_host + ":" +
               std::to_string(kEgressPort) + " on the internal network)");
      return OkStatus();
    }
    last = failure_line(*r);
    if (g_stop_requested || std::chrono::steady_clock::now() + delay > deadline) break;
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, 1000ms);
  }
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3g", static_cast<double>(timeout.count()) / 1000);
  return Error{std::string("sidecars not ready after ") + seconds + " s: " + last + " (logs: " + dir_ + "/logs/sidecar.log)"};
}

Result<int> DockerBottle::run_agent(const std::vector<std::string>& env) {
  // --no-deps: the sidecars run already and must not be recreated (this command's
  // environment has no tokens).
  std::vector<std::string> args = {"run", "--rm", "--no-deps"};
  if (!opt_.interactive) args.push_back("-T");
  args.push_back("agent");
  // docker's client gets a pty of bottle's, not the operator's terminal: its output is
  // relayed through the same filter as the local agent's (agent_stdio.h), so the agent
  // in the container cannot make the operator's terminal act either.
  auto io = AgentStdio::open(opt_.interactive, ::getuid(), ::getgid());
  if (!io) return Error{"agent stdio: " + io.error()};
  SpawnOptions so;
  so.argv = project_argv(base_, slug_, args);
  so.env = environ_with(env);
  so.stdio = io->child_fds();
  so.new_session = true;
  so.controlling_terminal = io->terminal();
  progress("running agent: " + one_line(plan_.argv));
  auto child = spawn(so);
  if (!child) return Error{"agent: " + child.error()};
  io->child_started();
  g_agent_pid = child->pid();
  md_.status = "running";
  md_.agent_started = static_cast<long long>(std::time(nullptr));
  if (auto st = write_metadata(dir_, md_); !st)
    progress("warning: bottle state not recorded: " + st.error());
  io->relay({});
  const int code = child->wait();
  g_agent_pid = 0;
  return code;
}

// While the bottle runs, logs/sidecar.log grows with the bundle's output, so `bottle logs
// [--follow]` shows it live; at the end save_logs rewrites it whole. Best effort: without
// it the log still arrives at the end.
void DockerBottle::follow_logs() {
  SpawnOptions so;
  so.argv = project_argv(base_, slug_,
                         {"logs", "--follow", "--no-color", "--no-log-prefix", "sidecars"});
  so.stdin_null = true;
  so.stdout_file = dir_ + "/logs/sidecar.log";
  so.stderr_file = dir_ + "/logs/compose-logs.err";
  so.new_session = true;  // not in the agent's way, and stopped as one group
  so.parent_death_signal = SIGTERM;
  auto child = spawn(so);
  if (!child) {
    progress("warning: live sidecar logs: " + child.error());
    return;
  }
  log_follower_ = std::move(*child);
}

void DockerBottle::teardown() {
  if (log_follower_.pid() > 0) {
    ::kill(-log_follower_.pid(), SIGTERM);
    log_follower_.terminate(2s);
  }
  if (torn_down_ || slug_.empty()) return;
  torn_down_ = true;
  auto report = [this](const std::string& l) { progress(l); };
  if (up_) {
    if (auto st = take_down(slug_, report); !st) progress("warning: " + st.error());
    return;
  }
  std::error_code ec;
  fs::remove(dir_ + "/ca/ca-key.pem", ec);
  md_.status = "exited";
  (void)write_metadata(dir_, md_);
}

Result<int> DockerBottle::run() {
  auto base = compose_base();
  if (!base) return Error{base.error()};
  base_ = *base;
  // Every value is resolved before anything is created.
  auto agent_env = resolve_env(plan_.env, opt_.env_sources);
  if (!agent_env) return Error{agent_env.error()};
  auto tokens = resolve_token_slots(plan_, opt_.env_sources);
  if (!tokens) return Error{tokens.error()};
  auto skills = read_skills(plan_);
  if (!skills) return Error{skills.error()};
  skills_ = std::move(*skills);

  if (auto st = prepare_state(); !st) return Error{st.error()};
  progress("bottle " + slug_ + ": state in " + dir_);
  if (auto st = write_files(); !st) return Error{st.error()};
  progress("compose up " + project_name(slug_) + " (sidecars)");
  up_ = true;  // a half-failed `up` leaves things for `down`
  // The token values: compose's environment, never argv, never the file.
  if (auto st = compose_ok(slug_, {"up", "-d", "sidecars"}, "compose up", *tokens); !st)
    return Error{st.error()};
  if (auto st = wait_ready(); !st) return Error{st.error()};
  if (g_stop_requested) return 143;
  follow_logs();
  auto code = run_agent(*agent_env);
  if (code && opt_.keep && !g_stop_requested) {
    // As on the local backend: the sidecars stay up after the agent for inspection
    // (`docker compose -p bottle-<slug> exec sidecars ...`); `bottle stop` takes them down.
    if (log_follower_.pid() > 0) {
      ::kill(-log_follower_.pid(), SIGTERM);
      log_follower_.terminate(2s);
    }
    if (auto st = save_logs(slug_); !st) progress("warning: " + st.error());
    torn_down_ = true;
    md_.status = "kept";
    if (auto st = write_metadata(dir_, md_); !st)
      progress("warning: bottle state not recorded: " + st.error());
    progress("kept " + slug_ + " (compose project " + project_name(slug_) +
             " still up): bottle stop " + slug_);
  }
  return code;
}

}  // namespace

std::string docker_cli() {
  const char* set = std::getenv("BOTTLE_DOCKER");
  return set && *set ? set : find_helper_binary("docker");
}

std::string compose_v1_for(const std::string& docker) {
  const char* set = std::getenv("BOTTLE_DOCKER_COMPOSE");
  if (set && *set) return set;
  if (docker.empty()) return "";
  const std::string beside = fs::path(docker).parent_path() / "docker-compose";
  return ::access(beside.c_str(), X_OK) == 0 ? beside : "";
}

Result<int> run_docker(const Plan& plan, const LaunchOptions& options) {
  // Without a terminal, Ctrl-C reaches bottle too: it ends the agent, then the teardown
  // runs. (With one, docker's raw terminal passes it to the agent as a byte.)
  install_stop_handlers(forward_stop);
  DockerBottle bottle(plan, options);
  return bottle.run();
}

Status stop_docker(const std::string& slug,
                   const std::function<void(const std::string&)>& progress) {
  auto md = read_metadata(state_dir(slug));
  if (!md) return Error{"no bottle '" + slug + "' (" + md.error() + ")"};
  md->slug = slug;  // the directory's name, never what metadata.json says
  ask_owner_to_stop(*md, 60s, progress);  // its teardown saves the logs and downs
  md = read_metadata(state_dir(slug));
  if (md && md->status != "exited") {
    if (auto st = take_down(slug, progress); !st) return st;
  }
  progress("stopped " + slug);
  return OkStatus();
}

std::vector<DockerProject> docker_orphans() {
  std::vector<DockerProject> out;
  const std::string docker = docker_cli();
  if (docker.empty()) return out;
  auto r = run_cli({docker, "ps", "--all", "--filter", std::string("label=") + kSlugLabel,
                        "--filter", "label=com.docker.compose.project", "--format",
                        "{{.Label \"com.docker.compose.project\"}}\t{{.Label \"" +
                            std::string(kSlugLabel) + "\"}}\t{{.Label \"" + kStateLabel +
                            "\"}}\t{{.Status}}"},
                   CliWait::quick);
  if (!r || r->exit_code != 0) return out;
  std::set<std::string> seen;
  std::istringstream in(r->out);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string x; std::getline(fields, x, '\t');) f.push_back(x);
    if (f.size() != 4) continue;
    const std::string &project = f[0], &slug = f[1], &state = f[2];
    // Ours: a project named after a valid slug whose state dir would be under this
    // BOTTLE_HOME. Another home's bottles are not ours to list or remove.
    if (!valid_manifest_name(slug) || project != project_name(slug) ||
        state != state_dir(slug) || fs::exists(state_dir(slug) + "/metadata.json") ||
        !seen.insert(project).second)
      continue;
    out.push_back({project, slug, f[3]});
  }
  return out;
}

std::vector<std::string> cleanup_docker() {
  std::vector<std::string> done;
  auto quiet = [](const std::string&) {};
  for (const auto& md : list_metadata()) {
    if (md.backend != "docker" || md.status == "exited" || bottle_alive(md)) continue;
    if (auto st = take_down(md.slug, quiet); st) {
      done.push_back("compose down " + project_name(md.slug) + " (its bottle process was gone)");
    } else {
      done.push_back("warning: " + md.slug + ": " + st.error());
    }
  }
  const std::string docker = docker_cli();
  for (const auto& o : docker_orphans()) {
    const std::string label = "label=com.docker.compose.project=" + o.project;
    bool ok = true;
    for (const std::string kind : {"container", "network"}) {
      std::vector<std::string> ls = {docker, kind, "ls", "--quiet", "--filter", label};
      if (kind == "container") ls.push_back("--all");
      auto ids = run_cli(ls, CliWait::quick);
      if (!ids || ids->exit_code != 0) {
        ok = false;
        continue;
      }
      std::vector<std::string> argv = {docker, kind, "rm"};
      if (kind == "container") argv.push_back("--force");
      std::istringstream in(ids->out);
      const size_t fixed = argv.size();
      for (std::string id; in >> id;) argv.push_back(id);
      if (argv.size() == fixed) continue;
      auto rm = run_cli(argv, CliWait::quick);
      if (!rm || rm->exit_code != 0) {
        done.push_back("warning: " + o.project + ": " + (rm ? failure_line(*rm) : rm.error()));
        ok = false;
      }
    }
    if (ok) done.push_back("removed orphaned docker project " + o.project);
  }
  return done;
}

Status routes_apply_docker(const std::string& slug, const std::string& text,
                           const std::string& source) {
  auto md = read_metadata(state_dir(slug));
  if (!md) return Error{"no bottle '" + slug + "'"};
  if (!bottle_alive(*md)) return Error{"bottle '" + slug + "' is not running"};
  if (auto st = check_routes_change(slug, text, source); !st) return st;
  if (auto st = write_file_atomic(routes_path(slug), text, 0600); !st) return st;
  // Root started it: the bundle's user owns the routes directory and must own the file.
  // An operator who is not root started it as themselves: the file is theirs already.
  struct stat dir {};
  if (::geteuid() == 0 && ::stat(fs::path(routes_path(slug)).parent_path().c_str(), &dir) == 0 &&
      ::lchown(routes_path(slug).c_str(), dir.st_uid, dir.st_gid) != 0)
    return Error{routes_path(slug) + ": chown: " + std::strerror(errno)};
  return compose_ok(slug, {"exec", "-T", "sidecars", "bottle-init", "ctl", "reload"},
                    "bottle-init ctl reload");
}

}  // namespace bottle::orchestrator
