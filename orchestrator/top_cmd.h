// `bottle top`: a live view of every running bottle, built from what the sidecars
// already write (no daemon of its own): per bottle the requests per second (egress's
// admin /metrics), blocks by reason and the last block events (the sidecar log, as
// redacted there), and pending proposals (the queue).
//
// On a terminal it is a full-screen view with keys:
//   j/k (arrows) select a bottle      n/p select one of its pending proposals
//   a approve   e edit, then approve   r reject (asks for a reason)
//   l the bottle's log (live; b: blocks only; l/q/Esc back)
//   s stop the bottle (asks y/n)      q quit
// Approving and rejecting go through proposals_answer(), the code of `bottle proposals`.
// Piped (not a terminal) it prints lines instead: a bottle's counters when they change,
// each new block, each proposal as it arrives and is answered.
#pragma once

#include <chrono>
#include <iosfwd>

namespace bottle::orchestrator {

struct TopOptions {
  std::chrono::milliseconds interval{1000};  // between two reads of every bottle
};

// Runs until q (terminal) or SIGINT/SIGTERM. 0 on a normal end.
int top_command(const TopOptions& options, std::ostream& out);

}  // namespace bottle::orchestrator
