#include "orchestrator/local_backend.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "orchestrator/agent_stdio.h"
#include "orchestrator/agent_user.h"
#include "orchestrator/bottle_files.h"
#include "orchestrator/crash_guard.h"
#include "orchestrator/gitgate_files.h"
#include "orchestrator/netns.h"
#include "orchestrator/preflight.h"
#include "orchestrator/process.h"
#include "orchestrator/render.h"
#include "orchestrator/sandbox.h"
#include "orchestrator/seccomp.h"
#include "orchestrator/skills.h"
#include "orchestrator/state.h"
#include "orchestrator/terminal.h"
#include "orchestrator/vm_guest.h"
#include "orchestrator/workspace.h"
#include "orchestrator/workspace_git.h"

namespace bottle::orchestrator {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr auto kReadyTimeout = 20s;

std::atomic<pid_t> g_agent_pid{0};
std::atomic<bool> g_stop_requested{false};

void forward_stop(int) {
  g_stop_requested = true;
  pid_t p = g_agent_pid.load();
  if (p > 0) ::kill(p, SIGTERM);
}

// A free port on the host's loopback for the admin listener (not agent-reachable: the
// agent's namespace has its own loopback).
Result<int> free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{std::string("socket: ") + std::strerror(errno)};
  UniqueFd owned(fd);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return Error{std::string("bind 127.0.0.1:0: ") + std::strerror(errno)};
  }
  return static_cast<int>(ntohs(a.sin_port));
}

std::string read_text(const std::string& path) {
  auto text = read_text_file(path);
  return text ? *text : "";
}

