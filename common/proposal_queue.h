// The proposal queue (SPEC §7): how a daemon inside the sidecar (bottle-supervise,
// bottle-gitgate) asks the operator something and waits for the answer. A directory,
// shared by several processes at once; the format is documented in supervise/README.md.
//
//   <id>.json            the proposal, written by the consumer that waits for it
//   <id>.response.json   the operator's answer; exactly one wins (link(2), EEXIST = lost)
//   processed/           the consumer archives both there (proposal first, then response),
//                        optionally with <id>.outcome.json saying what came of the answer
//
// Every write is atomic (temp file in the same directory, fsync, rename or link), so a
// reader sees a whole file or none. A file that does not parse, has the wrong version or
// a bad id is reported (one line naming it) and skipped, never fatal.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace bottle {

inline constexpr int kProposalFormatVersion = 1;

enum class ProposalKind { egress_route, capability, stuck, gitleaks_allow };
std::string_view to_string(ProposalKind kind);  // "egress-route", "capability", ...
std::optional<ProposalKind> parse_proposal_kind(std::string_view text);

enum class Decision { approve, reject, answer };
std::string_view to_string(Decision decision);
std::optional<Decision> parse_decision(std::string_view text);

struct Proposal {
  std::string id;
  ProposalKind kind = ProposalKind::stuck;
  std::string created;  // RFC 3339 UTC
  std::string bottle;   // slug, or "" when the consumer does not know it
  std::string reason;   // the agent's words: untrusted, never logged unredacted
  nlohmann::json request = nlohmann::json::object();  // kind-specific
};

struct Response {
  std::string id;
  Decision decision = Decision::reject;
  std::string text;  // "reason" for approve/reject, "text" for answer
  std::string by;
  std::string decided;                  // RFC 3339 UTC
  std::optional<nlohmann::json> route;  // egress-route: the (possibly edited) route
};

// What the consumer made of the answer (e.g. "route live in egress"), archived next to it.
struct Outcome {
  std::string id;
  bool ok = false;
  std::string detail;
  std::string finished;  // RFC 3339 UTC
};

// `[a-z0-9][a-z0-9-]{0,63}`
bool valid_proposal_id(std::string_view id);
// "<unix-ms>-<8 random hex>"
std::string new_proposal_id();

nlohmann::json to_json(const Proposal& p);
nlohmann::json to_json(const Response& r);
nlohmann::json to_json(const Outcome& o);
// `where` names the input in errors ("q/123-ab.json: ...").
Result<Proposal> proposal_from_json(const nlohmann::json& j, std::string_view where);
Result<Response> response_from_json(const nlohmann::json& j, std::string_view where);
Result<Outcome> outcome_from_json(const nlohmann::json& j, std::string_view where);

class ProposalQueue {
 public:
  explicit ProposalQueue(std::string dir);

  const std::string& dir() const { return dir_; }
  std::string proposal_path(std::string_view id) const;
  std::string response_path(std::string_view id) const;
  std::string processed_dir() const { return dir_ + "/processed"; }

  // Consumer: writes <id>.json. An id already in use is an error (never overwritten).
  Status create(const Proposal& p) const;

  // The pending proposal <id>; an error if it is missing, archived or unreadable.
  Result<Proposal> proposal(std::string_view id) const;
  // The answer to <id>: nullopt while there is none; an error if it is unreadable.
  Result<std::optional<Response>> response(std::string_view id) const;

  // Operator (or a consumer writing a synthetic timeout answer): records `r` unless
  // someone answered first. Race-safe across processes: of two answers exactly one is
  // recorded, the other gets already_answered. An answer to a proposal that is not
  // pending (unknown id, archived) is an error and leaves nothing behind.
  enum class AnswerResult { recorded, already_answered };
  Result<AnswerResult> answer(const Response& r) const;

  // Consumer: moves <id>.json then <id>.response.json into processed/, after writing
  // `outcome` there when given. Missing files are not an error (archiving is idempotent).
  Status archive(std::string_view id, const std::optional<Outcome>& outcome = std::nullopt) const;

  struct Entry {
    Proposal proposal;
    std::optional<Response> response;
    std::optional<Outcome> outcome;  // archived entries only
    bool archived = false;
  };
  struct Scan {
    std::vector<Entry> entries;         // oldest first (created, then id)
    std::vector<std::string> problems;  // one line per file skipped: "path: why"
  };
  // Every proposal in the queue; with `include_archived` also those in processed/.
  // A missing directory is an empty queue.
  Scan scan(bool include_archived = false) const;

  // A scan as one JSON document and back, for a queue read from another machine
  // (`bottle-supervise queue scan` in a Kubernetes pod, read by `bottle proposals`
  // through kubectl exec). `where` names the input in errors.
  static nlohmann::json scan_to_json(const Scan& scan);
  static Result<Scan> scan_from_json(const nlohmann::json& j, std::string_view where);

 private:
  std::string dir_;
};

}  // namespace bottle
