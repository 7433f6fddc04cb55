#include "orchestrator/local_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/tls/ca.h"
#include "orchestrator/netns.h"
#include "orchestrator/preflight.h"
#include "orchestrator/process.h"
#include "orchestrator/render.h"
#include "orchestrator/sandbox.h"
#include "orchestrator/state.h"

namespace bottle::orchestrator {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr uint16_t kEgressPort = 9099;
constexpr uint16_t kGitgatePort = 9418;
constexpr uint16_t kSupervisePort = 9100;
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

std::string system_ca_bundle() {
  for (const char* p : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"}) {
    if (fs::exists(p)) return read_text(p);
  }
  return "";
}

constexpr const char* kSandboxPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The sandbox shares the host's system directories, so the agent's program can be
// looked up here before anything is started. Relative paths live in the workspace.
bool agent_program_exists(const std::string& program) {
  if (program.find('/') != std::string::npos)
    return program[0] != '/' || ::access(program.c_str(), X_OK) == 0;
  std::string dirs = kSandboxPath;
  size_t start = 0;
  while (start < dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    if (::access((dirs.substr(start, end - start) + "/" + program).c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

std::string render_gitconfig(const Plan& p) {
  std::ostringstream o;
  if (!p.git_user.name.empty() || !p.git_user.email.empty()) {
    o << "[user]\n";
    if (!p.git_user.name.empty()) o << "\tname = " << p.git_user.name << "\n";
    if (!p.git_user.email.empty()) o << "\temail = " << p.git_user.email << "\n";
  }
  if (!p.gitgate.binary.empty()) {
    for (const auto& r : p.repos) {
      if (!r.fields["url"]) continue;
      o << "[url \"git://127.0.0.1:" << kGitgatePort << "/" << r.name << ".git\"]\n"
        << "\tinsteadOf = " << r.fields["url"].Scalar() << "\n";
    }
  }
  return o.str();
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
  Status start_sidecar(const std::vector<std::string>& token_env);
  Status wait_ready();
  Result<int> run_agent(const std::vector<std::string>& env);
  void teardown();
  Status save_metadata() { return write_metadata(dir_, md_); }

  const Plan& plan_;
  const LaunchOptions& opt_;
  std::string slug_, dir_, ns_;
  BottleMetadata md_;
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
  md_.backend = "local";
  md_.created = now_iso8601();
  md_.status = "starting";
  md_.orchestrator_pid = ::getpid();
  md_.workspace = opt_.workspace;
  md_.init_ctl = dir_ + "/init.sock";
  return save_metadata();
}

Status LocalBottle::write_agent_files() {
  auto ca = tls::mint_ca("bot-bottle " + slug_, 30);
  if (!ca) return Error{"minting the bottle CA: " + ca.error()};
  if (auto st = tls::write_private_file(dir_ + "/ca/ca-key.pem", ca->key_pem, 0600); !st) return st;
  if (auto st = write_file_atomic(dir_ + "/ca/ca.pem", ca->cert_pem, 0644); !st) return st;
  const std::string a = dir_ + "/agent";
  if (auto st = write_file_atomic(a + "/bottle-ca.pem", ca->cert_pem, 0644); !st) return st;
  if (auto st =
          write_file_atomic(a + "/ca-bundle.pem", system_ca_bundle() + "\n" + ca->cert_pem, 0644);
      !st)
    return st;
  if (auto st = write_file_atomic(a + "/gitconfig", render_gitconfig(plan_), 0644); !st) return st;
  if (auto st = write_file_atomic(a + "/prompt.md", plan_.prompt, 0600); !st) return st;
  // Skills are copied, so the agent never writes into the operator's manifest tree.
  for (const auto& skill : plan_.skills) {
    std::error_code ec;
    if (!fs::is_directory(skill.source, ec) && !fs::is_regular_file(skill.source, ec)) {
      return Error{"skill " + skill.source + ": not found (agent " + plan_.agent_path + ")"};
    }
    const std::string copy = a + "/skills/" + fs::path(skill.destination).filename().string();
    fs::create_directories(a + "/skills", ec);
    fs::copy(skill.source, copy, fs::copy_options::recursive | fs::copy_options::overwrite_existing,
             ec);
    if (ec) return Error{"skill " + skill.source + ": copy: " + ec.message()};
  }
  if (auto st = write_file_atomic(dir_ + "/routes/routes.yaml", render_routes_yaml(plan_), 0600);
      !st)
    return st;
  return OkStatus();
}

Status LocalBottle::start_sidecar(const std::vector<std::string>& token_env) {
  progress("creating network namespace " + ns_ + " (only lo)");
  if (auto st = create_netns(ns_); !st) return Error{"network namespace: " + st.error()};
  netns_created_ = true;
  md_.netns = ns_;
  (void)save_metadata();

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
    if (auto st = add(kGitgatePort, layout.gitgate_fd); !st) return st;
  }
  if (!plan_.supervise_daemon.binary.empty()) {
    if (auto st = add(kSupervisePort, layout.supervise_fd); !st) return st;
  }
  auto port = free_loopback_port();
  if (!port) return Error{port.error()};
  md_.admin_port = *port;
  layout.admin_port = *port;
  layout.routes_file = dir_ + "/routes/routes.yaml";
  layout.ca_cert = dir_ + "/ca/ca.pem";
  layout.ca_key = dir_ + "/ca/ca-key.pem";
  layout.gitgate_config = dir_ + "/gitgate.yaml";
  layout.gitgate_state = dir_ + "/gitgate";
  layout.supervise_queue = dir_ + "/proposals";
  layout.init_ctl = md_.init_ctl;
  layout.slug = slug_;
  if (!plan_.gitgate.binary.empty()) {
    if (auto st = make_dir(layout.gitgate_state, 0700); !st) return st;
    if (auto st = write_file_atomic(layout.gitgate_config, render_gitgate_yaml(plan_), 0600); !st)
      return st;
  }
  if (!plan_.supervise_daemon.binary.empty()) {
    if (auto st = make_dir(layout.supervise_queue, 0700); !st) return st;
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
  progress("starting sidecar: bottle-init with " + daemons_csv(plan_));
  auto child = spawn(so);
  if (!child) return Error{"bottle-init: " + child.error()};
  init_ = std::move(*child);
  md_.init_pid = init_.pid();
  (void)save_metadata();
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
  SandboxSpec s;
  s.bwrap = find_helper_binary("bwrap");
  if (s.bwrap.empty()) return Error{"bwrap not found (apt-get install bubblewrap)"};
  s.workspace = opt_.workspace;
  s.agent_files_dir = dir_ + "/agent";
  s.interactive = opt_.interactive;
  s.system = host_system_dirs();
  s.argv = plan_.argv;
  for (const auto& skill : plan_.skills) {
    const std::string name = fs::path(skill.destination).filename().string();
    if (skill.destination.rfind(std::string(kAgentFilesDir) + "/", 0) != 0) {
      s.ro_binds.emplace_back(dir_ + "/agent/skills/" + name, skill.destination);
    }
  }
  if (!plan_.supervise_daemon.binary.empty() && !plan_.mcp_registration.empty()) {
    // Register the supervise MCP server with the agent, then become the agent.
    std::string reg;
    for (const auto& w : plan_.mcp_registration) reg += "'" + w + "' ";
    s.argv = {"sh", "-c",
              reg + ">/dev/null 2>&1 || echo 'bottle: MCP registration failed' >&2; exec \"$@\"",
              "sh"};
    s.argv.insert(s.argv.end(), plan_.argv.begin(), plan_.argv.end());
  }
  const std::string proxy = "http://127.0.0.1:" + std::to_string(kEgressPort);
  const std::string files = kAgentFilesDir;
  s.env = {std::string("PATH=") + kSandboxPath,
           std::string("HOME=") + kAgentHome,
           "USER=agent",
           "LANG=C.UTF-8",
           "BOTTLE_SLUG=" + slug_,
           "HTTPS_PROXY=" + proxy,
           "https_proxy=" + proxy,
           "HTTP_PROXY=" + proxy,
           "http_proxy=" + proxy,
           "NO_PROXY=127.0.0.1,localhost,::1",
           "no_proxy=127.0.0.1,localhost,::1",
           "SSL_CERT_FILE=" + files + "/ca-bundle.pem",
           "REQUESTS_CA_BUNDLE=" + files + "/ca-bundle.pem",
           "CURL_CA_BUNDLE=" + files + "/ca-bundle.pem",
           "NODE_EXTRA_CA_CERTS=" + files + "/bottle-ca.pem",
           "CODEX_CA_CERTIFICATE=" + files + "/bottle-ca.pem",
           "GIT_SSL_CAINFO=" + files + "/ca-bundle.pem",
           "GIT_CONFIG_GLOBAL=" + files + "/gitconfig",
           "BOTTLE_PROMPT_FILE=" + files + "/prompt.md"};
  if (opt_.interactive) {
    const char* term = std::getenv("TERM");
    s.env.push_back(std::string("TERM=") + (term && *term ? term : "xterm-256color"));
  }
  s.env.insert(s.env.end(), env.begin(), env.end());
  auto ns = open_netns(ns_);
  if (!ns) return Error{ns.error()};
  SpawnOptions so;
  so.argv = bwrap_argv(s);
  so.env = std::vector<std::string>{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  so.netns_fd = ns->get();
  progress("running agent: " + one_line(plan_.argv));
  auto child = spawn(so);
  if (!child) return Error{"agent: " + child.error()};
  g_agent_pid = child->pid();
  md_.agent_pid = child->pid();
  md_.status = "running";
  (void)save_metadata();
  int code = child->wait();
  g_agent_pid = 0;
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
    for (int pid : netns_pids(ns_)) ::kill(pid, SIGKILL);
    if (auto st = delete_netns(ns_); !st) progress("warning: " + st.error());
  }
  std::error_code ec;
  fs::remove(dir_ + "/ca/ca-key.pem", ec);
  md_.status = "exited";
  (void)save_metadata();
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
  if (!agent_program_exists(plan_.argv.front())) {
    return Error{"agent command '" + plan_.argv.front() +
                 "' is not installed: the sandbox runs "
                 "programs from the host's " +
                 kSandboxPath + " (install it, or pass -- cmd...)"};
  }
  // Resolve every value before anything is created, so a missing variable costs nothing.
  auto agent_env = resolve_env(plan_.env, opt_.env_sources);
  if (!agent_env) return Error{agent_env.error()};
  auto tokens = resolve_token_slots(plan_, opt_.env_sources);
  if (!tokens) return Error{tokens.error()};

  if (auto st = prepare_state(); !st) return Error{st.error()};
  progress("bottle " + slug_ + ": state in " + dir_);
  if (auto st = write_agent_files(); !st) return Error{st.error()};
  if (auto st = start_sidecar(*tokens); !st) return Error{st.error()};
  if (g_stop_requested) return 143;
  auto code = run_agent(*agent_env);
  if (opt_.keep && code && !g_stop_requested) {
    // The sidecar and namespace stay for inspection; `bottle stop` removes them.
    init_.release();
    torn_down_ = true;
    md_.status = "kept";
    (void)save_metadata();
    progress("kept " + slug_ + " (sidecar and namespace " + ns_ + " still up): bottle stop " +
             slug_);
    return code;
  }
  teardown();
  return code;
}

}  // namespace

Result<int> run_local(const Plan& plan, const LaunchOptions& options) {
  struct sigaction sa {};
  sa.sa_handler = forward_stop;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
  if (!options.interactive) {
    ::sigaction(SIGINT, &sa, nullptr);
  } else {
    // Ctrl-C belongs to the agent (same terminal process group).
    ::signal(SIGINT, SIG_IGN);
  }
  LocalBottle bottle(plan, options);
  return bottle.run();
}

Status stop_local(const std::string& slug,
                  const std::function<void(const std::string&)>& progress) {
  auto md = read_metadata(state_dir(slug));
  if (!md) return Error{"no bottle '" + slug + "' (" + md.error() + ")"};
  auto wait_gone = [](pid_t pid, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (process_alive(pid) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    return !process_alive(pid);
  };
  // The orchestrator process owns the teardown; ask it first.
  if (md->orchestrator_pid != ::getpid() && process_alive(md->orchestrator_pid)) {
    progress("asking bottle " + slug + " (pid " + std::to_string(md->orchestrator_pid) +
             ") to stop");
    ::kill(md->orchestrator_pid, SIGTERM);
    wait_gone(md->orchestrator_pid, 15s);
  }
  // Then make sure, in case it crashed or hung.
  for (pid_t pid : {md->agent_pid, md->init_pid}) {
    if (!process_alive(pid)) continue;
    ::kill(pid, SIGTERM);
    if (!wait_gone(pid, 10s)) ::kill(pid, SIGKILL);
  }
  std::string ns = md->netns.empty() ? netns_name(slug) : md->netns;
  for (int pid : netns_pids(ns)) ::kill(pid, SIGKILL);
  if (auto st = delete_netns(ns); !st) return st;
  std::error_code ec;
  fs::remove(state_dir(slug) + "/ca/ca-key.pem", ec);
  auto fresh = read_metadata(state_dir(slug));
  BottleMetadata m = fresh ? *fresh : *md;
  m.status = "exited";
  (void)write_metadata(state_dir(slug), m);
  progress("stopped " + slug);
  return OkStatus();
}

std::vector<std::string> cleanup_local() {
  std::vector<std::string> done;
  std::vector<std::string> live_ns;
  for (const auto& md : list_metadata()) {
    if (bottle_alive(md)) {
      live_ns.push_back(md.netns.empty() ? netns_name(md.slug) : md.netns);
      continue;
    }
    (void)stop_local(md.slug, [](const std::string&) {});
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
