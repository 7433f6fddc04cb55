// A route's DLP policy applied to the engine's findings (SPEC §5): each detector's action
// (its default, or routes.yaml `dlp.detectors` at the top level or on the route) decides
// whether its findings are dropped, logged, or may block; the direction's mode
// (`outbound`/`inbound`) decides whether anything blocks at all. One function, so every
// place egress judges findings (request head, body, response, WebSocket) judges alike.
#pragma once

#include <string>
#include <vector>

#include "common/dlp/scanner.h"
#include "config/route_table.h"

namespace bottle::proxy {

// The action for one detector under `policy`: the route's (or top level's) entry, else
// the detector's default. dlp.scan_error always blocks.
config::DlpAction detector_action(const config::DlpPolicy& policy, std::string_view detector);

// Drops findings[from..] whose detector is `off`, clears `blocking` where it is `warn`, and
// returns whether any finding in [from, end) blocks in `dir` under `policy`.
bool judge_findings(const config::DlpPolicy& policy, dlp::Direction dir, std::vector<dlp::Finding>& findings,
                    size_t from = 0);

// Every detector with its effective action, top level and per route, for
// `bottle-egress --check`.
std::string describe_detector_actions(const config::RouteTable& table);

}  // namespace bottle::proxy