std::string tail_lines(const std::string& path, size_t n) {
  std::string text = read_text(path);
  size_t pos = text.size();
  for (size_t i = 0; i <= n && pos != std::string::npos && pos > 0; ++i)
    pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

// The sandbox shares the host's system directories, so the agent's program can be
// looked up here (on the sandbox's PATH) before anything is started. Relative paths live
// in the workspace.
bool agent_program_exists(const std::string& program, const std::string& dirs) {
  if (program.find('/') != std::string::npos)
    return program[0] != '/' || ::access(program.c_str(), X_OK) == 0;
  size_t start = 0;
  while (start < dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    if (::access((dirs.substr(start, end - start) + "/" + program).c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

// After the agent is gone: setuid/setgid bits it managed to leave are cleared (the
// seccomp filter should have refused them), and the workspace ACL entries of a bottle
// uid are revoked. Works from metadata alone (teardown, crash guard, cleanup); refuses
// values no bottle would have recorded.
void check_workspace_after(const BottleMetadata& md,
                           const std::function<void(const std::string&)>& progress) {
  if (md.agent_uid == 0 || md.workspace.empty() || md.workspace[0] != '/' || md.workspace == "/" ||
      !fs::is_directory(md.workspace))
    return;
  const bool revoke = md.workspace_shared && md.agent_uid >= kBottleUidBase &&
                      md.agent_uid < kBottleUidBase + kBottleUidCount;
  // Without a start time, only files changed from now on would count: none.
  const time_t since = md.agent_started != 0 ? static_cast<time_t>(md.agent_started)
                                             : std::time(nullptr) + 1;
  auto r = finish_workspace(md.workspace, md.agent_uid, since, revoke);
  for (const auto& f : r.setid_cleared)
    progress("warning: the agent left a setuid/setgid file; bits cleared: " + md.workspace + "/" +
             f);
  if (r.revoked.failed)
    progress("warning: " + std::to_string(r.revoked.failed) + " ACL entries for uid " +
             std::to_string(md.agent_uid) + " could not be removed from " + md.workspace);
}

// Everything one running bottle holds. The destructor is the teardown, so every early
// return after a resource was created cleans up.
class LocalBottle {
 public:
  LocalBottle(const Plan& plan, const LaunchOptions& opt) : plan_(plan), opt_(opt) {}
  ~LocalBottle() { teardown(); }
  LocalBottle(const LocalBottle&) = delete;
  LocalBottle& operator=(const LocalBottle&) = delete;

  Result<int> run();

 private:
  void progress(const std::string& line) {
    if (opt_.progress) opt_.progress(line);
  }
  Status prepare_state();
  Status write_agent_files();
  Status share_workspace();
  void warn_git_commands();
  void report_git_added();
  Status start_sidecar(const std::vector<std::string>& token_env);
  Status wait_ready();
  Result<int> run_agent(const std::vector<std::string>& env);
  Result<int> run_vm_agent(const std::vector<std::string>& env);
  void teardown();
  Status save_metadata() { return write_metadata(dir_, md_); }
  // For state changes that must not stop what is under way: a failed write is reported.
  void save_metadata_or_warn() {
    if (auto st = save_metadata(); !st) progress("warning: bottle state not recorded: " + st.error());
  }

  const Plan& plan_;
  const LaunchOptions& opt_;
  std::string slug_, dir_, ns_;
  BottleMetadata md_;
  std::vector<SkillContent> skills_;  // read before anything is created
  AgentUser user_;
  std::vector<GitFinding> git_before_;  // what the host's git would run, before the agent
  CrashGuard guard_;                    // destroyed (disarmed) after ~LocalBottle's teardown()
  ChildProcess init_;
  bool netns_created_ = false;
  bool torn_down_ = false;
  std::string init_bin_;
};

Status LocalBottle::prepare_state() {
  auto slug = choose_slug(plan_.agent, opt_.label);
  if (!slug) return Error{slug.error()};
  slug_ = *slug;
  dir_ = state_dir(slug_);
  ns_ = netns_name(slug_);
  // A reused label: the old bottle is dead (choose_slug checked). Its files, above all a
  // stale ready file, must not leak into this start.
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (ec) return Error{dir_ + ": " + ec.message()};
  if (fs::exists(netns_path(ns_))) {
    if (auto st = delete_netns(ns_); !st) return st;
  }
  for (const auto& [sub, mode] : std::vector<std::pair<std::string, mode_t>>{
           {"", 0700}, {"/ca", 0700}, {"/routes", 0700}, {"/logs", 0700}, {"/agent", 0755}}) {
    if (auto st = make_dir(dir_ + sub, mode); !st) return st;
  }
  md_.slug = slug_;
  md_.label = opt_.label.empty() ? slug_ : opt_.label;
  md_.agent = plan_.agent;
  md_.bottle = plan_.bottle;
  md_.backend = plan_.backend == "vm" ? "vm" : "local";
  md_.created = now_iso8601();
  md_.status = "starting";
  md_.pids.orchestrator = identify_process(::getpid());
  md_.workspace = opt_.workspace;
  auto user = choose_agent_user(
      slug_, opt_.env_sources.host ? opt_.env_sources.host : process_env_sources().host);
  if (!user) return Error{"agent uid: " + user.error()};
  user_ = *user;
  md_.agent_uid = user_.uid;
  md_.agent_gid = user_.gid;
  md_.init_ctl = init_ctl_path(slug_);
  if (auto st = save_metadata(); !st) return st;
  // From here on something exists to tear down, even if this process is killed outright.
  auto guard = CrashGuard::start(
      [slug = slug_] {
        auto md = read_metadata(state_dir(slug));
        if (md && md->status == "kept") return;
        auto log = [](const std::string& line) {
          std::fprintf(stderr, "bottle: %s\n", line.c_str());
        };
        log("the bottle process died; tearing " + slug + " down");
        (void)remove_leftovers(slug, log);
      },
      dir_ + "/logs/crash-guard.log");
  if (!guard) return Error{"crash guard: " + guard.error()};
  guard_ = std::move(*guard);
  md_.pids.crash_guard = identify_process(guard_.pid());
  return save_metadata();
}

Status LocalBottle::write_agent_files() {
  if (auto st = write_bottle_files(plan_, dir_, slug_, skills_); !st) return st;
  // The agent reads these as its own uid (the prompt is 0600): they are its files.
  return chown_tree(dir_ + "/agent", user_.uid, user_.gid);
}

// Reusing a workspace whose git already runs commands (a previous bottle may have put
// them there): say so before anything runs.
void LocalBottle::warn_git_commands() {
  git_before_ = scan_workspace_git(opt_.workspace);
  constexpr size_t kShown = 10;
  for (size_t i = 0; i < git_before_.size() && i < kShown; ++i) {
    progress("warning: git in this workspace runs commands on your host: " + git_before_[i].where +
             ": " + git_before_[i].what + " (check it before using git there)");
  }
  if (git_before_.size() > kShown)
    progress("warning: ... and " + std::to_string(git_before_.size() - kShown) + " more");
}

void LocalBottle::report_git_added() {
  for (const auto& f : added_findings(git_before_, scan_workspace_git(opt_.workspace))) {
    if (remove_redirect(opt_.workspace, f)) {
      progress("warning: the agent created " + f.where + " (" + f.what + "); removed");
      continue;
    }
    progress("warning: the agent added something your host's git would run: " + f.where + ": " +
             f.what + " (remove it before using git there)");
  }
}

// A bottle uid owns nothing in the workspace: it gets an ACL entry on every directory and
// file there, revoked at teardown. The metadata says so first, so that a crash half-way
// is cleaned up too.
Status LocalBottle::share_workspace() {
  if (user_.operator_account) return OkStatus();
  md_.workspace_shared = true;
  if (auto st = save_metadata(); !st) return st;
  progress("sharing the workspace with the agent's " + describe(user_));
  auto n = grant_workspace(opt_.workspace, user_.uid);
  if (!n) return Error{n.error()};
  if (n->failed) {
    progress("warning: " + std::to_string(n->failed) +
             " entries of the workspace could not be shared; the agent cannot write them");
  }
  return OkStatus();
}

Status LocalBottle::start_sidecar(const std::vector<std::string>& token_env) {
  progress("creating network namespace " + ns_ + " (only lo)");
  if (auto st = create_netns(ns_); !st) return Error{"network namespace: " + st.error()};
  netns_created_ = true;
  md_.netns = ns_;
  // `bottle stop` finds what to clean up in metadata.json: a bottle it cannot record
  // does not start.
  if (auto st = save_metadata(); !st) return st;

  std::vector<UniqueFd> listeners;
  InitLayout layout;
  auto add = [&](uint16_t port, int& slot) -> Status {
    auto fd = listen_in_netns(ns_, port);
    if (!fd) return Error{"listener: " + fd.error()};
    slot = 3 + static_cast<int>(listeners.size());
    listeners.push_back(std::move(*fd));
    return OkStatus();
  };
  if (auto st = add(kEgressPort, layout.egress_fd); !st) return st;
  if (!plan_.gitgate.binary.empty()) {
    if (auto st = add(kGitgateGitPort, layout.gitgate_git_fd); !st) return st;
    if (auto st = add(kGitgateHttpPort, layout.gitgate_http_fd); !st) return st;
  }
  if (!plan_.supervise_daemon.binary.empty()) {
    if (auto st = add(kSupervisePort, layout.supervise_fd); !st) return st;
  }
  auto port = free_loopback_port();
  if (!port) return Error{port.error()};
  md_.admin_port = *port;
  layout.admin_port = *port;
  while (!plan_.gitgate.binary.empty() &&
         (layout.gitgate_admin_port == 0 || layout.gitgate_admin_port == layout.admin_port)) {
    auto gate_admin = free_loopback_port();
    if (!gate_admin) return Error{gate_admin.error()};
    layout.gitgate_admin_port = *gate_admin;
  }
  layout.routes_file = dir_ + "/routes/routes.yaml";
  layout.ca_cert = dir_ + "/ca/ca.pem";
  layout.ca_key = dir_ + "/ca/ca-key.pem";
  layout.gitgate_config = dir_ + "/gitgate.yaml";
  layout.gitgate_state = dir_ + "/gitgate";
  layout.supervise_queue = dir_ + "/proposals";
  layout.init_ctl = md_.init_ctl;
  layout.slug = slug_;
  if (!plan_.supervise_daemon.binary.empty()) {
    if (auto st = make_dir(layout.supervise_queue, 0700); !st) return st;
  }
  if (!plan_.gitgate.binary.empty()) {
    GitgateLayout gate;
    if (!plan_.supervise_daemon.binary.empty()) gate.proposals_queue = layout.supervise_queue;
    gate.bottle = slug_;
    if (auto st = write_gitgate_files(plan_, layout.gitgate_state, layout.gitgate_config, gate);
        !st)
      return st;
  }
  if (auto st = write_file_atomic(dir_ + "/init.yaml", render_init_yaml(plan_, layout), 0600); !st)
    return st;

  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + dir_,
      "BOTTLE_DAEMONS=" + daemons_csv(plan_)};
  env.insert(env.end(), token_env.begin(), token_env.end());
  SpawnOptions so;
  so.argv = {init_bin_,    "--config",     dir_ + "/init.yaml", "--ctl",
             md_.init_ctl, "--ready-file", dir_ + "/ready"};
  so.env = env;
  for (const auto& l : listeners) so.pass_fds.push_back(l.get());
  so.stdout_file = so.stderr_file = dir_ + "/logs/sidecar.log";
  so.stdin_null = true;
  so.new_session = true;  // the operator's Ctrl-C is for the agent; we stop init ourselves
  // The token holder dies with us, whatever kills us. A kept bottle outlives us on purpose.
  if (!opt_.keep) so.parent_death_signal = SIGTERM;
  progress("starting sidecar: bottle-init with " + daemons_csv(plan_));
  auto child = spawn(so);
  if (!child) return Error{"bottle-init: " + child.error()};
  init_ = std::move(*child);
  md_.pids.init = identify_process(init_.pid());
  if (auto st = save_metadata(); !st) return st;
  return wait_ready();
}

// A daemon that exits before the bundle is ready will only crash-loop: report what it
// printed instead of waiting out the timeout. Returns "" while nothing has exited.
std::string startup_failure(const std::string& log_path) {
  std::istringstream in(read_text(log_path));
  std::string line, exited, last_output;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    const std::string event = j.value("event", "");
    if (event == "output") last_output = j.value("daemon", "?") + ": " + j.value("line", "");
    if (event == "daemon_exited" && exited.empty()) {
      exited = j.value("daemon", "?") + " exited (" + j.value("status", "?") + ") during startup";
    }
  }
  if (exited.empty()) return "";
  return exited + (last_output.empty() ? "" : "; last output: " + last_output);
}

Status LocalBottle::wait_ready() {
  const std::string ready = dir_ + "/ready";
  auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  auto delay = 5ms;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(ready)) {
      progress("sidecar ready (egress on 127.0.0.1:" + std::to_string(kEgressPort) + " inside " +
               ns_ + ")");
      return OkStatus();
    }
    if (auto why = startup_failure(dir_ + "/logs/sidecar.log"); !why.empty()) {
      return Error{"sidecar failed: " + why + " (full log: " + dir_ + "/logs/sidecar.log)"};
    }
    if (auto code = init_.poll()) {
      return Error{"bottle-init exited with status " + std::to_string(*code) +
                   " before it was ready:\n" + tail_lines(dir_ + "/logs/sidecar.log", 15)};
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, 100ms);
  }
  return Error{"sidecar not ready after " + std::to_string(kReadyTimeout.count()) + " s:\n" +
               tail_lines(dir_ + "/logs/sidecar.log", 15)};
}

Result<int> LocalBottle::run_agent(const std::vector<std::string>& env) {
  if (plan_.backend == "vm") return run_vm_agent(env);
  SandboxSpec s;
  s.bwrap = find_helper_binary("bwrap");
  if (s.bwrap.empty()) return Error{"bwrap not found (apt-get install bubblewrap)"};
  s.workspace = opt_.workspace;
  const auto git_binds = git_protection(opt_.workspace);
  for (const auto& b : git_binds) s.workspace_binds.emplace_back(b.path, b.read_only);
  s.system = host_system_dirs();
  s.argv = plan_.launch_argv;
  for (const auto& skill : plan_.skills) {
    const std::string name = fs::path(skill.destination).filename().string();
    if (skill.destination.rfind(plan_.layout.files_dir + "/", 0) != 0) {
      s.agent_file_binds.emplace_back("skills/" + name, skill.destination);
    }
  }
  // The plan says what the agent is told (proxy, CA, gitconfig...); the slug is ours.
  for (const auto& [name, value] : plan_.sandbox_env) s.env.push_back(name + "=" + value);
  s.env.push_back("BOTTLE_SLUG=" + slug_);
  if (opt_.interactive) {
    const char* term = std::getenv("TERM");
    s.env.push_back(std::string("TERM=") + (term && *term ? term : "xterm-256color"));
  }
  s.env.insert(s.env.end(), env.begin(), env.end());
  auto ns = open_netns(ns_);
  if (!ns) return Error{ns.error()};
  // bwrap runs as the agent's uid and reads these through descriptors: 3, 4, 5 in it.
  auto seccomp = setid_filter_fd();
  if (!seccomp) return Error{seccomp.error()};
  auto passwd = memfd_with("passwd", agent_passwd());
  if (!passwd) return Error{passwd.error()};
  auto group = memfd_with("group", agent_group());
  if (!group) return Error{group.error()};
  s.seccomp_fd = 3;
  s.passwd_fd = 4;
  s.group_fd = 5;
  // Never the operator's terminal or bottle's own pipes: its own, relayed.
  auto io = AgentStdio::open(opt_.interactive, user_.uid, user_.gid);
  if (!io) return Error{"agent stdio: " + io.error()};
  // Its own session either way: with a pty the pty is its controlling terminal, else none.
  s.new_session = !io->terminal();
  SpawnOptions so;
  so.argv = bwrap_argv(s);
  so.env = std::vector<std::string>{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  so.netns_fd = ns->get();
  so.stdio = io->child_fds();
  so.new_session = true;
  so.controlling_terminal = io->terminal();
  so.pass_fds = {seccomp->get(), passwd->get(), group->get()};
  so.stage_dir = kStageDir;
  so.staged = {{opt_.workspace, kStagedWorkspace}, {dir_ + "/agent", kStagedAgentFiles}};
  so.run_as = std::make_pair(user_.uid, user_.gid);
  md_.agent_started = static_cast<long long>(std::time(nullptr));
  progress("running agent as " + describe(user_) + ": " + one_line(plan_.argv));
  // While attached, the operator's window says which bottle it is.
  TerminalTitle title(opt_.interactive ? STDOUT_FILENO : -1, "bottle " + md_.label);
  auto child = spawn(so);
  if (!child) return Error{"agent: " + child.error()};
  io->child_started();
  g_agent_pid = child->pid();
  md_.pids.agent = identify_process(child->pid());
  md_.status = "running";
  save_metadata_or_warn();
  // Messages wait until the operator's terminal is itself again.
  GitDirWatch git_watch = GitDirWatch::start(opt_.workspace, git_binds);
  std::vector<std::string> redirects_removed;
  io->relay({git_watch.fd(), [&] {
               for (auto& r : git_watch.on_readable()) redirects_removed.push_back(std::move(r));
             }});
  int code = child->wait();
  for (const auto& r : redirects_removed)
    progress("warning: the agent created " + r +
             " (it would point your host's git at another "
             "config); removed");
  g_agent_pid = 0;
  return code;
}

// The vm backend: the same sidecar, the agent in a guest (vm_guest.h). QEMU is the
// process the bottle records as its agent, so stop and cleanup find it.
Result<int> LocalBottle::run_vm_agent(const std::vector<std::string>& env) {
  VmLaunch l;
  l.state_dir = dir_;
  l.netns = ns_;
  l.workspace = opt_.workspace;
  l.files_dir = plan_.layout.files_dir;
  l.home = plan_.layout.home;
  l.uid = user_.uid;
  l.gid = user_.gid;
  for (const auto& [name, value] : plan_.sandbox_env) l.env.push_back(name + "=" + value);
  l.env.push_back("BOTTLE_SLUG=" + slug_);
  if (opt_.interactive) {
    const char* term = std::getenv("TERM");
    l.env.push_back(std::string("TERM=") + (term && *term ? term : "xterm-256color"));
  }
  l.env.insert(l.env.end(), env.begin(), env.end());
  l.argv = plan_.launch_argv;
  l.ports = {kEgressPort};
  if (!plan_.gitgate.binary.empty())
    l.ports.insert(l.ports.end(), {kGitgateGitPort, kGitgateHttpPort});
  if (!plan_.supervise_daemon.binary.empty()) l.ports.push_back(kSupervisePort);
  l.resources = plan_.vm;
  l.workspace_binds = git_protection(opt_.workspace);
  auto image = find_guest_image();
  if (!image) return Error{image.error()};
  l.image = *image;
  l.accel = choose_accel(l.image);
  progress(l.accel.name == "kvm" ? "vm: KVM (" + l.accel.why + ")"
                                 : "vm: no KVM, using TCG, which is slower (" + l.accel.why + ")");
  auto io = AgentStdio::open(opt_.interactive, user_.uid, user_.gid);
  if (!io) return Error{"agent stdio: " + io.error()};
  // With its own pty the agent's console is a terminal (stderr on it too), else raw pipes.
  l.interactive = io->terminal();
  const std::string console_log = dir_ + "/logs/agent-console.log";
  UniqueFd log_fd(::open(console_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log_fd) return Error{"open " + console_log + ": " + std::strerror(errno)};
  io->log_output_to(std::move(log_fd));
  UniqueFd control;  // the guest's end of the resize channel, QEMU's fd 3
  if (l.interactive) {
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
      return Error{std::string("socketpair for the console's resizes: ") + std::strerror(errno)};
    io->forward_resizes_to(UniqueFd(sp[0]));
    control = UniqueFd(sp[1]);
    l.control_fd = control.get();
  }
  md_.agent_started = static_cast<long long>(std::time(nullptr));
  progress("booting the guest (" + l.resources.memory + ", " + std::to_string(l.resources.cpus) +
           " cpu) for the agent as " + describe(user_) + ": " + one_line(plan_.argv));
  TerminalTitle title(opt_.interactive ? STDOUT_FILENO : -1, "bottle " + md_.label);
  // The guest writes the workspace through virtiofsd, on the host: the host's inotify
  // sees a redirect the agent creates, as for local.
  GitDirWatch git_watch = GitDirWatch::start(opt_.workspace, l.workspace_binds);
  std::vector<std::string> redirects_removed;
  auto code = orchestrator::run_vm_agent(
      l, io->child_fds(), io->terminal(),
      [&](pid_t qemu) {
        io->child_started();
        g_agent_pid = qemu;
        md_.pids.agent = identify_process(qemu);
        md_.status = "running";
        save_metadata_or_warn();
      },
      [&] {
        io->relay({git_watch.fd(), [&] {
                     for (auto& r : git_watch.on_readable())
                       redirects_removed.push_back(std::move(r));
                   }});
      });
  for (const auto& r : redirects_removed)
    progress("warning: the agent created " + r +
             " (it would point your host's git at another config); removed");
  g_agent_pid = 0;
  if (!code && g_stop_requested) return 143;
  return code;
}

void LocalBottle::teardown() {
  if (torn_down_ || slug_.empty()) return;
  torn_down_ = true;
  if (init_.pid() > 0) {
    progress("stopping sidecar");
    init_.terminate(10s);
  }
  if (netns_created_) {
    // Anything still inside the namespace (a daemon init lost track of) goes too.
    kill_netns_processes(ns_);
    if (auto st = delete_netns(ns_); !st) progress("warning: " + st.error());
  }
  check_workspace_after(md_, [this](const std::string& l) { progress(l); });
  if (md_.pids.agent.pid > 0) report_git_added();
  std::error_code ec;
  fs::remove(dir_ + "/ca/ca-key.pem", ec);
  md_.status = "exited";
  md_.workspace_shared = false;
  save_metadata_or_warn();
  guard_.disarm();
}

Result<int> LocalBottle::run() {
  if (::geteuid() != 0) {
    return Error{
        "the local backend needs root for network namespaces (run as root, or see `bottle "
        "doctor`)"};
  }
  // The state root holds every bottle's CA key: it must never be inside the workspace.
  const std::string root = fs::weakly_canonical(state_root()).string();
  if (opt_.workspace.empty() || opt_.workspace == "/" || root == opt_.workspace ||
      root.rfind(opt_.workspace + "/", 0) == 0 || opt_.workspace.rfind(root + "/", 0) == 0) {
    return Error{"workspace '" + opt_.workspace + "' would expose bottle state (" + root +
                 ") to the agent; pass --cwd DIR outside it"};
  }
  if (plan_.egress.binary.empty()) return Error{"bottle-egress not found (see `bottle doctor`)"};
  init_bin_ = find_helper_binary("bottle-init");
  if (init_bin_.empty()) return Error{"bottle-init not found (see `bottle doctor`)"};
  if (!agent_program_exists(plan_.argv.front(), plan_.layout.path)) {
    return Error{"agent command '" + plan_.argv.front() +
                 "' is not installed: the sandbox runs "
                 "programs from the host's " +
                 plan_.layout.path + " (install it, or pass -- cmd...)"};
  }
  // Resolve every value before anything is created, so a missing variable costs nothing.
  auto agent_env = resolve_env(plan_.env, opt_.env_sources);
  if (!agent_env) return Error{agent_env.error()};
  auto tokens = resolve_token_slots(plan_, opt_.env_sources);
  if (!tokens) return Error{tokens.error()};
  auto skills = read_skills(plan_);
  if (!skills) return Error{skills.error()};
  skills_ = std::move(*skills);

  if (auto st = prepare_state(); !st) return Error{st.error()};
  progress("bottle " + slug_ + ": state in " + dir_);
  if (auto st = write_agent_files(); !st) return Error{st.error()};
  warn_git_commands();
  if (auto st = share_workspace(); !st) return Error{st.error()};
  if (auto st = start_sidecar(*tokens); !st) return Error{st.error()};
  if (g_stop_requested) return 143;
  auto code = run_agent(*agent_env);
  if (opt_.keep && code && !g_stop_requested) {
    // The sidecar and namespace stay for inspection; `bottle stop` removes them.
    init_.release();
    torn_down_ = true;
    md_.status = "kept";
    save_metadata_or_warn();
    guard_.disarm();
    progress("kept " + slug_ + " (sidecar and namespace " + ns_ + " still up): bottle stop " +
             slug_);
    return code;
  }
  teardown();
  return code;
}

}  // namespace

Result<int> run_local(const Plan& plan, const LaunchOptions& options) {
  // While the agent runs, an interactive Ctrl-C is a byte on the raw terminal, relayed to
  // the agent's own pty; before and after, it stops the bottle.
  install_stop_handlers(forward_stop);
  LocalBottle bottle(plan, options);
  return bottle.run();
}

Status remove_leftovers(const std::string& slug,
                        const std::function<void(const std::string&)>& progress) {
  auto md = read_metadata(state_dir(slug));
  if (md) {
    // Only the processes recorded with their start times: never a recycled pid.
    stop_process(md->pids.agent, 5s);
    if (process_alive(md->pids.init)) progress("stopping sidecar of " + slug);
    if (!stop_process(md->pids.init, 10s))
      progress("warning: bottle-init of " + slug + " survived");
  }
  // The namespace is named after the directory, whatever metadata.json says.
  const std::string ns = netns_name(slug);
  kill_netns_processes(ns);
  Status deleted = delete_netns(ns);
  std::error_code ec;
  fs::remove(state_dir(slug) + "/ca/ca-key.pem", ec);
  if (md && md->status != "exited") {
    check_workspace_after(*md, progress);
    md->status = "exited";
    md->workspace_shared = false;
    if (fs::is_directory(state_dir(slug))) (void)write_metadata(state_dir(slug), *md);
  }
  return deleted;
}

Status stop_local(const std::string& slug,
                  const std::function<void(const std::string&)>& progress) {
  auto md = read_metadata(state_dir(slug));
  if (!md) return Error{"no bottle '" + slug + "' (" + md.error() + ")"};
  md->slug = slug;  // the directory's name, never what metadata.json says
  // The orchestrator process owns the teardown; ask it first.
  ask_owner_to_stop(*md, 15s, progress);
  // Then make sure, in case it crashed or hung.
  if (auto st = remove_leftovers(slug, progress); !st) return st;
  progress("stopped " + slug);
  return OkStatus();
}

std::vector<std::string> cleanup_local() {
  std::vector<std::string> done;
  std::vector<std::string> live_ns;
  for (const auto& md : list_metadata()) {  // md.slug is the validated directory name
    if (bottle_alive(md)) {
      live_ns.push_back(netns_name(md.slug));
      continue;
    }
    (void)remove_leftovers(md.slug, [](const std::string&) {});
    std::error_code ec;
    fs::remove_all(state_dir(md.slug), ec);
    done.push_back("removed state of " + md.slug);
  }
  // Namespaces no state dir here knows about may belong to another BOTTLE_HOME: only
  // ones with no process inside that are older than any start-up are orphans.
  const auto now = fs::file_time_type::clock::now();
  for (const auto& ns : list_bottle_netns()) {
    if (std::find(live_ns.begin(), live_ns.end(), ns) != live_ns.end()) continue;
    std::error_code ec;
    auto mtime = fs::last_write_time(netns_path(ns), ec);
    if (ec || now - mtime < std::chrono::minutes(2) || !netns_pids(ns).empty()) continue;
    if (delete_netns(ns)) done.push_back("deleted orphaned namespace " + ns);
  }
  return done;
}

}  // namespace bottle::orchestrator
