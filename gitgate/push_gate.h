// What happens to a push between git receive-pack having stored it in its quarantine and
// the mirror's refs moving (SPEC §6):
//
//   agent ──pack──▶ git receive-pack (mirror, quarantine)
//                     └─ pre-receive hook = this binary ──hook channel──▶ bottle-gitgate
//                                                                           1. refs still where the
//                                                                           pusher saw them?
//                                                                           2. scan what is new
//                                                                           (push_scan.h)
//                                                                           3. git push to the
//                                                                           upstream
//                     ◀── accept / reject (+ the lines the client shows as "remote: ...")
//   receive-pack moves the mirror's refs only after an accept.
//
// With `proposals` configured, a push the scan would reject becomes a gitleaks-allow
// proposal in the supervise queue (common/proposal_queue.h) instead; the gate waits up to
// wait_ms for the operator, forwards on approve, and archives the proposal itself (with a
// synthetic "no answer" response on timeout). The request it files:
//   {"repo": "app", "refs": ["refs/heads/main"],
//    "findings": [{"detector": "secret.aws_access_key_id", "where": "aws.env:2"}]}
//
// The hook channel is a socketpair bottle-gitgate hands to receive-pack as fd 3
// (GITGATE_HOOK_FD=3); git passes it on to the hook. One JSON line goes up
// {"updates":[{"old","new","ref"}], "env":{GIT_OBJECT_DIRECTORY...}}, JSON lines come back:
// {"say":"text"} (shown to the client) then {"accept":true|false}.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/dlp/scanner.h"
#include "common/result.h"
#include "config/gate_config.h"
#include "gitgate/mirror.h"
#include "gitgate/push_scan.h"

namespace bottle::gitgate {

inline constexpr const char* kHookFdEnv = "GITGATE_HOOK_FD";

struct HookRequest {
  std::vector<RefUpdate> updates;
  std::map<std::string, std::string> quarantine;  // GIT_OBJECT_DIRECTORY and friends
};
Result<HookRequest> parse_hook_request(std::string_view line);
std::string hook_request_line(const HookRequest& request);
std::string hook_say_line(std::string_view text);
std::string hook_verdict_line(bool accept);

// The pre-receive hook process: stdin lines to the channel, answers to stderr, exit 0
// to accept. Returns the exit code.
int run_pre_receive_hook();

struct PushOutcome {
  // no_request: the hook channel closed without a request (receive-pack ended first).
  enum class Kind { forwarded, rejected, upstream_failed, stale, error, no_request };
  Kind kind = Kind::error;
  PushScan scan;
  std::string detail;  // upstream's message, the stale ref, or the error
  uint64_t ms = 0;
};
std::string_view outcome_name(PushOutcome::Kind k);

struct PushGateContext {
  const GateTools* tools = nullptr;
  const StateDir* state = nullptr;
  const config::GateRepo* repo = nullptr;
  const dlp::Scanner* scanner = nullptr;
  config::DlpPolicy policy;
  const config::GateProposals* proposals = nullptr;  // operator override; null: findings reject
  std::function<void(std::string_view line)> say;    // a line for the client ("remote: ...")
};

// Steps 1-3 above for one hook request. Blocking: run it off the event loop, one push
// per repo at a time (and no fetch meanwhile), until receive-pack has exited.
PushOutcome gate_push(const PushGateContext& ctx, const HookRequest& request);

// Serves one hook channel: reads the request, gate_push()es it, writes the answer.
// Blocking; `fd` is a connected stream socket.
PushOutcome serve_hook_channel(int fd, PushGateContext ctx);

}  // namespace bottle::gitgate
