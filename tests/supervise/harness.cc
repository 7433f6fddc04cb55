#include "tests/supervise/harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/files.h"
#include "common/listen.h"
#include "common/tls/ca.h"
#include "orchestrator/state.h"
#include "common/http/admin_client.h"

namespace bottle::supervise::testing {

namespace fs = std::filesystem;
using nlohmann::json;
using orchestrator::run_capture;
using orchestrator::spawn;
using orchestrator::SpawnOptions;

std::string supervise_binary() {
  return BOTTLE_SUPERVISE_BIN;
}
std::string bottle_binary() {
  return BOTTLE_BIN;
}
std::string egress_binary() {
  return BOTTLE_EGRESS_BIN;
}
std::string init_binary() {
  return BOTTLE_INIT_BIN;
}
std::string node_dir() {
  return BOTTLE_SUPERVISE_NODE_DIR;
}

BottleHome::BottleHome(const std::string& slug, const std::string& routes_yaml) : slug_(slug) {
  fs::create_directories(queue());
  fs::create_directories(state() + "/routes");
  write_file(routes(), routes_yaml);
  // Written the way `bottle start` writes it; this test process plays the owner.
  orchestrator::BottleMetadata md;
  md.slug = md.label = slug;
  md.agent = "test";
  md.backend = "local";
  md.created = now_iso8601();
  md.status = "running";
  md.pids.orchestrator = orchestrator::identify_process(::getpid());
  (void)orchestrator::write_metadata(state(), md);
}

CaptureResult BottleHome::bottle(const std::vector<std::string>& args,
                                 const std::vector<std::string>& env) const {
  std::vector<std::string> argv = {"env", "BOTTLE_HOME=" + home()};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(bottle_binary());
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_capture(argv);
  return r ? *r : CaptureResult{-1, "", r.error()};
}

ChildProcess BottleHome::bottle_background(const std::vector<std::string>& args,
                                           const std::string& log,
                                           const std::vector<std::string>& env) const {
  SpawnOptions so;
  so.argv = {"env", "BOTTLE_HOME=" + home()};
  so.argv.insert(so.argv.end(), env.begin(), env.end());
  so.argv.push_back(bottle_binary());
  so.argv.insert(so.argv.end(), args.begin(), args.end());
  so.stdout_file = so.stderr_file = log;
  so.stdin_null = true;
  auto c = spawn(so);
  return c ? std::move(*c) : ChildProcess();
}

ApprovalRig::ApprovalRig(const BottleHome& home, const std::vector<std::string>& hosts) {
  upstream_ = std::make_unique<orchestrator::testing::EchoUpstream>();
  if (!upstream_->ok()) {
    error_ = "python3 echo upstream did not start";
    return;
  }
  port_ = std::to_string(upstream_->port());
  std::vector<std::string> resolve;
  for (const auto& host : hosts) resolve.push_back(host + ":" + port_ + ":127.0.0.1");
  sidecar_ = std::make_unique<Sidecar>(home.routes(), resolve);
  if (!sidecar_->ok()) {
    error_ = "sidecar: " + sidecar_->error();
    return;
  }
  supervise_ = std::make_unique<Supervise>(supervise_options(home, *sidecar_));
  if (!supervise_->ok()) error_ = "bottle-supervise did not start: " + supervise_->log();
}

std::string ApprovalRig::through_proxy(const std::string& host) const {
  auto r = orchestrator::run_capture(
      {"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %header{x-bottle-block}", "-x",
       "http://127.0.0.1:" + std::to_string(sidecar_->proxy_port()),
       "http://" + host + ":" + port_ + "/"});
  return r ? r->out : r.error();
}

SuperviseOptions supervise_options(const BottleHome& home, const Sidecar& sidecar) {
  SuperviseOptions o;
  o.queue = home.queue();
  o.routes = home.routes();
  o.init_ctl = sidecar.init_ctl();
  o.egress_admin = sidecar.admin();
  o.bottle = home.slug();
  return o;
}

Supervise::Supervise(const SuperviseOptions& o) : log_(dir_.path() + "/supervise.log") {
  SpawnOptions so;
  so.argv = {supervise_binary(),
             "--listen",
             "127.0.0.1:0",
             "--queue",
             o.queue,
             "--answer-timeout",
             std::to_string(o.answer_timeout),
             "--progress-interval",
             std::to_string(o.progress_interval)};
  if (!o.routes.empty()) so.argv.insert(so.argv.end(), {"--routes", o.routes});
  if (!o.init_ctl.empty()) so.argv.insert(so.argv.end(), {"--init-ctl", o.init_ctl});
  if (!o.egress_admin.empty()) so.argv.insert(so.argv.end(), {"--egress-admin", o.egress_admin});
  if (!o.bottle.empty()) so.argv.insert(so.argv.end(), {"--bottle", o.bottle});
  if (o.routes_by_operator) so.argv.push_back("--routes-by-operator");
  so.stdout_file = so.stderr_file = log_;
  so.stdin_null = true;
  auto c = spawn(so);
  if (!c) return;
  child_ = std::move(*c);
  // The port is in the start-up log line (listening on port 0).
  eventually([&] {
    std::istringstream in(read_file(log_));
    std::string line;
    while (std::getline(in, line)) {
      auto j = json::parse(line, nullptr, false);
      if (j.is_object() && j.value("event", "") == "supervise_started") {
        port_ = j.value("port", 0);
        return true;
      }
    }
    return child_.poll().has_value();  // died: stop waiting
  });
}

Supervise::~Supervise() {
  stop();
}

int Supervise::stop() {
  if (child_.pid() <= 0) return -1;
  return child_.terminate(std::chrono::seconds(10));
}

HttpReply parse_curl_output(const std::string& text) {
  HttpReply r;
  std::string rest = text;
  for (;;) {
    size_t end = rest.find("\r\n\r\n");
    if (rest.rfind("HTTP/", 0) != 0 || end == std::string::npos) {
      r.body = rest;
      return r;
    }
    std::string head = rest.substr(0, end);
    rest = rest.substr(end + 4);
    r.status = std::atoi(head.substr(head.find(' ') + 1, 3).c_str());
    if (r.status == 100) continue;
    std::istringstream lines(head);
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    r.body = rest;
    return r;
  }
}

namespace {

std::vector<std::string> curl_argv(const std::string& url, const std::vector<std::string>& headers,
                                   int max_time) {
  std::vector<std::string> argv = {"curl",
                                   "-sS",
                                   "-i",
                                   "-N",
                                   "--max-time",
                                   std::to_string(max_time),
                                   "-X",
                                   "POST",
                                   url,
                                   "-H",
                                   "Content-Type: application/json"};
  bool accept = false;
  for (const auto& h : headers) {
    argv.insert(argv.end(), {"-H", h});
    accept = accept || h.rfind("Accept:", 0) == 0;
  }
  if (!accept) argv.insert(argv.end(), {"-H", "Accept: application/json, text/event-stream"});
  return argv;
}

}  // namespace

HttpReply curl_post(const std::string& url, const std::string& body,
                    const std::vector<std::string>& headers, int max_time) {
  auto argv = curl_argv(url, headers, max_time);
  argv.insert(argv.end(), {"--data-binary", "@-"});
  auto r = run_capture(argv, body);
  if (!r) return HttpReply{0, {}, "", r.error()};
  HttpReply reply = parse_curl_output(r->out);
  if (reply.status == 0) reply.error = r->err;
  return reply;
}

ChildProcess curl_post_background(const std::string& url, const std::string& body,
                                  const std::vector<std::string>& headers, const std::string& out,
                                  int max_time) {
  const std::string body_file = out + ".request";
  write_file(body_file, body);
  SpawnOptions so;
  so.argv = curl_argv(url, headers, max_time);
  so.argv.insert(so.argv.end(), {"--data-binary", "@" + body_file, "-o", out});
  so.stdin_null = true;
  auto c = spawn(so);
  return c ? std::move(*c) : ChildProcess();
}

std::string raw_exchange(int port, const std::string& bytes, std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may refuse and close before taking everything
    off += static_cast<size_t>(n);
  }
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[8192];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

McpSession::McpSession(std::string url) : url_(std::move(url)) {
  json init{{"jsonrpc", "2.0"},
            {"id", 0},
            {"method", "initialize"},
            {"params",
             {{"protocolVersion", "2025-11-25"},
              {"capabilities", json::object()},
              {"clientInfo", {{"name", "supervise-test"}, {"version", "1"}}}}}};
  auto r = curl_post(url_, init.dump());
  if (r.status != 200 || !r.headers.count("mcp-session-id")) return;
  sid_ = r.headers["mcp-session-id"];
  curl_post(url_, json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}.dump(),
            headers());
}

