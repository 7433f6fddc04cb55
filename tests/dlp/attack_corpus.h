// The generated attack corpus of issue 13, and its benign look-alikes, replayed through
// egress's own request path (no sockets): the CONNECT check, the request-head pipeline
// (URL, headers, host labels), and the body and response scanners with the route's
// per-detector actions, with `outbound: block` and `inbound: block`.
//
// Cases are written by class (tests/dlp/README.md lists them), each with a fresh random
// secret or fresh random wording, so no detector can be tuned to one string. The fast
// subset runs in ctest (AttackCorpus.*); bench_dlp_corpus runs the full one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/dlp/scanner.h"
#include "proxy/snapshot.h"

namespace bottle::dlp::testing {

// One HTTPS exchange as the agent makes it: CONNECT host:443, then an origin-form
// request inside the bumped tunnel; for inbound cases, the response body that comes back.
struct Exchange {
  std::string host;  // as the agent wrote it (case kept)
  std::string method = "GET";
  std::string target = "/";  // origin-form path and query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;           // request body
  std::string response_body;  // inbound cases
};

struct AttackCase {
  std::string cls;      // "enc.base32", "inj.html_comment", "benign.security_article", ...
  bool inbound = false; // judged on the response body (prompt injection)
  bool benign = false;  // must pass untouched; otherwise it must be blocked
  Exchange x;
  std::string secret;   // must never appear in a finding (empty for injections)
};

struct AttackCorpus {
  std::vector<AttackCase> cases;
  std::vector<std::string> known_secrets;  // provisioned tokens and operator secrets the cases use
};

// `per_class` cases of every class, deterministic for a seed.
AttackCorpus generate_attack_corpus(uint32_t seed, size_t per_class);

// The egress configuration the corpus is replayed against: routes.yaml with outbound and
// inbound `block`, a wildcard route for the DNS-label classes, and every known secret.
Result<std::shared_ptr<const proxy::Snapshot>> corpus_snapshot(const AttackCorpus& corpus);

struct ReplayResult {
  bool blocked = false;
  std::string stage;              // "connect", "request", "body", "response" (where it was blocked)
  std::vector<Finding> findings;  // every finding, blocking or not, in order
};

ReplayResult replay(const proxy::Snapshot& snap, const AttackCase& c, uint32_t chunk_seed);

}  // namespace bottle::dlp::testing
