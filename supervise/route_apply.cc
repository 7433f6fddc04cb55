#include "supervise/route_apply.h"

#include "common/files.h"
#include "common/http/config_reload.h"
#include "init/ctl.h"

namespace bottle::supervise {

Result<RouteApplyReport> apply_route(const RouteApplySettings& s, const nlohmann::json& route,
                                     config::RouteSource source) {
  auto node = config::route_from_json(route, source);
  if (!node) return Error{node.error()};
  if (s.routes_file.empty() || s.init_ctl.empty()) {
    return Error{"this supervise has no routes file or init control socket to apply routes with"};
  }
  auto before = read_text_file(s.routes_file);
  if (!before) return Error{before.error()};
  auto merged = config::merge_route(*before, s.routes_file, *node);
  if (!merged) return Error{merged.error()};
  RouteApplyReport report;
  report.summary = merged->summary;
  if (!merged->changed) return report;
  report.changed = true;

  ConfigChange change;
  change.file = s.routes_file;
  change.before = std::move(*before);
  change.after = merged->text;
  change.what = "routes";
  change.reload = [ctl = s.init_ctl] { return init::reload_egress(ctl); };
  change.admin = s.egress_admin;
  change.timeout = s.confirm_timeout;
  auto applied = apply_config_change(change);
  if (!applied) return Error{applied.error()};
  report.confirmed = applied->confirmed;
  report.reloads = applied->reloads;
  return report;
}

}  // namespace bottle::supervise