std::vector<std::string> McpSession::headers(bool sse) const {
  std::vector<std::string> h = {"Mcp-Session-Id: " + sid_, "MCP-Protocol-Version: 2025-11-25"};
  h.push_back(sse ? "Accept: application/json, text/event-stream" : "Accept: application/json");
  return h;
}

json McpSession::call_body(const std::string& tool, const json& args, const json& rpc_id,
                           std::optional<std::string> progress_token) const {
  json params{{"name", tool}, {"arguments", args}};
  if (progress_token) params["_meta"] = {{"progressToken", *progress_token}};
  return {{"jsonrpc", "2.0"}, {"id", rpc_id}, {"method", "tools/call"}, {"params", params}};
}

json McpSession::call(const std::string& tool, const json& args, int max_time) const {
  auto r = curl_post(url_, call_body(tool, args, next_id_++).dump(), headers(), max_time);
  return rpc_message(r.body);
}

ChildProcess McpSession::call_background(const std::string& tool, const json& args,
                                         const std::string& out, bool sse) const {
  const int id = next_id_++;
  auto token = sse ? std::optional<std::string>("p" + std::to_string(id)) : std::nullopt;
  return curl_post_background(url_, call_body(tool, args, id, token).dump(), headers(sse), out);
}

json rpc_message(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_discarded()) return j;
  // An event stream: the response is the last "data:" line.
  std::istringstream in(body);
  std::string line;
  json last;
  while (std::getline(in, line)) {
    if (line.rfind("data: ", 0) == 0) {
      json m = json::parse(line.substr(6), nullptr, false);
      if (!m.is_discarded()) last = m;
    }
  }
  return last;
}

