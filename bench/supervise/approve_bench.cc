// Approve → route live in egress (issue 12): the machinery between the operator's answer
// and the agent's tool call returning, at 10 and at 10,000 routes. Real bottle-init,
// bottle-egress (--threads 1) and bottle-supervise on loopback, as in the tests.
//
//   apply      apply_route() alone: merge + write routes.yaml, init reload, egress
//              recompiles, supervise sees the new /routes (the confirm step)
//   end-to-end a waiting request-egress-route call: from the response file landing in
//              the queue (link(2)) to the HTTP answer arriving at the agent's socket
//
// Usage: bench_supervise_approve [--quick]   (--quick: 10 routes, 3 rounds; the CI smoke)
// Target: < 100 ms at 10 routes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "common/files.h"
#include "common/listen.h"
#include "supervise/route_apply.h"
#include "tests/supervise/harness.h"

namespace {

using namespace bottle;
using namespace bottle::supervise;
using namespace bottle::supervise::testing;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// N exact hosts, each with one PathPrefix match (no regex: compile cost is the table).
std::string routes_file(int n) {
  std::string s = "log: blocks\nroutes:\n";
  for (int i = 0; i < n; ++i) {
    s += "  - host: host-" + std::to_string(i) +
         ".example.com\n    matches:\n"
         "      - path: {type: PathPrefix, value: /v1/}\n";
  }
  return s;
}

struct Stats {
  double min, median, max;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v.front(), v[v.size() / 2], v.back()};
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

int run(int routes, int rounds) {
  BottleHome home("bench-" + std::to_string(routes), routes_file(routes));
  Sidecar sidecar(home.routes());
  if (!sidecar.ok()) {
    std::fprintf(stderr, "sidecar: %s\n", sidecar.error().c_str());
    return 1;
  }
  RouteApplySettings settings;
  settings.routes_file = home.routes();
  settings.init_ctl = sidecar.init_ctl();
  settings.egress_admin = *parse_listen_spec(sidecar.admin());
  settings.confirm_timeout = std::chrono::seconds(60);

  std::vector<double> apply_ms;
  for (int i = 0; i < rounds; ++i) {
    json route{{"host", "apply-" + std::to_string(i) + ".example.org"}};
    auto t = Clock::now();
    auto r = apply_route(settings, route, config::RouteSource::agent);
    apply_ms.push_back(ms_since(t));
    if (!r || !r->confirmed) {
      std::fprintf(stderr, "apply: %s\n", r ? "not confirmed" : r.error().c_str());
      return 1;
    }
  }

  SuperviseOptions so;
  so.queue = home.queue();
  so.routes = home.routes();
  so.init_ctl = sidecar.init_ctl();
  so.egress_admin = sidecar.admin();
  so.answer_timeout = 120;
  Supervise supervise(so);
  if (!supervise.ok()) {
    std::fprintf(stderr, "supervise: %s\n", supervise.log().c_str());
    return 1;
  }
  McpSession mcp(supervise.url());
  ProposalQueue queue(home.queue());
  std::vector<double> e2e_ms;
  for (int i = 0; i < rounds; ++i) {
    // The agent's call, on a raw socket so that its answer is timed where it lands.
    json body = mcp.call_body(
        "request-egress-route",
        {{"host", "e2e-" + std::to_string(i) + ".example.org"}, {"reason", "bench"}}, 100 + i);
    std::string request =
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Accept: application/json\r\nMcp-Session-Id: " +
        mcp.id() +
        "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.dump().size()) +
        "\r\n\r\n" + body.dump();
    std::string reply;
    Clock::time_point answered{}, arrived{};
    std::thread agent([&] {
      reply = raw_exchange(supervise.port(), request, std::chrono::seconds(120));
      arrived = Clock::now();
    });
    auto pending = wait_for_proposals(home.queue(), 1);
    if (pending.size() != 1) {
      agent.join();
      std::fprintf(stderr, "no proposal\n");
      return 1;
    }
    answered = Clock::now();
    (void)queue.answer(
        {pending[0].id, Decision::approve, "", "bench", now_iso8601(), std::nullopt});
    agent.join();
    if (reply.find("live in the egress proxy") == std::string::npos) {
      std::fprintf(stderr, "unexpected answer: %s\n", reply.c_str());
      return 1;
    }
    e2e_ms.push_back(std::chrono::duration<double, std::milli>(arrived - answered).count());
    // Wait for the archive, so the next round starts on an empty queue.
    eventually([&] { return queue.scan().entries.empty(); });
  }
  auto a = stats(apply_ms), e = stats(e2e_ms);
  std::printf(
      "%6d routes  apply: median %7.1f ms (min %7.1f, max %7.1f)   end-to-end: median %7.1f ms "
      "(min %7.1f, max %7.1f)   [%d rounds]\n",
      routes, a.median, a.min, a.max, e.median, e.min, e.max, rounds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  if (quick) return run(10, 3);
  if (int rc = run(10, 15); rc != 0) return rc;
  return run(10000, 5);
}
