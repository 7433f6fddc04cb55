// gitgate.yaml (SPEC §6): the repos bottle-gitgate fronts, compiled into an immutable
// GateConfig. Also the pieces of it the orchestrator checks in manifests before anything
// starts: ssh upstream URLs and pinned host keys. Pure functions of text and an
// environment lookup.
//
//   repos:
//     - name: app                                   # [A-Za-z0-9._-]+, served as /app.git
//       upstream: ssh://git@git.example.com:2222/org/app.git   # or git@host:org/app.git
//       host_key: "ssh-ed25519 AAAAC3Nza..."       # pinned; required
//       key: /state/gitgate/keys/app               # absolute path, or an env slot GIT_KEY_<n>
//   dlp:                                           # as in routes.yaml, outbound only
//     outbound: block                              # block | warn | off
//     max_body_bytes: 8388608                      # bytes scanned per blob
//     known_secrets_env: [GITGATE_SECRET_0]
//   timeouts: {request_ms: 10000, idle_ms: 600000}
//   proposals:                                     # optional operator override (supervise's queue)
//     queue: /state/proposals                      # a push with findings becomes a gitleaks-allow
//     wait_ms: 300000                              # proposal; the gate waits this long for an
//     answer bottle: dev-1a2b3c                           # the slug written into proposals
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/dlp_policy.h"

namespace bottle::config {

// An ssh upstream: ssh://[user@]host[:port]/path or scp-like [user@]host:path.
struct SshUrl {
  std::string user;  // may be empty (ssh's default user)
  std::string host;  // name or IP literal, no brackets
  uint16_t port = 22;
  std::string path;  // as written after the host ("/org/app.git" or "org/app.git")
  bool scp_like = false;
  // The other ways to write the same location (scp-like <-> ssh://, with or without
  // ":22"); none when the port is not 22 (scp-like cannot carry one).
  std::vector<std::string> equivalent_urls() const;
};
Result<SshUrl> parse_ssh_url(std::string_view url);

// "<type> <base64 key blob>[ comment]" with a known type whose blob names that type.
// Returns the key without its comment.
Result<std::string> parse_host_key(std::string_view text);

bool valid_repo_name(std::string_view name);  // [A-Za-z0-9._-]+, not "." or ".."

struct GateRepo {
  std::string name;
  std::string upstream;  // as written
  SshUrl url;
  std::string host_key;  // "<type> <base64>"
  std::string key_file;  // absolute path; or
  std::string key_env;   // GIT_KEY_<n> holding the private key text
  int line = 0;
};

struct GateTimeouts {
  uint64_t request_ms = 10'000;  // first pkt-line / HTTP head, and each body stall
  uint64_t idle_ms = 600'000;    // no byte either way on a running exchange
};

// Where a blocked push may be allowed by the operator (absent: it is simply rejected).
struct GateProposals {
  std::string queue;  // absolute path of the proposal queue directory
  uint64_t wait_ms = 300'000;
  std::string bottle;  // slug for the proposal's "bottle" field, may be empty
};

struct GateConfig {
  std::vector<GateRepo> repos;
  DlpPolicy dlp;
  std::vector<std::string> known_secrets_env;
  GateTimeouts timeouts;
  std::optional<GateProposals> proposals;

  const GateRepo* find(std::string_view name) const;
};

struct GateLoadOptions {
  // When set, key and secret slots must be set in it (the daemon); unset when only the
  // text is validated (orchestrator, --check without secrets).
  std::optional<EnvLookup> env;
  // When set, `dlp.detectors` keys must be among these (the daemon passes the DLP
  // engine's catalog, as egress does for routes.yaml).
  std::optional<std::vector<std::string>> detector_ids = std::nullopt;
};

Result<std::shared_ptr<const GateConfig>> parse_gate_config(std::string_view yaml,
                                                            std::string_view file,
                                                            const GateLoadOptions& opts = {});
Result<std::shared_ptr<const GateConfig>> load_gate_config(const std::string& path,
                                                           const GateLoadOptions& opts = {});

}  // namespace bottle::config
