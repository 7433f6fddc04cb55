// Fuzzes what the proposal queue reads from disk and what an approval turns into: the
// bytes as a proposal, a response and an outcome (each must parse or give an error that
// names the file, and what parses must round-trip), and as a proposed route merged into a
// routes.yaml (a merge result must load).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/proposal_queue.h"
#include "config/route_merge.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using nlohmann::json;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return 0;
  auto named = [](const std::string& e) { return e.rfind("q/x.json: ", 0) == 0; };
  if (auto p = bottle::proposal_from_json(j, "q/x.json")) {
    auto again = bottle::proposal_from_json(bottle::to_json(*p), "q/x.json");
    if (!again || bottle::to_json(*again) != bottle::to_json(*p)) __builtin_trap();
  } else if (!named(p.error())) {
    __builtin_trap();
  }
  if (auto r = bottle::response_from_json(j, "q/x.json")) {
    auto again = bottle::response_from_json(bottle::to_json(*r), "q/x.json");
    if (!again || bottle::to_json(*again) != bottle::to_json(*r)) __builtin_trap();
  } else if (!named(r.error())) {
    __builtin_trap();
  }
  if (auto o = bottle::outcome_from_json(j, "q/x.json"); !o && !named(o.error())) __builtin_trap();
  for (auto source :
       {bottle::config::RouteSource::agent, bottle::config::RouteSource::operator_edit}) {
    auto node = bottle::config::route_from_json(j, source);
    if (!node) continue;
    auto merged = bottle::config::merge_route(
        "log: blocks\nroutes:\n  - host: api.github.com\n    matches:\n      - method: GET\n",
        "routes.yaml", *node);
    if (merged && !bottle::config::parse_routes(merged->text, "routes.yaml")) __builtin_trap();
    if (merged) (void)bottle::config::unified_diff("a\n", merged->text, "a", "b");
  }
  return 0;
}
