// A DLP policy applied to the engine's findings (SPEC §5): each detector's action (its
// default, or `dlp.detectors` at the top level or on a route) decides whether its findings
// are dropped, reported, or may block; the direction's mode (`outbound`/`inbound`) decides
// whether anything blocks at all. One rule, so every place that judges findings (egress on
// request heads, bodies, responses and WebSocket messages; git-gate on pushes) judges alike.
#pragma once

#include <string>
#include <vector>

#include "common/dlp/scanner.h"
#include "config/dlp_policy.h"
#include "config/route_table.h"

namespace bottle::config {

// The action for one detector under `policy`: the route's (or top level's) entry, else
// the detector's default. dlp.scan_error always blocks.
DlpAction detector_action(const DlpPolicy& policy, std::string_view detector);

// Drops findings[from..] whose detector is `off`, clears `blocking` where it is `warn`, and
// returns whether any finding in [from, end) blocks in `dir` under `policy`. `F` is
// dlp::Finding or any finding type with a `detector` and a `blocking` member.
template <class F>
bool judge_findings(const DlpPolicy& policy, dlp::Direction dir, std::vector<F>& findings,
                    size_t from = 0) {
  const DlpAction mode = dir == dlp::Direction::outbound ? policy.outbound : policy.inbound;
  bool blocks = false;
  auto keep = findings.begin() + static_cast<std::ptrdiff_t>(from);
  for (auto it = keep; it != findings.end(); ++it) {
    const DlpAction a = detector_action(policy, it->detector);
    if (a == DlpAction::off) continue;
    if (a == DlpAction::warn) it->blocking = false;
    blocks = blocks || (it->blocking && mode == DlpAction::block);
    if (keep != it) *keep = std::move(*it);
    ++keep;
  }
  findings.erase(keep, findings.end());
  return blocks;
}

// Every detector with its effective action, top level and per route, for
// `bottle-egress --check`.
std::string describe_detector_actions(const RouteTable& table);

}  // namespace bottle::config
