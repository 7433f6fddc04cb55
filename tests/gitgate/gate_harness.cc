#include "tests/gitgate/gate_harness.h"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/dlp/fake_secrets.h"

namespace bottle::test {
namespace {

std::string current_user() {
  const passwd* pw = getpwuid(getuid());
  return pw ? pw->pw_name : "root";
}

std::vector<std::string> client_env(const std::map<std::string, std::string>& extra) {
  const char* path = std::getenv("PATH");
  std::map<std::string, std::string> env = {{"PATH", path ? path : "/usr/bin:/bin"},
                                            {"HOME", "/nonexistent"},
                                            {"LANG", "C"},
                                            {"GIT_CONFIG_NOSYSTEM", "1"},
                                            {"GIT_CONFIG_GLOBAL", "/dev/null"},
                                            {"GIT_TERMINAL_PROMPT", "0"},
                                            {"GIT_AUTHOR_NAME", "Test Agent"},
                                            {"GIT_AUTHOR_EMAIL", "agent@example.test"},
                                            {"GIT_COMMITTER_NAME", "Test Agent"},
                                            {"GIT_COMMITTER_EMAIL", "agent@example.test"}};
  for (const auto& [k, v] : extra) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

GitRun run(std::vector<std::string> argv, const std::vector<std::string>& env) {
  gitgate::SpawnSpec spec;
  spec.argv = std::move(argv);
  spec.env = env;
  auto r = gitgate::run_command(spec, 120'000);
  GitRun out;
  if (!r) {
    out.err = r.error();
    return out;
  }
  out.status = r->status;
  out.out = r->out;
  out.err = r->err;
  return out;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

std::string gitgate_binary() {
  return BOTTLE_GITGATE_BINARY;
}

std::string gate_e2e_blocker() {
  if (which("git").empty()) return "git is not installed";
  if (which("ssh").empty() || which("ssh-keygen").empty()) return "openssh-client is not installed";
  if (which("sshd").empty()) return "sshd is not installed (apt-get install openssh-server)";
  if (geteuid() != 0) return "needs root (a test sshd serves the current user only as root here)";
  return "";
}

GitRun git(const std::vector<std::string>& args, const std::string& cwd,
           const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {which("git")};
  if (!cwd.empty()) argv.insert(argv.end(), {"-C", cwd});
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, client_env(env));
}

SshUpstream::SshUpstream(const std::string& dir) : dir_(dir + "/upstream") {
  std::filesystem::create_directories(dir_ + "/repos");
}

SshUpstream::~SshUpstream() {
  stop();
}

bool SshUpstream::start() {
  for (const char* key : {"hostkey", "client"}) {
    if (!std::filesystem::exists(dir_ + "/" + key)) {
      auto r = run(
          {which("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", key, "-f", dir_ + "/" + key},
          client_env({}));
      if (!r.ok()) {
        error_ = "ssh-keygen: " + r.err;
        return false;
      }
    }
  }
  write_file(dir_ + "/authorized_keys", read_file(dir_ + "/client.pub"));
  chmod((dir_ + "/authorized_keys").c_str(), 0600);
  if (port_ == 0) port_ = free_port();
  write_file(dir_ + "/sshd_config",
             "Port " + std::to_string(port_) + "\nListenAddress 127.0.0.1\nHostKey " + dir_ +
                 "/hostkey\nAuthorizedKeysFile " + dir_ +
                 "/authorized_keys\nPasswordAuthentication no\n"
                 "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
                 "StrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n"
                 "PidFile none\nLogLevel ERROR\nMaxStartups 100:30:200\n");
  // sshd's privilege separation directory (Debian creates it at boot, containers may not).
  mkdir("/run/sshd", 0755);
  gitgate::SpawnSpec spec;
  spec.argv = {which("sshd"), "-D", "-e", "-f", dir_ + "/sshd_config"};
  spec.env = client_env({});
  auto p = gitgate::Subprocess::start(spec);
  if (!p) {
    error_ = p.error();
    return false;
  }
  sshd_.emplace(std::move(*p));
  if (!eventually([&] {
        int fd = connect_loopback(port_);
        if (fd >= 0) close(fd);
        return fd >= 0;
      })) {
    error_ = "sshd did not listen: " + sshd_->captured_stderr();
    return false;
  }
  return true;
}

namespace {

// Every live process below `root` (sshd's per-connection processes leave its group).
std::vector<pid_t> descendants(pid_t root) {
  std::map<pid_t, std::vector<pid_t>> children;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = read_file(e.path().string() + "/stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state;
    pid_t ppid;
    rest >> state >> ppid;
    children[ppid].push_back(std::stoi(name));
  }
  std::vector<pid_t> out, todo = {root};
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    for (pid_t c : children[p]) {
      out.push_back(c);
      todo.push_back(c);
    }
  }
  return out;
}

}  // namespace

void SshUpstream::stop() {
  if (!sshd_) return;
  // The upstream goes down as a whole: the listener and every open connection.
  for (pid_t p : descendants(sshd_->pid())) ::kill(p, SIGKILL);
  sshd_.reset();
}

std::string SshUpstream::host_key() const {
  std::istringstream in(read_file(dir_ + "/hostkey.pub"));
  std::string type, blob;
  in >> type >> blob;
  return type + " " + blob;
}

std::string SshUpstream::url(const std::string& name) const {
  return "ssh://" + current_user() + "@127.0.0.1:" + std::to_string(port_) + repo_dir(name);
}

void SshUpstream::create_repo(const std::string& name) {
  git({"init", "-q", "--bare", "-b", "main", repo_dir(name)});
  commit(name, {{"README", "hello from the upstream\n"}}, "initial commit");
}

std::string SshUpstream::commit(const std::string& name,
                                const std::map<std::string, std::string>& files,
                                const std::string& message, const std::string& branch) {
  const std::string work = dir_ + "/work-" + name;
  std::filesystem::remove_all(work);
  git({"clone", "-q", repo_dir(name), work});
  git({"checkout", "-q", "-B", branch}, work);
  if (!rev(name, "refs/heads/" + branch).empty())
    git({"reset", "-q", "--hard", "origin/" + branch}, work);
  for (const auto& [path, text] : files) {
    std::filesystem::create_directories(std::filesystem::path(work + "/" + path).parent_path());
    write_file(work + "/" + path, text);
  }
  git({"add", "-A"}, work);
  git({"commit", "-q", "-m", message}, work);
  git({"push", "-q", "origin", "HEAD:refs/heads/" + branch}, work);
  std::string id = trimmed(git({"rev-parse", "HEAD"}, work).out);
  std::filesystem::remove_all(work);
  return id;
}

std::string SshUpstream::rev(const std::string& name, const std::string& ref) const {
  auto r = git({"rev-parse", "--verify", "-q", ref}, repo_dir(name));
  return r.ok() ? trimmed(r.out) : "";
}

std::string SshUpstream::refs(const std::string& name) const {
  return git({"for-each-ref", "--format=%(objectname) %(refname)"}, repo_dir(name)).out;
}

bool SshUpstream::has_object(const std::string& name, const std::string& id) const {
  return git({"cat-file", "-e", id}, repo_dir(name)).ok();
}

GateProcess::GateProcess(const std::string& dir, const std::string& yaml,
                         std::vector<std::string> extra_env)
    : dir_(dir + "/gate"), extra_env_(std::move(extra_env)) {
  std::filesystem::create_directories(dir_);
  write_file(dir_ + "/gitgate.yaml", yaml);
}

GateProcess::~GateProcess() {
  stop();
}

bool GateProcess::start() {
  gitgate::SpawnSpec spec;
  spec.argv = {gitgate_binary(), "--config",     dir_ + "/gitgate.yaml", "--state",
               state_dir(),      "--listen-git", "127.0.0.1:0",          "--listen-http",
               "127.0.0.1:0",    "--admin",      "127.0.0.1:0"};
  spec.env = client_env({});
  spec.env.insert(spec.env.end(), extra_env_.begin(), extra_env_.end());
  auto p = gitgate::Subprocess::start(spec);
  if (!p) return false;
  proc_.emplace(std::move(*p));
  auto port_of = [](const std::string& addr) {
    return static_cast<uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
  };
  return eventually([&] {
    std::istringstream lines(log());
    std::string line;
    while (std::getline(lines, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object() || j.value("event", "") != "gitgate_started") continue;
      git_port_ = port_of(j["git"]);
      http_port_ = port_of(j["http"]);
      admin_port_ = port_of(j["admin"]);
      return true;
    }
    return false;
  });
}

void GateProcess::stop() {
  if (!proc_) return;
  // SIGTERM first: the gate closes its ssh connections on the way out.
  proc_->signal(SIGTERM);
  proc_->wait(10'000);
  proc_.reset();
}

std::string GateProcess::git_url(const std::string& name) const {
  return "git://127.0.0.1:" + std::to_string(git_port_) + "/" + name + ".git";
}

std::string GateProcess::http_url(const std::string& name) const {
  return "http://127.0.0.1:" + std::to_string(http_port_) + "/" + name + ".git";
}

std::string GateProcess::log() const {
  return proc_ ? proc_->captured_stderr(64 << 20) : "";
}

uint64_t GateProcess::metric(const std::string& prefix) const {
  std::istringstream in(http_get(admin_port_, "/metrics"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix + " ", 0) == 0) return std::stoull(line.substr(prefix.size() + 1));
  }
  return ~0ull;
}

std::string GateProcess::mirror_rev(const std::string& name, const std::string& ref) const {
  auto r = git({"rev-parse", "--verify", "-q", ref}, state_dir() + "/mirrors/" + name + ".git");
  return r.ok() ? trimmed(r.out) : "";
}

std::string gate_yaml(const SshUpstream& up, const std::vector<std::string>& repos,
                      const std::string& extra, const std::string& host_key) {
  std::string y = "repos:\n";
  for (const auto& name : repos) {
    y += "  - name: " + name + "\n    upstream: " + up.url(name) + "\n    host_key: \"" +
         (host_key.empty() ? up.host_key() : host_key) + "\"\n    key: " + up.client_key() + "\n";
  }
  return y + extra;
}

std::string secret_text(const std::string& detector) {
  for (const auto& s : dlp::testing::fake_samples(7)) {
    if (s.detector == detector) return s.text + "\n";
  }
  return "";
}

}  // namespace bottle::test
