#include "gitgate/gate.h"

#include <signal.h>
#include <unistd.h>
#include <uv.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "common/dlp/scanner.h"
#include "common/http/admin_server.h"
#include "common/listen.h"
#include "common/log.h"
#include "gitgate/gate_context.h"
#include "gitgate/git_connection.h"
#include "gitgate/http_connection.h"

namespace bottle::gitgate {

ServiceProcess::Spec GateContext::service_spec(const config::GateRepo& repo, Service service,
                                               bool stateless, bool advertise_only,
                                               const std::string& protocol) {
  ServiceProcess::Spec spec;
  spec.argv = {tools.git};
  if (service == Service::receive_pack)
    spec.argv.insert(spec.argv.end(), {"-c", "core.hooksPath=" + state.hooks()});
  spec.argv.push_back(service == Service::upload_pack ? "upload-pack" : "receive-pack");
  if (service == Service::upload_pack) spec.argv.push_back("--strict");
  if (stateless) spec.argv.push_back("--stateless-rpc");
  if (advertise_only) spec.argv.push_back("--advertise-refs");
  spec.argv.push_back(state.mirror(repo));
  spec.env = base_env(tools, state);
  if (!protocol.empty()) spec.env.push_back("GIT_PROTOCOL=" + protocol);
  spec.name = repo.name + " " + std::string(service_name(service));
  spec.scanner = scanner.get();
  spec.metrics = &metrics;
  if (service == Service::receive_pack && !advertise_only) {
    spec.env.push_back(std::string(kHookFdEnv) + "=3");
    spec.hook = std::make_unique<ServiceProcess::HookGate>();
    spec.hook->queue = &queue(repo);
    spec.hook->context.tools = &tools;
    spec.hook->context.state = &state;
    spec.hook->context.repo = &repo;
    spec.hook->context.scanner = scanner.get();
    spec.hook->context.policy = config->dlp;
    spec.hook->context.proposals = config->proposals ? &*config->proposals : nullptr;
    spec.hook->done = [this](const PushOutcome& out) {
      metrics.scanned_bytes.fetch_add(out.scan.bytes, std::memory_order_relaxed);
      metrics.scanned_blobs.fetch_add(out.scan.blobs, std::memory_order_relaxed);
      metrics.binary_blobs_skipped.fetch_add(out.scan.binary_blobs, std::memory_order_relaxed);
      switch (out.kind) {
        case PushOutcome::Kind::forwarded:
          metrics.pushes_forwarded.fetch_add(1);
          break;
        case PushOutcome::Kind::rejected:
          metrics.pushes_rejected.fetch_add(1);
          break;
        case PushOutcome::Kind::no_request:
          break;
        default:
          metrics.pushes_failed.fetch_add(1);
          break;
      }
    };
  }
  return spec;
}

namespace {

int fail(const std::string& what, const std::string& why, int code = 1) {
  std::fprintf(stderr, "bottle-gitgate: %s: %s\n", what.c_str(), why.c_str());
  return code;
}

struct Listener {
  uv_tcp_t tcp{};
  GateContext* ctx = nullptr;
  bool http = false;
};

void on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  auto* l = static_cast<Listener*>(server->data);
  ClientConnection* conn = l->http ? static_cast<ClientConnection*>(new HttpConnection(*l->ctx))
                                   : static_cast<ClientConnection*>(new GitConnection(*l->ctx));
  conn->accept(server);  // owns itself from here
}

std::optional<ListenSpec> fd_spec(int fd) {
  ListenSpec s;
  s.kind = ListenSpec::Kind::fd;
  s.fd = fd;
  return s;
}

std::string describe(const ListenSpec& spec, int fd) {
  return spec.kind == ListenSpec::Kind::fd ? spec.to_string()
                                           : spec.host + ":" + std::to_string(local_port(fd));
}

}  // namespace

