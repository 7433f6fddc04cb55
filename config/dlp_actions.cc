#include "config/dlp_actions.h"

#include <algorithm>
#include <cstdio>


namespace bottle::config {
namespace {

DlpAction from_engine(dlp::Action a) {
  switch (a) {
    case dlp::Action::off: return DlpAction::off;
    case dlp::Action::warn: return DlpAction::warn;
    case dlp::Action::block: return DlpAction::block;
  }
  return DlpAction::block;
}

const char* name(DlpAction a) {
  return a == DlpAction::block ? "block" : a == DlpAction::warn ? "warn" : "off";
}

}  // namespace

DlpAction detector_action(const DlpPolicy& policy, std::string_view detector) {
  if (auto it = policy.detectors.find(detector); it != policy.detectors.end()) return it->second;
  if (const dlp::DetectorInfo* d = dlp::find_detector(detector)) return from_engine(d->default_action);
  return DlpAction::block;  // dlp.scan_error, and anything the catalog does not name
}

std::string describe_detector_actions(const RouteTable& table) {
  std::string out = "detectors (default action; routes.yaml dlp.detectors overrides):\n";
  char line[160];
  for (const dlp::DetectorInfo& d : dlp::detector_catalog()) {
    const DlpAction def = from_engine(d.default_action);
    const DlpAction eff = detector_action(table.default_dlp, d.id);
    std::snprintf(line, sizeof line, "  %-40s %-8s %s%s\n", std::string(d.id).c_str(),
                  d.direction == dlp::Direction::outbound ? "outbound" : "inbound", name(eff),
                  eff == def ? "" : (std::string(" (default ") + name(def) + ")").c_str());
    out += line;
  }
  std::snprintf(line, sizeof line, "  injection.prompt scores: warn at %d, block at %d\n",
                dlp::kInjectionWarnScore, dlp::kInjectionBlockScore);
  out += line;
  for (const Route& r : table.routes) {
    for (const auto& [id, a] : r.dlp.detectors) {
      if (detector_action(table.default_dlp, id) == a) continue;
      out += "  route " + r.id + ": " + id + " " + name(a) + "\n";
    }
  }
  return out;
}

}  // namespace bottle::config
