// The proxy fuzzers' config: routes.yaml text compiled once per target, every token_env
// set to one fake token. A config that does not load is a bug in the fuzzer: trap.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/snapshot.h"

namespace bottle::fuzz {

inline std::shared_ptr<const proxy::Snapshot> fuzz_snapshot(std::string_view routes) {
  config::EnvLookup env = [](const std::string&) -> std::optional<std::string> {
    return std::string("fuzz-token-0123456789abcdef");
  };
  auto s = proxy::snapshot_from_yaml(routes, env, "fuzz.yaml");
  if (!s) __builtin_trap();
  return s.value();
}

}  // namespace bottle::fuzz
