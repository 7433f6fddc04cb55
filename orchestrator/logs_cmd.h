// `bottle logs SLUG [--follow] [--daemon egress|gitgate|supervise|init] [--blocks]`
// (SPEC §9.2): a bottle's sidecar log (state/<slug>/logs/sidecar.log, every daemon's
// JSON lines relayed by bottle-init). On a terminal each line is shown as
// pretty_log_line() (activity.h); piped, the JSON lines are passed through unchanged, so
// `bottle logs x --blocks | jq` reads the evidence as it was written.
#pragma once

#include <iosfwd>
#include <string>

namespace bottle::orchestrator {

struct LogsOptions {
  std::string slug;
  bool follow = false;  // keep printing until the bottle stops (or SIGINT/SIGTERM)
  std::string daemon;   // "" = all; egress | gitgate | supervise | init
  bool blocks = false;  // only block and warn evidence (is_block_event / is_warn_event)
  bool pretty = false;  // one human line per event instead of the JSON line
  bool color = false;   // with pretty: colour the level
};

// 0 done; 1 no such bottle or an unreadable log (message on `err`).
int logs_command(const LogsOptions& options, std::ostream& out, std::ostream& err);

}  // namespace bottle::orchestrator
