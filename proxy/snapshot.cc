#include "proxy/snapshot.h"

namespace bottle::proxy {

Result<std::shared_ptr<const Snapshot>> make_snapshot(
    std::shared_ptr<const config::RouteTable> routes, const config::EnvLookup& env,
    uint64_t generation) {
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
  auto scanner = dlp::Scanner::build(sc);
  if (!scanner) return Error{"DLP scanner: " + scanner.error()};
  auto snap = std::make_shared<Snapshot>();
  snap->routes = std::move(routes);
  snap->scanner = std::move(scanner.value());
  snap->generation = generation;
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

Result<std::shared_ptr<const Snapshot>> load_snapshot(const std::string& path,
                                                      const config::EnvLookup& env,
                                                      uint64_t generation) {
  config::LoadOptions opts;
  opts.env = env;
  auto routes = config::load_routes_file(path, opts);
  if (!routes) return Error{routes.error()};
  return make_snapshot(std::move(routes.value()), env, generation);
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
