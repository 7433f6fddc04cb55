#include "gitgate/mirror.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common/files.h"
#include "gitgate/subprocess.h"

namespace bottle::gitgate {

namespace fs = std::filesystem;

namespace {

std::string search_path(const std::string& path_env, const std::string& name) {
  size_t start = 0;
  while (start <= path_env.size()) {
    size_t end = path_env.find(':', start);
    if (end == std::string::npos) end = path_env.size();
    std::string dir = path_env.substr(start, end - start);
    if (!dir.empty() && dir[0] == '/') {
      std::string candidate = dir + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = end + 1;
  }
  return "";
}

Status make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return Error{path + ": " + std::strerror(errno)};
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Error{path + ": not a directory"};
  return OkStatus();
}

Status git(const GateTools& tools, const StateDir& state, std::vector<std::string> args) {
  args.insert(args.begin(), tools.git);
  SpawnSpec spec;
  spec.argv = std::move(args);
  spec.env = base_env(tools, state);
  auto r = run_command(spec, 60'000);
  if (!r) return Error{r.error()};
  if (!r->ok())
    return Error{"git " + spec.argv[1] + " " + spec.argv[2] + ": " + tail_lines(r->err, 3)};
  return OkStatus();
}

Status prepare_key(const config::GateRepo& repo, const StateDir& state,
                   const config::EnvLookup& env) {
  const std::string path = state.key(repo);
  if (!repo.key_env.empty()) {
    auto text = env(repo.key_env);
    if (!text || text->empty())
      return Error{"repo " + repo.name + ": " + repo.key_env + " is not set"};
    std::string key = *text;
    if (!key.ends_with('\n')) key += '\n';  // ssh refuses a key file without its last newline
    return write_file_atomic(path, key, 0600);
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return Error{"repo " + repo.name + ": key " + path + ": " + std::strerror(errno)};
  if (!S_ISREG(st.st_mode))
    return Error{"repo " + repo.name + ": key " + path + ": not a regular file"};
  if (::access(path.c_str(), R_OK) != 0)
    return Error{"repo " + repo.name + ": key " + path + ": not readable"};
  if ((st.st_mode & 077) != 0) {
    return Error{"repo " + repo.name + ": key " + path +
                 " is readable by others; ssh refuses such keys (chmod 600)"};
  }
  return OkStatus();
}

Status prepare_mirror(const config::GateRepo& repo, const GateTools& tools, const StateDir& state) {
  const std::string dir = state.mirror(repo);
  std::error_code ec;
  if (fs::exists(dir + "/HEAD", ec)) {
    return git(tools, state, {"-C", dir, "config", "remote.origin.url", repo.upstream});
  }
  const std::string tmp =
      state.root() + "/mirrors/." + repo.name + ".git.tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp, ec);
  if (auto st = git(tools, state, {"init", "--bare", "-q", tmp}); !st) return st;
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"remote.origin.url", repo.upstream},
           {"remote.origin.fetch", "+refs/*:refs/*"},  // git remote add --mirror=fetch
           {"gc.auto", "0"},                           // no detached gc outliving a request
           {"receive.fsckObjects", "true"},            // malformed pushed objects never land
           {"uploadpack.allowFilter", "true"}}) {      // partial clones work through the gate
    if (auto st = git(tools, state, {"-C", tmp, "config", key, value}); !st) {
      fs::remove_all(tmp, ec);
      return st;
    }
  }
  if (::rename(tmp.c_str(), dir.c_str()) != 0) {
    int e = errno;
    fs::remove_all(tmp, ec);
    return Error{dir + ": " + std::strerror(e)};
  }
  return OkStatus();
}

}  // namespace

Result<GateTools> find_tools() {
  GateTools t;
  const char* path = std::getenv("PATH");
  t.path_env = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  t.git = search_path(t.path_env, "git");
  if (t.git.empty()) return Error{"git not found in PATH (" + t.path_env + ")"};
  t.ssh = search_path(t.path_env, "ssh");
  if (t.ssh.empty()) return Error{"ssh not found in PATH (" + t.path_env + ")"};
  std::error_code ec;
  t.self = fs::read_symlink("/proc/self/exe", ec).string();
  if (ec) return Error{"cannot find this binary: " + ec.message()};
  return t;
}

std::vector<std::string> base_env(const GateTools& tools, const StateDir& state) {
  return {"PATH=" + tools.path_env, "HOME=" + state.home(),        "LANG=C",
          "GIT_CONFIG_NOSYSTEM=1",  "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
          "GIT_ASKPASS=/bin/false", "SSH_ASKPASS=/bin/false"};
}

