// Real processes for the supervise tests: bottle-supervise on a loopback port, a sidecar
// (bottle-init running bottle-egress with its admin listener), a BOTTLE_HOME that makes
// `bottle proposals` see the queue, and HTTP clients (curl, raw sockets). Readiness is
// always polled (a log line, a ready file), never slept for.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/proposal_queue.h"
#include "orchestrator/process.h"
#include "tests/orchestrator/e2e_support.h"
#include "tests/support/support.h"

namespace bottle::supervise::testing {

using orchestrator::CaptureResult;
using orchestrator::ChildProcess;

// tests/support: scratch directories, files, bounded polling.
using ::bottle::test::eventually;
using ::bottle::test::read_file;
using ::bottle::test::ScratchDir;
using ::bottle::test::write_file;

// A fake `bottle start`: BOTTLE_HOME/state/<slug>/ with metadata.json saying the bottle
// runs (its owner is this test process), a proposals/ queue and routes/routes.yaml.
class BottleHome {
 public:
  explicit BottleHome(
      const std::string& slug = "dev-test",
      const std::string& routes_yaml = "log: blocks\nroutes:\n  - host: api.github.com\n");
  const std::string& home() const { return dir_.path(); }
  std::string state() const { return dir_.path() + "/state/" + slug_; }
  std::string queue() const { return state() + "/proposals"; }
  std::string routes() const { return state() + "/routes/routes.yaml"; }
  const std::string& slug() const { return slug_; }
  // `bottle args...` with BOTTLE_HOME set (and extra "K=V" env).
  CaptureResult bottle(const std::vector<std::string>& args,
                       const std::vector<std::string>& env = {}) const;
  // Starts `bottle args...` in the background; output into `log`.
  ChildProcess bottle_background(const std::vector<std::string>& args, const std::string& log,
                                 const std::vector<std::string>& env = {}) const;

 private:
  ScratchDir dir_;
  std::string slug_;
};

struct SuperviseOptions {
  std::string queue;
  std::string routes;
  std::string init_ctl;
  std::string egress_admin;
  std::string bottle;
  bool routes_by_operator = false;
  double answer_timeout = 30;
  double progress_interval = 0.2;
};

// bottle-supervise on 127.0.0.1:<any free port>; stopped (SIGTERM) on destruction.
class Supervise {
 public:
  explicit Supervise(const SuperviseOptions& o);
  ~Supervise();
  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }
  std::string log() const { return read_file(log_); }
  // SIGTERM and wait; the exit code.
  int stop();
  pid_t pid() const { return child_.pid(); }

 private:
  ScratchDir dir_;
  std::string log_;
  ChildProcess child_;
  int port_ = 0;
};

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-case
  std::string body;
  std::string error;  // curl's complaint when status is 0
};

// One POST with curl (a real client), JSON body, MCP headers.
HttpReply curl_post(const std::string& url, const std::string& body,
                    const std::vector<std::string>& headers = {}, int max_time = 60);
// The same in the background: curl writes the reply (with headers) into `out`.
ChildProcess curl_post_background(const std::string& url, const std::string& body,
                                  const std::vector<std::string>& headers, const std::string& out,
                                  int max_time = 60);
HttpReply parse_curl_output(const std::string& text);

// Raw bytes to 127.0.0.1:port; everything until the server closes (or `timeout`).
std::string raw_exchange(int port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

// An MCP session driven with curl.
class McpSession {
 public:
  explicit McpSession(std::string url);
  bool ok() const { return !sid_.empty(); }
  const std::string& id() const { return sid_; }
  std::vector<std::string> headers(bool sse = false) const;
  nlohmann::json call_body(const std::string& tool, const nlohmann::json& args,
                           const nlohmann::json& rpc_id = 1,
                           std::optional<std::string> progress_token = std::nullopt) const;
  // tools/call and its JSON-RPC result (or error) object.
  nlohmann::json call(const std::string& tool, const nlohmann::json& args, int max_time = 60) const;
  ChildProcess call_background(const std::string& tool, const nlohmann::json& args,
                               const std::string& out, bool sse = false) const;

 private:
  std::string url_;
  std::string sid_;
  mutable int next_id_ = 1;  // JSON-RPC ids are unique per session
};

// The JSON-RPC message in a reply body: the JSON itself, or the last SSE "data:" line.
nlohmann::json rpc_message(const std::string& body);
// The text of a tools/call result ({"content":[{"text":...}]}).
std::string result_text(const nlohmann::json& rpc);

// Pending proposals in `queue`, polled until `count` are there.
std::vector<Proposal> wait_for_proposals(const std::string& queue, size_t count);

// bottle-init running bottle-egress, its proxy and admin listeners made here on loopback
// ports (passed as fds 3 and 4), the routes file in a routes directory. `watch_dir`: init
// reloads egress when that directory changes (reload_on_change, as the container backends
// render it).
class Sidecar {
 public:
  explicit Sidecar(const std::string& routes_file, const std::vector<std::string>& resolve = {},
                   const std::string& watch_dir = "");
  ~Sidecar();
  bool ok() const { return ready_; }
  const std::string& error() const { return error_; }
  int proxy_port() const { return proxy_port_; }
  int admin_port() const { return admin_port_; }
  std::string admin() const { return "127.0.0.1:" + std::to_string(admin_port_); }
  const std::string& init_ctl() const { return init_ctl_; }
  std::string log() const { return read_file(dir_.path() + "/sidecar.log"); }
  // GET on the admin listener.
  std::string admin_get(const std::string& path) const;

 private:
  ScratchDir dir_;
  ChildProcess init_;
  std::string init_ctl_;
  int proxy_port_ = 0;
  int admin_port_ = 0;
  bool ready_ = false;
  std::string error_;
};

// bottle-supervise's options for the bottle `home` fakes, reloading and confirming
// routes through `sidecar` (as the local backend wires them).
SuperviseOptions supervise_options(const BottleHome& home, const Sidecar& sidecar);

// The approve path on real parts, as the supervise tests and the operator's `bottle top`
// test both need it: a loopback echo upstream, a Sidecar whose egress resolves `hosts`
// to it, and bottle-supervise applying routes for `home` through that sidecar.
class ApprovalRig {
 public:
  ApprovalRig(const BottleHome& home, const std::vector<std::string>& hosts);
  // Empty when every part is up; else what did not start, with its log.
  const std::string& error() const { return error_; }
  // The upstream's port, as routes name it.
  const std::string& port() const { return port_; }
  Sidecar& sidecar() { return *sidecar_; }
  Supervise& supervise() { return *supervise_; }
  // A plain-HTTP request through the egress proxy to `host` at the upstream's port:
  // "<status> <X-Bottle-Block>".
  std::string through_proxy(const std::string& host) const;

 private:
  std::unique_ptr<orchestrator::testing::EchoUpstream> upstream_;
  std::string port_;
  std::unique_ptr<Sidecar> sidecar_;
  std::unique_ptr<Supervise> supervise_;
  std::string error_;
};

// Paths of the binaries under test (the build tree).
std::string supervise_binary();
std::string bottle_binary();
std::string egress_binary();
std::string init_binary();
std::string node_dir();  // tests/supervise with node_modules

}  // namespace bottle::supervise::testing
