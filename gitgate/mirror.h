// The gate's state directory and the blocking git work on a mirror (run off the event
// loop): preparing mirrors, keys and pinned host keys at start, fetching from the
// upstream, and the clean environments git children run with.
//
//   <state>/home/                 HOME of every git child: empty, so no user config applies
//   <state>/hooks/pre-receive  -> this binary (core.hooksPath of receive-pack)
//   <state>/keys/<repo>           private key written from GIT_KEY_<n> (0600)
//   <state>/known_hosts/<repo>    the pinned host key, as "gitgate-<repo> <type> <key>"
//   <state>/ssh/<repo>            ssh ControlMaster socket: one authenticated connection per
//                                 upstream, reused by fetches and pushes for 60 s after use
//   <state>/mirrors/<repo>.git    bare mirror: remote.origin.fetch = +refs/*:refs/*
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/strings.h"
#include "config/gate_config.h"

namespace bottle::gitgate {

// Programs the gate runs, found once at start (absolute paths; no PATH search later).
struct GateTools {
  std::string git;
  std::string ssh;
  std::string self;      // this binary, the pre-receive hook
  std::string path_env;  // PATH handed to git children (git finds its own helpers there)
};
Result<GateTools> find_tools();

class StateDir {
 public:
  explicit StateDir(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }
  std::string home() const { return root_ + "/home"; }
  std::string hooks() const { return root_ + "/hooks"; }
  std::string mirror(const config::GateRepo& r) const {
    return root_ + "/mirrors/" + r.name + ".git";
  }
  std::string known_hosts(const config::GateRepo& r) const {
    return root_ + "/known_hosts/" + r.name;
  }
  // "" when the path would not fit a unix socket address (multiplexing is then off).
  std::string ssh_control(const config::GateRepo& r) const {
    std::string p = root_ + "/ssh/" + r.name;
    return p.size() < 100 ? p : "";
  }
  std::string key(const config::GateRepo& r) const {
    return r.key_file.empty() ? root_ + "/keys/" + r.name : r.key_file;
  }

 private:
  std::string root_;
};

// Environment of every git child: PATH, HOME=<state>/home, no system or global config,
// no prompts. Nothing else of the daemon's environment (proxies, secrets) is passed.
std::vector<std::string> base_env(const GateTools& tools, const StateDir& state);
// base_env plus GIT_SSH_COMMAND for the repo: its key only, BatchMode, ConnectTimeout=10,
// StrictHostKeyChecking against the pinned key alone, one multiplexed connection.
std::vector<std::string> upstream_env(const GateTools& tools, const StateDir& state,
                                      const config::GateRepo& repo);
std::string ssh_command(const GateTools& tools, const StateDir& state,
                        const config::GateRepo& repo);
// shell_quote (common/strings.h) quotes GIT_SSH_COMMAND's words: git runs it through sh.

// Creates the layout above: key files from their env slots, known_hosts from the pinned
// keys, the hook link, and every missing mirror (built in a temporary directory and
// renamed, so a crash never leaves half a mirror). An existing mirror keeps its objects;
// its origin URL follows the config.
Status prepare_state(const config::GateConfig& config, const GateTools& tools,
                     const StateDir& state, const config::EnvLookup& env);

// Closes the multiplexed ssh connections (at shutdown), so none outlives the gate.
void close_ssh_connections(const config::GateConfig& config, const GateTools& tools,
                           const StateDir& state);

struct FetchOutcome {
  bool ok = false;
  std::string error;  // the upstream's own words (git/ssh stderr), for the client
  std::string head;   // set when HEAD was (re)pointed: "refs/heads/main"
  uint64_t ms = 0;
};
// `git fetch --prune origin`; with `sync_head`, then points HEAD at the upstream's default
// branch (`ls-remote --symref`). Blocking: call it off the loop.
FetchOutcome fetch_mirror(const GateTools& tools, const StateDir& state,
                          const config::GateRepo& repo, bool sync_head);

// Upper bound on one upstream command (fetch, ls-remote, push): ssh's own timeouts end a
// dead connection sooner; this ends a live one that never finishes.
inline constexpr uint64_t kUpstreamCommandTimeoutMs = 30 * 60 * 1000;

}  // namespace bottle::gitgate
