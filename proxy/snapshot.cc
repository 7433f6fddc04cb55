#include "proxy/snapshot.h"

#include <cstdio>
#include <cstdlib>

#include "common/files.h"
#include "common/sha256.h"

namespace bottle::proxy {

Snapshot::Snapshot(std::shared_ptr<const config::RouteTable> routes_in,
                   std::shared_ptr<const dlp::Scanner> scanner_in, uint64_t generation_in,
                   std::vector<std::string> known_secrets_in, std::string config_sha256_in)
    : routes(std::move(routes_in)),
      scanner(std::move(scanner_in)),
      generation(generation_in),
      known_secrets(std::move(known_secrets_in)),
      config_sha256(std::move(config_sha256_in)) {
  if (!routes || !scanner) {
    // A programming error, not an input one: a config without DLP must never serve.
    std::fprintf(stderr, "bottle-egress: internal: snapshot built without %s\n",
                 routes ? "a DLP scanner" : "routes");
    std::abort();
  }
}

Result<std::shared_ptr<const Snapshot>> make_snapshot(
    std::shared_ptr<const config::RouteTable> routes, const config::EnvLookup& env,
    uint64_t generation, std::shared_ptr<const Snapshot> previous, std::string config_sha256) {
  dlp::ScannerConfig sc;
  for (const auto& route : routes->routes) {
    if (!route.auth) continue;
    if (auto token = env(route.auth->token_env); token && !token->empty()) {
      sc.known_secrets.push_back(*token);
    }
  }
  for (const auto& name : routes->known_secrets_env) {
    if (auto v = env(name); v && !v->empty()) sc.known_secrets.push_back(*v);
  }
  std::shared_ptr<const dlp::Scanner> scanner;
  if (previous && previous->known_secrets == sc.known_secrets) {
    scanner = previous->scanner;
  } else {
    auto built = dlp::Scanner::build(sc);
    if (!built) return Error{"DLP scanner: " + built.error()};
    scanner = std::move(built.value());
  }
  return std::shared_ptr<const Snapshot>(std::make_shared<Snapshot>(
      std::move(routes), std::move(scanner), generation, std::move(sc.known_secrets),
      std::move(config_sha256)));
}

Result<std::shared_ptr<const Snapshot>> load_snapshot(const std::string& path,
                                                      const config::EnvLookup& env,
                                                      uint64_t generation,
                                                      std::shared_ptr<const Snapshot> previous) {
  auto text = read_text_file(path);
  if (!text) return Error{text.error()};
  return compile_snapshot(*text, path, env, generation, std::move(previous));
}

Result<std::shared_ptr<const Snapshot>> compile_snapshot(std::string_view text,
                                                         const std::string& path,
                                                         const config::EnvLookup& env,
                                                         uint64_t generation,
                                                         std::shared_ptr<const Snapshot> previous) {
  config::LoadOptions opts;
  opts.env = env;
  opts.detector_ids.emplace();
  for (const dlp::DetectorInfo& d : dlp::detector_catalog()) opts.detector_ids->emplace_back(d.id);
  auto routes = config::parse_routes(text, path, opts);
  if (!routes) return Error{routes.error()};
  return make_snapshot(std::move(routes.value()), env, generation, std::move(previous),
                       sha256_hex(text));
}

Result<std::shared_ptr<const Snapshot>> snapshot_from_yaml(std::string_view yaml,
                                                           const config::EnvLookup& env,
                                                           std::string_view name) {
  config::LoadOptions opts;
  opts.env = env;
  auto table = config::parse_routes(yaml, name, opts);
  if (!table) return Error{table.error()};
  return make_snapshot(table.value(), env, 1);
}

}  // namespace bottle::proxy
