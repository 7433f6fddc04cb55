// The compiled configuration one request runs against: routes plus the DLP scanner built
// for them. Immutable; workers hold it as std::shared_ptr<const Snapshot> and a reload
// swaps the pointer, so an in-flight exchange finishes on the snapshot it started with.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/dlp/scanner.h"
#include "common/result.h"
#include "config/route_table.h"

namespace bottle::proxy {

// DLP never fails open: a Snapshot always has a scanner. The constructor is the one place
// that holds, so no code that reads a snapshot checks `scanner` for null.
struct Snapshot {
  Snapshot(std::shared_ptr<const config::RouteTable> routes,
           std::shared_ptr<const dlp::Scanner> scanner, uint64_t generation,
           std::vector<std::string> known_secrets, std::string config_sha256 = {});

  const std::shared_ptr<const config::RouteTable> routes;
  const std::shared_ptr<const dlp::Scanner> scanner;  // never null
  const uint64_t generation;
  const std::vector<std::string> known_secrets;  // what `scanner` was built from
  // Hex SHA-256 of the routes.yaml bytes this snapshot was read from (empty when built
  // from a parsed table): the admin's /reload page reports it, so a writer of routes.yaml
  // can confirm egress runs exactly the file it wrote.
  const std::string config_sha256;
};

// Reads and compiles routes.yaml with token values from `env`, then builds the scanner
// (every injected token and operator-listed secret is a known secret). Slow: call it off
// the event loops. The scanner of `previous` is reused when the known secrets are the
// same: a route edit then costs the route table, not a Hyperscan compile (~0.3 s).
Result<std::shared_ptr<const Snapshot>> load_snapshot(
    const std::string& path, const config::EnvLookup& env, uint64_t generation,
    std::shared_ptr<const Snapshot> previous = nullptr);

// Same, from the text already read from `path` (a reload hashes the bytes it read even
// when they do not compile). The snapshot's config_sha256 is that of `text`.
Result<std::shared_ptr<const Snapshot>> compile_snapshot(
    std::string_view text, const std::string& path, const config::EnvLookup& env,
    uint64_t generation, std::shared_ptr<const Snapshot> previous = nullptr);

// Same, from a table already parsed.
Result<std::shared_ptr<const Snapshot>> make_snapshot(
    std::shared_ptr<const config::RouteTable> routes, const config::EnvLookup& env,
    uint64_t generation, std::shared_ptr<const Snapshot> previous = nullptr,
    std::string config_sha256 = {});

// Same, from routes.yaml text (tests, fuzzers); errors name `name`.
Result<std::shared_ptr<const Snapshot>> snapshot_from_yaml(std::string_view yaml,
                                                           const config::EnvLookup& env,
                                                           std::string_view name = "routes.yaml");

}  // namespace bottle::proxy
