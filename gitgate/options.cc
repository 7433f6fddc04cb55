#include "gitgate/options.h"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "common/cli.h"
#include "common/version.h"

namespace bottle::gitgate {

std::variant<GateOptions, int> parse_options(int argc, char** argv) {
  GateOptions o;
  CLI::App app{
      "bottle-gitgate: git:// and smart-HTTP front of bare mirrors; pushes are secret-scanned "
      "before "
      "they reach the upstream"};
  app.set_version_flag("--version", version_line("bottle-gitgate"));
  app.add_option("--config", o.config, "gitgate.yaml")->required();
  app.add_option("--state", o.state, "state directory (mirrors, keys, pinned host keys)");
  app.add_option("--listen-git", o.listen_git,
                 "git:// listener: host:port, [v6]:port or fd:N (default: LISTEN_FDS 'git')");
  app.add_option("--listen-http", o.listen_http,
                 "smart-HTTP listener: host:port, [v6]:port or fd:N (default: LISTEN_FDS 'http')");
  app.add_option("--admin", o.admin, "admin listener for /healthz and /metrics");
  app.add_flag("--check", o.check, "validate the config and exit (0 ok, 1 invalid)");
  if (auto code = parse_command_line(app, argc, argv, "bottle-gitgate")) return *code;
  if (!o.check && o.state.empty()) {
    std::fprintf(stderr, "bottle-gitgate: usage: --state is required (see --help)\n");
    return 2;
  }
  return o;
}

}  // namespace bottle::gitgate
