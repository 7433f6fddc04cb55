// The `dlp:` section shared by routes.yaml (top level and per route) and gitgate.yaml, read
// by one loader so both daemons accept the same vocabulary with the same errors.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace bottle::config {

enum class DlpAction { off, warn, block };

struct DlpPolicy {
  DlpAction outbound = DlpAction::block;  // secrets leaving the bottle
  DlpAction inbound = DlpAction::warn;    // prompt injection coming in
  // Egress: outbound bodies scanned before release. gitgate: the bytes scanned per blob.
  uint64_t max_body_bytes = 8ull << 20;
  bool stream_large_bodies = false;  // route opt-in: bodies over the cap stream unscanned-tail
  // Per-detector actions (`dlp.detectors: {secret.jwt: warn}`, SPEC §5), overriding each
  // detector's default; a route's entries overlay the top level's. A detector can only
  // block when its direction's mode (outbound/inbound) is `block`.
  std::map<std::string, DlpAction, std::less<>> detectors;
};

// Looks up an environment variable (tests pass a map; production passes getenv).
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

// The keys one file's `dlp:` section accepts; the others are unknown keys there.
struct DlpKeys {
  bool inbound = true;              // routes.yaml: responses are scanned too
  bool stream_large_bodies = true;  // routes.yaml only
  bool known_secrets_env = true;    // file level only (not per route)
  bool detectors = true;            // routes.yaml: `detectors: {<id>: block|warn|off}`
  // When set, `detectors` keys must be among these (egress passes the DLP engine's
  // catalog); otherwise any well-formed id is accepted.
  const std::vector<std::string>* detector_ids = nullptr;
};

// Reads one `dlp:` mapping: keys present overwrite `policy`, and `known_secrets_env` (when
// accepted) fills `secrets`. With `env`, every listed secret variable must be set.
// Errors are "file:line:col: message".
Status read_dlp_section(std::string_view file, const YAML::Node& node, std::string_view what,
                        const DlpKeys& keys, const std::optional<EnvLookup>& env, DlpPolicy& policy,
                        std::vector<std::string>* secrets);

// Writes `policy` as a `dlp:` mapping with every key `keys` accepts (and
// `known_secrets_env` when `secrets` is non-empty), so what read_dlp_section reads back is
// the policy in force: the renderer can drop nothing the reader knows.
void emit_dlp_section(YAML::Emitter& e, const DlpPolicy& policy, const DlpKeys& keys,
                      const std::vector<std::string>* secrets);

// Why `name` cannot be an environment slot ([A-Z_][A-Z0-9_]*, and set in `env` when given),
// or nullopt when it can.
std::optional<std::string> env_slot_problem(const std::string& name,
                                            const std::optional<EnvLookup>& env);

std::string_view to_string(DlpAction a);

}  // namespace bottle::config
