#include "proxy/snapshot.h"

namespace bottle::proxy {

Result<std::shared_ptr<const Snapshot>> make_snapshot(
    std::shared_ptr<const config::RouteTable> routes, const config::EnvLookup& env,
    uint64_t generation, std::shared_ptr<const Snapshot> previous) {
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
  auto snap = std::make_shared<Snapshot>();
  if (previous && previous->scanner && previous->known_secrets == sc.known_secrets) {
    snap->scanner = previous->scanner;
  } else {
    auto scanner = dlp::Scanner::build(sc);
    if (!scanner) return Error{"DLP scanner: " + scanner.error()};
    snap->scanner = std::move(scanner.value());
  }
  snap->routes = std::move(routes);
  snap->known_secrets = std::move(sc.known_secrets);
  snap->generation = generation;
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

Result<std::shared_ptr<const Snapshot>> load_snapshot(const std::string& path,
                                                      const config::EnvLookup& env,
                                                      uint64_t generation,
                                                      std::shared_ptr<const Snapshot> previous) {
  config::LoadOptions opts;
  opts.env = env;
  opts.detector_ids.emplace();
  for (const dlp::DetectorInfo& d : dlp::detector_catalog()) opts.detector_ids->emplace_back(d.id);
  auto routes = config::load_routes_file(path, opts);
  if (!routes) return Error{routes.error()};
  return make_snapshot(std::move(routes.value()), env, generation, std::move(previous));
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
