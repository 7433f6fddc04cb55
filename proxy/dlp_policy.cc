#include "proxy/dlp_policy.h"

#include <algorithm>
#include <cstdio>


namespace bottle::proxy {
namespace {

config::DlpAction from_engine(dlp::Action a) {
  switch (a) {
    case dlp::Action::off: return config::DlpAction::off;
    case dlp::Action::warn: return config::DlpAction::warn;
    case dlp::Action::block: return config::DlpAction::block;
  }
  return config::DlpAction::block;
}

const char* name(config::DlpAction a) {
  return a == config::DlpAction::block ? "block" : a == config::DlpAction::warn ? "warn" : "off";
}

}  // namespace

config::DlpAction detector_action(const config::DlpPolicy& policy, std::string_view detector) {
  if (auto it = policy.detectors.find(detector); it != policy.detectors.end()) return it->second;
  if (const dlp::DetectorInfo* d = dlp::find_detector(detector)) return from_engine(d->default_action);
  return config::DlpAction::block;  // dlp.scan_error, and anything the catalog does not name
}

bool judge_findings(const config::DlpPolicy& policy, dlp::Direction dir, std::vector<dlp::Finding>& findings,
                    size_t from) {
  const config::DlpAction mode = dir == dlp::Direction::outbound ? policy.outbound : policy.inbound;
  bool blocks = false;
  auto keep = findings.begin() + static_cast<std::ptrdiff_t>(from);
  for (auto it = keep; it != findings.end(); ++it) {
    const config::DlpAction a = detector_action(policy, it->detector);
    if (a == config::DlpAction::off) continue;
    if (a == config::DlpAction::warn) it->blocking = false;
    blocks = blocks || (it->blocking && mode == config::DlpAction::block);
    if (keep != it) *keep = std::move(*it);
    ++keep;
  }
  findings.erase(keep, findings.end());
  return blocks;
}

std::string describe_detector_actions(const config::RouteTable& table) {
  std::string out = "detectors (default action; routes.yaml dlp.detectors overrides):\n";
  char line[160];
  for (const dlp::DetectorInfo& d : dlp::detector_catalog()) {
    const config::DlpAction def = from_engine(d.default_action);
    const config::DlpAction eff = detector_action(table.default_dlp, d.id);
    std::snprintf(line, sizeof line, "  %-40s %-8s %s%s\n", std::string(d.id).c_str(),
                  d.direction == dlp::Direction::outbound ? "outbound" : "inbound", name(eff),
                  eff == def ? "" : (std::string(" (default ") + name(def) + ")").c_str());
    out += line;
  }
  std::snprintf(line, sizeof line, "  injection.prompt scores: warn at %d, block at %d\n",
                dlp::kInjectionWarnScore, dlp::kInjectionBlockScore);
  out += line;
  for (const config::Route& r : table.routes) {
    for (const auto& [id, a] : r.dlp.detectors) {
      if (detector_action(table.default_dlp, id) == a) continue;
      out += "  route " + r.id + ": " + id + " " + name(a) + "\n";
    }
  }
  return out;
}

}  // namespace bottle::proxy
