// What every connection of a running gate shares: the loaded config, the tools and
// state directory, the DLP scanner, one RepoQueue per repo, and the counters. Built once
// at start; lives until the process exits. Loop thread only, except the immutable parts
// and the atomics in GateMetrics.
#pragma once

#include <uv.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/dlp/scanner.h"
#include "config/gate_config.h"
#include "gitgate/metrics.h"
#include "gitgate/mirror.h"
#include "gitgate/pkt_line.h"
#include "gitgate/repo_queue.h"
#include "gitgate/service_process.h"

namespace bottle::gitgate {

struct GateContext {
  uv_loop_t* loop = nullptr;
  std::shared_ptr<const config::GateConfig> config;
  GateTools tools;
  StateDir state{""};
  std::shared_ptr<const dlp::Scanner> scanner;
  GateMetrics metrics;
  std::map<std::string, std::unique_ptr<RepoQueue>, std::less<>> queues;

  RepoQueue& queue(const config::GateRepo& repo) { return *queues.at(repo.name); }

  // The child that serves `service` for `repo`. `http_advertise`/`stateless` select the
  // smart-HTTP forms; `protocol` is the client's GIT_PROTOCOL (sanitized).
  ServiceProcess::Spec service_spec(const config::GateRepo& repo, Service service, bool stateless,
                                    bool advertise_only, const std::string& protocol);
};

// How long a child may outlive its client before it is killed (a receive-pack finishing
// its ref update needs a moment; an upload-pack nobody reads needs none).
inline constexpr uint64_t kOrphanGraceMs = 30 * 60 * 1000;

}  // namespace bottle::gitgate