std::string ssh_command(const GateTools& tools, const StateDir& state,
                        const config::GateRepo& repo) {
  std::string cmd = shell_quote(tools.ssh);
  for (const std::string& arg : std::vector<std::string>{
           "-F", "/dev/null",  // no user or system ssh_config
           "-i", state.key(repo), "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o",
           "BatchMode=yes", "-o", "ConnectTimeout=10", "-o",
           "StrictHostKeyChecking=yes",  // only the pinned key; never learn one
           "-o", "UserKnownHostsFile=" + state.known_hosts(repo), "-o",
           "GlobalKnownHostsFile=/dev/null", "-o", "HostKeyAlias=gitgate-" + repo.name, "-o",
           "CheckHostIP=no", "-o", "UpdateHostKeys=no",
           // A dead upstream (or a dead multiplexed connection) is noticed within ~15 s.
           "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3", "-o", "LogLevel=ERROR"}) {
    cmd += " " + shell_quote(arg);
  }
  // Fetch-before-read costs one ssh handshake per read otherwise; the master is a child
  // of the first ssh, detached, and closed by close_ssh_connections() at shutdown.
  if (const std::string control = state.ssh_control(repo); !control.empty()) {
    for (const std::string& arg :
         std::vector<std::string>{"-o", "ControlMaster=auto", "-o", "ControlPath=" + control, "-o",
                                  "ControlPersist=60"}) {
      cmd += " " + shell_quote(arg);
    }
  }
  return cmd;
}

std::vector<std::string> upstream_env(const GateTools& tools, const StateDir& state,
                                      const config::GateRepo& repo) {
  auto env = base_env(tools, state);
  env.push_back("GIT_SSH_COMMAND=" + ssh_command(tools, state, repo));
  env.push_back("GIT_SSH_VARIANT=ssh");
  return env;
}

Status prepare_state(const config::GateConfig& config, const GateTools& tools,
                     const StateDir& state, const config::EnvLookup& env) {
  for (const auto& [sub, mode] : std::vector<std::pair<std::string, mode_t>>{{"", 0700},
                                                                             {"/home", 0700},
                                                                             {"/hooks", 0700},
                                                                             {"/keys", 0700},
                                                                             {"/known_hosts", 0700},
                                                                             {"/mirrors", 0700},
                                                                             {"/ssh", 0700}}) {
    if (auto st = make_dir(state.root() + sub, mode); !st) return st;
  }
  const std::string hook = state.hooks() + "/pre-receive";
  const std::string tmp = hook + ".tmp-" + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  if (::symlink(tools.self.c_str(), tmp.c_str()) != 0 || ::rename(tmp.c_str(), hook.c_str()) != 0) {
    return Error{hook + ": " + std::strerror(errno)};
  }
  for (const auto& repo : config.repos) {
    if (auto st = prepare_key(repo, state, env); !st) return st;
    if (auto st = write_file_atomic(state.known_hosts(repo),
                                    "gitgate-" + repo.name + " " + repo.host_key + "\n", 0600);
        !st) {
      return st;
    }
    if (auto st = prepare_mirror(repo, tools, state); !st)
      return Error{"repo " + repo.name + ": " + st.error()};
  }
  return OkStatus();
}

void close_ssh_connections(const config::GateConfig& config, const GateTools& tools,
                           const StateDir& state) {
  for (const auto& repo : config.repos) {
    const std::string control = state.ssh_control(repo);
    std::error_code ec;
    if (control.empty() || !fs::exists(control, ec)) continue;
    SpawnSpec spec;
    spec.argv = {tools.ssh, "-F",   "/dev/null",           "-o", "ControlPath=" + control,
                 "-O",      "exit", "gitgate-" + repo.name};
    spec.env = base_env(tools, state);
    (void)run_command(spec, 5000);
  }
}

FetchOutcome fetch_mirror(const GateTools& tools, const StateDir& state,
                          const config::GateRepo& repo, bool sync_head) {
  const auto start = std::chrono::steady_clock::now();
  FetchOutcome out;
  const std::string dir = state.mirror(repo);
  SpawnSpec spec;
  spec.env = upstream_env(tools, state, repo);
  spec.argv = {tools.git, "-C",    dir, "fetch", "--prune", "--no-write-fetch-head",
               "--quiet", "origin"};
  auto r = run_command(spec, kUpstreamCommandTimeoutMs);
  if (!r || !r->ok()) {
    out.error = !r             ? r.error()
                : r->timed_out ? "fetch from the upstream timed out"
                               : tail_lines(r->err, 8);
    if (out.error.empty())
      out.error = "git fetch exited with status " + std::to_string(r ? r->status : -1);
  } else if (sync_head) {
    spec.argv = {tools.git, "-C", dir, "ls-remote", "--symref", "origin", "HEAD"};
    auto ls = run_command(spec, kUpstreamCommandTimeoutMs);
    if (!ls || !ls->ok()) {
      out.error = !ls ? ls.error() : tail_lines(ls->err, 8);
    } else {
      out.ok = true;
      // "ref: refs/heads/main\tHEAD"; an empty upstream has no HEAD to follow.
      if (ls->out.starts_with("ref: refs/heads/")) {
        std::string ref = ls->out.substr(5, ls->out.find('\t') - 5);
        SpawnSpec set;
        set.env = base_env(tools, state);
        set.argv = {tools.git, "-C", dir, "symbolic-ref", "HEAD", ref};
        auto s = run_command(set, 60'000);
        if (s && s->ok()) out.head = ref;
      }
    }
  } else {
    out.ok = true;
  }
  out.ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - start)
                                     .count());
  return out;
}

}  // namespace bottle::gitgate
