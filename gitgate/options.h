// bottle-gitgate command line (SPEC §6), parsed with CLI11.
#pragma once

#include <optional>
#include <string>
#include <variant>

namespace bottle::gitgate {

struct GateOptions {
  std::string config;
  std::string state;
  std::optional<std::string> listen_git;  // host:port | [v6]:port | fd:N; absent = LISTEN_FDS "git"
  std::optional<std::string> listen_http;  // likewise; LISTEN_FDS "http"
  std::optional<std::string> admin;        // /healthz, /metrics; LISTEN_FDS "admin"
  bool check = false;
};

// Options, or the exit code to stop with (0 after --help/--version, 2 on a usage error;
// the message is already printed).
std::variant<GateOptions, int> parse_options(int argc, char** argv);

}  // namespace bottle::gitgate
