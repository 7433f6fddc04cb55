// The daemon table of /etc/bottle/init.yaml (format: init/README.md). Parsing is a pure
// function of the text, so tests and the fuzzer call it without a process.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace bottle::init {

enum class RestartPolicy { always, on_failure, never };

// How init learns that a daemon is serving. `none` = ready as soon as it is started.
struct ReadyProbe {
  enum class Kind { none, tcp, http };
  Kind kind = Kind::none;
  std::string host;  // IPv4/IPv6 literal, no brackets
  uint16_t port = 0;
  std::string path = "/";  // http only
};

struct DaemonSpec {
  std::string name;
  std::vector<std::string> argv;
  std::vector<std::string> env_allow;  // names; a trailing '*' matches a prefix
  std::vector<int> inherit_fds;        // init's fds, handed to the child as 3, 4, ...
  RestartPolicy restart = RestartPolicy::always;
  ReadyProbe ready;
  bool reload_signal = false;  // SIGHUP sent to init is forwarded to this daemon
  // Absolute directory: init watches it (inotify) and sends this daemon SIGHUP once a burst
  // of changes has settled (a kubelet ConfigMap `..data` swap, a temp + rename). "" = none.
  std::string reload_on_change;
};

struct InitConfig {
  std::map<std::string, DaemonSpec> daemons;
};

// `file` only names the input in errors: "init.yaml:4:7: unknown key 'argz'".
Result<InitConfig> parse_init_config(std::string_view text, std::string_view file);
Result<InitConfig> load_init_config(const std::string& path);

// BOTTLE_DAEMONS: comma-separated names, blanks ignored, each must be in `config`.
Result<std::vector<std::string>> select_daemons(std::string_view csv, const InitConfig& config);

}  // namespace bottle::init
