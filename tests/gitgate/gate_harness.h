// End-to-end helpers for bottle-gitgate tests: a real sshd on loopback (its own host key
// and authorized key, its own port; the system sshd is never touched) serving bare
// upstream repos, the gate as a child process, and git runs with a clean environment.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gitgate/subprocess.h"
#include "tests/support/support.h"

namespace bottle::test {

std::string gitgate_binary();

// Why the e2e tests cannot run here ("" when they can): root, sshd, ssh-keygen, git.
std::string gate_e2e_blocker();

struct GitRun {
  int status = -1;
  std::string out, err;
  bool ok() const { return status == 0; }
  std::string all() const { return out + err; }
};

// git with no user or system config, a fixed identity, no prompts. `cwd` "" = scratch.
GitRun git(const std::vector<std::string>& args, const std::string& cwd = "",
           const std::map<std::string, std::string>& env = {});

// sshd on 127.0.0.1:<port> serving bare repos under <dir>/repos.
class SshUpstream {
 public:
  explicit SshUpstream(const std::string& dir);
  ~SshUpstream();
  bool start();  // false (with a reason in error()) when sshd did not come up
  void stop();
  uint16_t port() const { return port_; }
  const std::string& error() const { return error_; }
  std::string host_key() const;  // "ssh-ed25519 AAAA..."
  std::string client_key() const { return dir_ + "/client"; }
  std::string repo_dir(const std::string& name) const { return dir_ + "/repos/" + name + ".git"; }
  std::string url(const std::string& name) const;
  // A bare repo with one commit on main (README), made directly on disk.
  void create_repo(const std::string& name);
  // Commits `files` on `branch` of the upstream repo out of band (not through the gate);
  // returns the new commit id.
  std::string commit(const std::string& name, const std::map<std::string, std::string>& files,
                     const std::string& message = "out of band",
                     const std::string& branch = "main");
  std::string rev(const std::string& name, const std::string& ref) const;  // "" if absent
  std::string refs(const std::string& name) const;                         // for-each-ref output
  bool has_object(const std::string& name, const std::string& id) const;

 private:
  std::string dir_;
  uint16_t port_ = 0;
  std::optional<gitgate::Subprocess> sshd_;
  std::string error_;
};

// bottle-gitgate with a config; listeners on kernel-chosen loopback ports.
class GateProcess {
 public:
  GateProcess(const std::string& dir, const std::string& yaml,
              std::vector<std::string> extra_env = {});
  ~GateProcess();
  bool start();
  void stop();
  uint16_t git_port() const { return git_port_; }
  uint16_t http_port() const { return http_port_; }
  uint16_t admin_port() const { return admin_port_; }
  std::string git_url(const std::string& name) const;
  std::string http_url(const std::string& name) const;
  std::string log() const;
  uint64_t metric(const std::string& line_prefix) const;  // value of the first matching sample
  std::string state_dir() const { return dir_ + "/state"; }
  std::string mirror_rev(const std::string& name, const std::string& ref) const;

 private:
  std::string dir_;
  std::vector<std::string> extra_env_;
  std::optional<gitgate::Subprocess> proc_;
  uint16_t git_port_ = 0, http_port_ = 0, admin_port_ = 0;
};

// gitgate.yaml for repos served from `up` (same key for all); `extra` is appended.
std::string gate_yaml(const SshUpstream& up, const std::vector<std::string>& repos,
                      const std::string& extra = "", const std::string& host_key = "");

// A realistic line (or block) holding a fake secret the detector `id` finds
// (tests/dlp/fake_secrets.h); built at run time, never checked in.
std::string secret_text(const std::string& detector);

}  // namespace bottle::test