int run_gitgate(const GateOptions& o) {
  log::init("gitgate");
  ::signal(SIGPIPE, SIG_IGN);
  // Fetches and gated pushes block a thread-pool thread each (a push may wait minutes on
  // its upstream); the default of 4 would let four slow pushes stall every fetch.
  ::setenv("UV_THREADPOOL_SIZE", "32", 0);

  config::GateLoadOptions lo;
  lo.env = config::process_env();
  lo.detector_ids.emplace();
  for (const dlp::DetectorInfo& d : dlp::detector_catalog()) lo.detector_ids->emplace_back(d.id);
  auto cfg = config::load_gate_config(o.config, lo);
  if (!cfg) return fail("config", cfg.error());
  if (o.check) {
    std::printf("%s: ok (%zu repos)\n", o.config.c_str(), (*cfg)->repos.size());
    return 0;
  }

  std::optional<ListenSpec> git_spec, http_spec, admin_spec;
  for (auto [flag, text, out] : {std::tuple{"--listen-git", &o.listen_git, &git_spec},
                                 std::tuple{"--listen-http", &o.listen_http, &http_spec},
                                 std::tuple{"--admin", &o.admin, &admin_spec}}) {
    if (!*text) continue;
    auto s = parse_listen_spec(**text);
    if (!s) return fail("usage", std::string(flag) + ": " + s.error(), 2);
    *out = *s;
  }
  // LISTEN_FDS: by name (LISTEN_FDNAMES=git:http[:admin]); unnamed ones are git, then http.
  for (const auto& p : take_listen_fds()) {
    std::optional<ListenSpec>* slot = p.name == "git"     ? &git_spec
                                      : p.name == "http"  ? &http_spec
                                      : p.name == "admin" ? &admin_spec
                                      : !git_spec         ? &git_spec
                                                          : &http_spec;
    if (!*slot) *slot = fd_spec(p.fd);
  }
  if (!git_spec || !http_spec) {
    return fail(
        "usage",
        "--listen-git and --listen-http are required (or LISTEN_FDS with LISTEN_FDNAMES=git:http)",
        2);
  }

  auto tools = find_tools();
  if (!tools) return fail("tools", tools.error());
  GateContext ctx;
  ctx.config = *cfg;
  ctx.tools = *tools;
  std::error_code ec;
  ctx.state = StateDir(std::filesystem::absolute(o.state, ec).lexically_normal().string());
  if (auto st = prepare_state(*ctx.config, ctx.tools, ctx.state, *lo.env); !st)
    return fail("state", st.error());

  dlp::ScannerConfig sc;
  for (const auto& name : ctx.config->known_secrets_env) {
    if (auto v = (*lo.env)(name); v && !v->empty()) sc.known_secrets.push_back(*v);
  }
  auto scanner = dlp::Scanner::build(sc);
  if (!scanner) return fail("dlp", scanner.error());
  ctx.scanner = *scanner;

  uv_loop_t loop;
  uv_loop_init(&loop);
  ctx.loop = &loop;
  for (const auto& repo : ctx.config->repos) {
    ctx.queues.emplace(repo.name,
                       std::make_unique<RepoQueue>(&loop, ctx.tools, ctx.state, repo, ctx.metrics));
  }

  Listener git_listener, http_listener;
  std::string git_addr, http_addr;
  for (auto [listener, spec, addr, http] :
       {std::tuple{&git_listener, &*git_spec, &git_addr, false},
        std::tuple{&http_listener, &*http_spec, &http_addr, true}}) {
    auto fd = open_listener(*spec);
    if (!fd) return fail("listen", fd.error());
    *addr = describe(*spec, *fd);
    listener->ctx = &ctx;
    listener->http = http;
    uv_tcp_init(&loop, &listener->tcp);
    listener->tcp.data = listener;
    int rc = uv_tcp_open(&listener->tcp, *fd);
    if (rc == 0)
      rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener->tcp), 128, &on_connection);
    if (rc != 0) return fail("listen", *addr + ": " + uv_strerror(rc));
  }
  std::unique_ptr<AdminServer> admin;
  std::string admin_addr;
  if (admin_spec) {
    auto fd = open_listener(*admin_spec);
    if (!fd) return fail("admin", fd.error());
    admin_addr = describe(*admin_spec, *fd);
    admin = std::make_unique<AdminServer>(
        &loop, AdminServer::Pages{[&ctx] { return ctx.metrics.render(); }, {}, {}});
    if (auto st = admin->start(*fd); !st) return fail("admin", st.error());
  }

  uv_signal_t sigterm, sigint;
  auto stop = [](uv_signal_t* h, int signum) {
    log::info("gitgate_stopping", {{"signal", signum}});
    uv_stop(h->loop);
  };
  for (auto [handle, signum] : {std::pair{&sigterm, SIGTERM}, std::pair{&sigint, SIGINT}}) {
    uv_signal_init(&loop, handle);
    uv_signal_start(handle, stop, signum);
  }

  nlohmann::json repos = nlohmann::json::array();
  for (const auto& r : ctx.config->repos) repos.push_back(r.name);
  log::info("gitgate_started",
            {{"git", git_addr},
             {"http", http_addr},
             {"admin", admin_addr},
             {"state", ctx.state.root()},
             {"repos", repos},
             {"dlp_outbound", std::string(config::to_string(ctx.config->dlp.outbound))},
             {"blob_scan_cap", ctx.config->dlp.max_body_bytes}});
  // Warm every mirror now, so the agent's first clone finds one (a read still waits for a
  // fetch of its own; this one only makes that fetch incremental).
  for (auto& [name, queue] : ctx.queues) queue->want_fresh([](const FetchOutcome&) {});
  uv_run(&loop, UV_RUN_DEFAULT);
  close_ssh_connections(*ctx.config, ctx.tools, ctx.state);
  // Children and pool jobs may still reference the context; leave without unwinding it.
  std::fflush(nullptr);
  _exit(0);
}

}  // namespace bottle::gitgate