std::string result_text(const json& rpc) {
  if (!rpc.is_object() || !rpc.contains("result")) return "<no result: " + rpc.dump() + ">";
  const json& c = rpc["result"].value("content", json::array());
  return c.empty() ? "" : c[0].value("text", "");
}

std::vector<Proposal> wait_for_proposals(const std::string& queue, size_t count) {
  std::vector<Proposal> out;
  eventually([&] {
    out.clear();
    for (auto& e : ProposalQueue(queue).scan().entries) {
      if (!e.response) out.push_back(e.proposal);
    }
    return out.size() >= count;
  });
  return out;
}

Sidecar::Sidecar(const std::string& routes_file, const std::vector<std::string>& resolve,
                 const std::string& watch_dir) {
  const std::string d = dir_.path();
  auto ca = tls::mint_ca("supervise test", 1);
  if (!ca) {
    error_ = ca.error();
    return;
  }
  write_file(d + "/ca.pem", ca->cert_pem);
  if (auto st = tls::write_private_file(d + "/ca-key.pem", ca->key_pem); !st) {
    error_ = st.error();
    return;
  }
  auto loopback = *parse_listen_spec("127.0.0.1:0");
  auto proxy = open_listener(loopback);
  auto admin = open_listener(loopback);
  if (!proxy || !admin) {
    error_ = "listen failed";
    return;
  }
  orchestrator::UniqueFd proxy_fd(*proxy), admin_fd(*admin);
  proxy_port_ = local_port(*proxy);
  admin_port_ = local_port(*admin);
  std::string argv = "[\"" + egress_binary() + "\", \"--config\", \"" + routes_file +
                     "\", \"--listen\", \"fd:3\", \"--admin\", \"fd:4\", \"--threads\", \"1\", "
                     "\"--ca-cert\", \"" +
                     d + "/ca.pem\", \"--ca-key\", \"" + d + "/ca-key.pem\"";
  for (const auto& r : resolve) argv += ", \"--resolve\", \"" + r + "\"";
  argv += "]";
  write_file(d + "/init.yaml", "daemons:\n  egress:\n    argv: " + argv +
                                   "\n    env: [PATH, HOME]\n    inherit_fds: [3, 4]\n"
                                   "    restart: always\n    ready: {http: \"127.0.0.1:" +
                                   std::to_string(admin_port_) +
                                   "/healthz\"}\n    reload_signal: true\n" +
                                   (watch_dir.empty() ? ""
                                                      : "    reload_on_change: \"" + watch_dir +
                                                            "\"\n"));
  init_ctl_ = d + "/init.sock";
  SpawnOptions so;
  so.argv = {init_binary(), "--config",     d + "/init.yaml", "--ctl",
             init_ctl_,     "--ready-file", d + "/ready"};
  so.env = std::vector<std::string>{"PATH=/usr/bin:/bin", "HOME=" + d, "BOTTLE_DAEMONS=egress"};
  so.pass_fds = {proxy_fd.get(), admin_fd.get()};
  so.stdout_file = so.stderr_file = d + "/sidecar.log";
  so.stdin_null = true;
  so.new_session = true;
  auto c = spawn(so);
  if (!c) {
    error_ = c.error();
    return;
  }
  init_ = std::move(*c);
  ready_ = eventually([&] { return fs::exists(d + "/ready") || init_.poll().has_value(); }) &&
           fs::exists(d + "/ready");
  if (!ready_) error_ = "sidecar not ready:\n" + log();
}

Sidecar::~Sidecar() {
  if (init_.pid() > 0) init_.terminate(std::chrono::seconds(10));
}

std::string Sidecar::admin_get(const std::string& path) const {
  auto spec = parse_listen_spec(admin());
  auto r = bottle::admin_get(*spec, path, std::chrono::seconds(5));
  return r ? *r : "<error: " + r.error() + ">";
}

}  // namespace bottle::supervise::testing
