// bottle-egress command line (SPEC §4.1), parsed with CLI11.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace bottle::proxy {

struct EgressOptions {
  std::string config;
  std::optional<std::string> listen;  // host:port | [v6]:port | fd:N; absent = LISTEN_FDS
  std::string ca_cert;
  std::string ca_key;
  std::optional<std::string> admin;
  unsigned threads = 0;  // 0 = one per core
  std::optional<std::string> upstream_ca;
  std::vector<std::string> resolve;
  std::vector<std::string> timeouts;  // PHASE=SECONDS (limits.h)
  uint64_t max_buffered = 256ull << 20;
  bool check = false;
};

// Options, or the exit code to stop with (0 after --help/--version, 2 on a usage error;
// the message is already printed).
std::variant<EgressOptions, int> parse_options(int argc, char** argv);

}  // namespace bottle::proxy
