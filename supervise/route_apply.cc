#include "supervise/route_apply.h"

#include <algorithm>
#include <future>
#include <thread>

#include "common/files.h"
#include "init/ctl.h"
#include "common/http/admin_client.h"

namespace bottle::supervise {
namespace {

using namespace std::chrono_literals;
constexpr auto kAdminTimeout = 5s;

struct Counters {
  uint64_t reloads = 0;
  uint64_t failures = 0;
};

Result<Counters> read_counters(const ListenSpec& admin) {
  auto metrics = admin_get(admin, "/metrics", kAdminTimeout);
  if (!metrics) return Error{metrics.error()};
  auto reloads = prometheus_value(*metrics, "egress_reloads_total");
  auto failures = prometheus_value(*metrics, "egress_reload_failures_total");
  if (!reloads || !failures) {
    return Error{"egress admin " + admin.to_string() + ": /metrics has no reload counters"};
  }
  return Counters{*reloads, *failures};
}

Status ask_init_to_reload(const std::string& ctl) {
  auto reply = init::ctl_request(ctl, {{"cmd", "reload"}});
  if (!reply) return Error{"bottle-init control socket: " + reply.error()};
  if (!reply->value("ok", false)) {
    return Error{"bottle-init refused the reload: " + reply->value("error", std::string("?"))};
  }
  const auto signaled = reply->value("signaled", nlohmann::json::array());
  if (std::find(signaled.begin(), signaled.end(), "egress") == signaled.end()) {
    return Error{"bottle-init has no running egress to reload"};
  }
  return OkStatus();
}

}  // namespace

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

  std::optional<Counters> start;
  if (s.egress_admin) {
    auto c = read_counters(*s.egress_admin);
    if (!c) return Error{"egress is not answering, nothing changed: " + c.error()};
    start = *c;
  }
  if (auto st = write_file_atomic(s.routes_file, merged->text, 0600); !st) return Error{st.error()};
  // From here on a failure puts the old file back, so routes.yaml never claims more than
  // egress runs.
  auto restore = [&](const std::string& why) -> Error {
    std::string msg = why;
    if (auto st = write_file_atomic(s.routes_file, *before, 0600); !st) {
      return Error{msg + "; restoring routes.yaml failed too: " + st.error()};
    }
    if (auto st = ask_init_to_reload(s.init_ctl); !st) {
      return Error{msg + "; routes.yaml restored, but the reload failed: " + st.error()};
    }
    return Error{msg + "; routes.yaml restored"};
  };
  if (auto st = ask_init_to_reload(s.init_ctl); !st) return restore(st.error());
  if (!s.egress_admin) return report;

  // Egress compiles off its event loop; watch its counters until the new table shows.
  // What /routes must then say is rendered meanwhile (at 10,000 routes it takes as long
  // as a good part of egress's reload).
  auto rendering =
      std::async(std::launch::async, [table = merged->table] { return table->to_yaml(); });
  std::optional<std::string> expected_text;
  auto expected = [&]() -> const std::string& {
    if (!expected_text) expected_text = rendering.get();
    return *expected_text;
  };
  const auto deadline = std::chrono::steady_clock::now() + s.confirm_timeout;
  auto delay = 1ms;
  while (std::chrono::steady_clock::now() < deadline) {
    auto now = read_counters(*s.egress_admin);
    if (!now) return restore(now.error());
    if (now->reloads > start->reloads) {
      auto live = admin_get(*s.egress_admin, "/routes", kAdminTimeout);
      if (!live) return restore(live.error());
      if (*live == expected()) {
        report.confirmed = true;
        report.reloads = now->reloads;
        return report;
      }
    }
    if (now->failures > start->failures) {
      // A failure can come before a later success (coalesced reloads); one more look.
      auto live = admin_get(*s.egress_admin, "/routes", kAdminTimeout);
      if (live && *live == expected()) continue;
      return restore("egress refused the new routes (see config_reload_failed in the sidecar log)");
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(50));
  }
  return restore("egress did not show the new routes within " +
                 std::to_string(s.confirm_timeout.count() / 1000) + " s");
}

}  // namespace bottle::supervise
