// `bottle proposals` (SPEC §7, §9.2): the operator's side of the proposal queue, across
// every bottle under $BOTTLE_HOME/state/<slug>/proposals.
//
//   list [--all] [--json]          pending proposals (with --all: answered, archived, and
//                                  bottles no longer running)
//   show ID                        one proposal; for a route request the exact routes.yaml
//                                  diff approving it would apply
//   approve ID [--edit] [--reason] approve; --edit opens $VISUAL/$EDITOR on the route first
//   reject ID --reason TEXT        reject
//   answer ID TEXT                 free-text answer (capability-block, report-stuck)
//   watch                          live list; bell on arrival; one-key approve/reject
//
// Answers go through ProposalQueue::answer, so two operators answering at once get one
// result: the loser is told who answered first. After answering, the command waits
// (bounded) for the consumer (supervise, gitgate) to act and prints what came of it.
// Everything the agent wrote is printed through printable() (preflight.h), so a
// proposal cannot drive the operator's terminal.
#pragma once

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "common/proposal_queue.h"
#include "common/result.h"

namespace bottle::orchestrator {

struct AnswerOptions {
  std::string id;
  std::string bottle;  // narrows the search to one bottle ("" = all)
  Decision decision = Decision::approve;
  std::string text;                        // reason (approve/reject) or the answer
  bool edit = false;                       // approve: edit the route in $EDITOR first
  std::chrono::milliseconds wait{30'000};  // for the consumer's outcome; 0 = do not wait
};

// Exit codes follow the CLI: 0 done, 1 failed (message printed on `err`).
int proposals_list(bool all, bool json, std::ostream& out, std::ostream& err);
int proposals_show(const std::string& id, const std::string& bottle, std::ostream& out,
                   std::ostream& err);
int proposals_answer(const AnswerOptions& options, std::ostream& out, std::ostream& err);
// Runs until q / Ctrl-C (terminal) or SIGINT/SIGTERM (line mode, stdout not a terminal).
int proposals_watch(std::ostream& out, std::ostream& err);

// Pending (unanswered, not archived) proposals of one bottle, oldest first; a queue file
// that cannot be read is skipped (`bottle proposals list` reports it). For `bottle list`
// and `bottle top`.
std::vector<Proposal> pending_proposals(const std::string& slug);
// What a proposal asks for, in one line ("new.demo:443 [GET /v1/*]", the capability, ...).
// Agent text: pass it through shown() before it reaches a terminal.
std::string proposal_summary(const Proposal& p);

// "answered ID: approve by alice (route live ...)" for a proposal that left the pending
// list: who answered and what came of it, as far as the queue says yet.
std::string answered_line(const std::string& slug, const std::string& id);

// Who answers: $BOTTLE_OPERATOR, else the (sudo) user name.
std::string operator_name();

}  // namespace bottle::orchestrator
