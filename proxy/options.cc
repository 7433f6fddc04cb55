#include "proxy/options.h"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "common/cli.h"
#include "common/version.h"

namespace bottle::proxy {

std::variant<EgressOptions, int> parse_options(int argc, char** argv) {
  EgressOptions o;
  CLI::App app{"bottle-egress: TLS-bumping egress proxy (routes, DLP, credential injection)"};
  app.set_version_flag("--version", version_line("bottle-egress"));
  app.add_option("--config", o.config, "routes.yaml")->required();
  app.add_option("--listen", o.listen,
                 "proxy listener: host:port, [v6]:port or fd:N (default: LISTEN_FDS)");
  app.add_option("--ca-cert", o.ca_cert,
                 "bottle CA certificate (PEM) that signs leaf certificates");
  app.add_option("--ca-key", o.ca_key, "bottle CA private key (PEM)");
  app.add_option("--admin", o.admin, "admin listener for /healthz, /metrics, /routes");
  app.add_option("--threads", o.threads, "event-loop threads (default: one per core)")
      ->check(CLI::Range(1u, 256u));
  app.add_option("--upstream-ca", o.upstream_ca, "PEM bundle that replaces the system trust store");
  app.add_option("--resolve", o.resolve, "pin DNS: host:port:addr (repeatable)");
  app.add_option("--timeout", o.timeouts,
                 "PHASE=SECONDS, repeatable: idle, connect, body, upstream, client, websocket, "
                 "drain (SIGTERM grace)");
  app.add_option("--max-buffered", o.max_buffered,
                 "bytes of bodies held in memory at once, all connections (default 256 MiB)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app.add_flag("--check", o.check, "validate the config and exit (0 ok, 1 invalid)");
  if (auto code = parse_command_line(app, argc, argv, "bottle-egress")) return *code;
  if (!o.check) {
    if (o.ca_cert.empty() || o.ca_key.empty()) {
      std::fprintf(stderr,
                   "bottle-egress: usage: --ca-cert and --ca-key are required (see --help)\n");
      return 2;
    }
  }
  return o;
}

}  // namespace bottle::proxy
