#include "proxy/egress.h"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "common/listen.h"
#include "common/log.h"
#include "common/tls/contexts.h"
#include "common/files.h"
#include "common/http/admin_server.h"
#include "common/http/config_reload.h"
#include "common/sha256.h"
#include "config/dlp_actions.h"
#include "proxy/snapshot.h"
#include "proxy/worker.h"

namespace bottle::proxy {
namespace {

int fail(const std::string& what, const std::string& why, int code = 1) {
  std::fprintf(stderr, "bottle-egress: %s: %s\n", what.c_str(), why.c_str());
  return code;
}

// Control loop state: main thread only.
struct Control {
  const EgressOptions* options = nullptr;
  config::EnvLookup env;
  uv_loop_t loop{};
  std::vector<std::unique_ptr<Worker>> workers;
  std::shared_ptr<const Snapshot> current;
  ProcessCounters counters;
  uint64_t generation = 1;
  bool reloading = false;
  bool reload_again = false;
  ReloadState last_failure;  // failed_sha256 and last_error of the last refused reload
  uv_signal_t sighup{}, sigterm{}, sigint{};
  std::unique_ptr<AdminServer> admin;
  // Replaced snapshots. The control loop keeps a reference to each until no exchange
  // uses it, so no worker ever drops the last one: freeing a config (Hyperscan databases,
  // thousands of routes) then runs on the thread pool, never on an event loop.
  std::vector<std::shared_ptr<const Snapshot>> retired;
  uv_timer_t reclaim{};
  // SIGTERM/SIGINT: workers drain; the process exits when no connection is left or the
  // grace period (--timeout drain=) ends. A second signal exits at once.
  bool draining = false;
  uint64_t drain_deadline = 0;
  uint64_t drain_ms = 0;
  uv_timer_t drain_check{};
};

int64_t open_connections(const Control& c) {
  int64_t n = 0;
  for (const auto& w : c.workers) n += w->metrics().active_connections.load(std::memory_order_relaxed);
  return n;
}

void start_drain(Control& c, int signum) {
  if (c.draining) {
    log::info("egress_stopping", {{"signal", signum}, {"drain", "abandoned"}});
    uv_stop(&c.loop);
    return;
  }
  c.draining = true;
  log::info("egress_draining", {{"signal", signum},
                                {"connections", open_connections(c)},
                                {"grace_seconds", static_cast<double>(c.drain_ms) / 1000.0}});
  for (auto& w : c.workers) w->drain();
  c.drain_deadline = uv_now(&c.loop) + c.drain_ms;
  uv_timer_init(&c.loop, &c.drain_check);
  c.drain_check.data = &c;
  uv_timer_start(
      &c.drain_check,
      [](uv_timer_t* t) {
        auto* ctl = static_cast<Control*>(t->data);
        const int64_t left = open_connections(*ctl);
        if (left > 0 && uv_now(&ctl->loop) < ctl->drain_deadline) return;
        log::info("egress_stopping", {{"connections_cut", left}});
        uv_stop(&ctl->loop);
      },
      20, 20);
}

// Snapshots no exchange holds any more go to the thread pool to be freed.
void reclaim_snapshots(Control& c) {
  auto idle = std::partition(c.retired.begin(), c.retired.end(),
                             [](const auto& s) { return s.use_count() > 1; });
  if (idle != c.retired.end()) {
    struct FreeJob {
      uv_work_t req{};
      std::vector<std::shared_ptr<const Snapshot>> snaps;
    };
    auto* job = new FreeJob{};  // deleted in the after-work callback
    job->req.data = job;
    job->snaps.assign(std::make_move_iterator(idle), std::make_move_iterator(c.retired.end()));
    c.retired.erase(idle, c.retired.end());
    uv_queue_work(
        &c.loop, &job->req,
        [](uv_work_t* r) {
          static_cast<FreeJob*>(r->data)->snaps.clear();
#ifdef __GLIBC__
          malloc_trim(0);  // a config is megabytes: hand the pages back, not just to malloc
#endif
        },
        [](uv_work_t* r, int) { delete static_cast<FreeJob*>(r->data); });
  }
  c.counters.snapshots_retained.store(c.retired.size(), std::memory_order_relaxed);
}

struct ReloadJob {
  uv_work_t req{};
  Control* control = nullptr;
  uint64_t generation = 0;
  std::shared_ptr<const Snapshot> previous;  // its scanner is reused if the secrets match
  std::string sha256;                        // of the bytes read, even when they do not compile
  std::optional<Result<std::shared_ptr<const Snapshot>>> result;
};

void start_reload(Control& c);

void reload_done(uv_work_t* req, int) {
  std::unique_ptr<ReloadJob> job(static_cast<ReloadJob*>(req->data));
  Control& c = *job->control;
  c.reloading = false;
  if (job->result && job->result->ok()) {
    c.retired.push_back(std::move(c.current));
    c.current = job->result->value();
    for (auto& w : c.workers) w->publish(c.current);
    c.counters.reloads.fetch_add(1, std::memory_order_relaxed);
    c.counters.config_generation.store(job->generation, std::memory_order_relaxed);
    log::info("config_reloaded", {{"config", c.options->config},
                                  {"routes", c.current->routes->routes.size()},
                                  {"generation", job->generation}});
  } else {
    c.counters.reload_failures.fetch_add(1, std::memory_order_relaxed);
    c.last_failure.failed_sha256 = job->sha256;
    c.last_failure.last_error =
        job->result ? job->result->error() : std::string("reload did not run");
    log::error("config_reload_failed",
               {{"config", c.options->config}, {"error", c.last_failure.last_error}});
  }
  if (c.reload_again) {
    c.reload_again = false;
    start_reload(c);
  }
}

void start_reload(Control& c) {
  if (c.reloading) {
    c.reload_again = true;  // coalesce: one more reload after the running one
    return;
  }
  c.reloading = true;
  auto* job = new ReloadJob{};  // freed in reload_done
  job->req.data = job;
  job->control = &c;
  job->generation = ++c.generation;
  job->previous = c.current;
  uv_queue_work(
      &c.loop, &job->req,
      [](uv_work_t* req) {
        auto* j = static_cast<ReloadJob*>(req->data);
        const std::string& path = j->control->options->config;
        auto text = read_text_file(path);
        if (!text) {
          j->result = Error{text.error()};
          return;
        }
        j->sha256 = sha256_hex(*text);
        j->result = compile_snapshot(*text, path, j->control->env, j->generation,
                                     std::move(j->previous));
      },
      &reload_done);
}

Result<std::vector<int>> open_proxy_listeners(const ListenSpec& spec, unsigned count) {
  std::vector<int> fds;
  if (spec.kind == ListenSpec::Kind::fd) {
    auto checked = open_listener(spec);
    if (!checked) return Error{checked.error()};
    fds.push_back(*checked);
    for (unsigned i = 1; i < count; ++i) {
      int d = ::dup(*checked);
      if (d < 0) return Error{spec.to_string() + ": dup failed"};
      fds.push_back(d);
    }
    return fds;
  }
  // One SO_REUSEPORT socket per worker; the kernel spreads connections across them.
  ListenSpec each = spec;
  for (unsigned i = 0; i < count; ++i) {
    auto fd = open_listener(each, true);
    if (!fd) {
      for (int f : fds) ::close(f);
      return Error{fd.error()};
    }
    if (i == 0) each.port = local_port(*fd);  // port 0: every worker shares the one picked
    fds.push_back(*fd);
  }
  return fds;
}

std::string routes_page(const Control& c) {
  return c.current->routes->to_yaml();
}

std::string reload_page(const Control& c) {
  ReloadState s = c.last_failure;
  s.reloads = c.counters.reloads.load(std::memory_order_relaxed);
  s.failures = c.counters.reload_failures.load(std::memory_order_relaxed);
  s.pending = c.reloading || c.reload_again;
  s.config_sha256 = c.current->config_sha256;
  return to_json(s);
}

std::string metrics_page(const Control& c) {
  std::vector<const Metrics*> all;
  for (const auto& w : c.workers) all.push_back(&w->metrics());
  return render_metrics(all, c.counters);
}

}  // namespace

int run_egress(const EgressOptions& o) {
  log::init("egress");
  signal(SIGPIPE, SIG_IGN);
  Control c;
  c.options = &o;
  c.env = config::process_env();

  auto snap = load_snapshot(o.config, c.env, c.generation);
  if (!snap) return fail("config", snap.error());
  if (o.check) {
    std::printf("%s: ok (%zu routes)\n%s", o.config.c_str(), snap.value()->routes->routes.size(),
                describe_detector_actions(*snap.value()->routes).c_str());
    return 0;
  }
  c.current = std::move(snap.value());  // a copy left here would pin the first config

  auto resolve = ResolveOverrides::parse(o.resolve);
  if (!resolve) return fail("usage", resolve.error(), 2);
  Timeouts timeouts;
  for (const auto& t : o.timeouts) {
    if (auto s = timeouts.set(t); !s) return fail("usage", "--timeout: " + s.error(), 2);
  }
  std::optional<ListenSpec> listen_spec, admin_spec;
  std::vector<PassedFd> passed = take_listen_fds();
  if (o.listen) {
    auto s = parse_listen_spec(*o.listen);
    if (!s) return fail("usage", "--listen: " + s.error(), 2);
    listen_spec = *s;
  }
  if (o.admin) {
    auto s = parse_listen_spec(*o.admin);
    if (!s) return fail("usage", "--admin: " + s.error(), 2);
    admin_spec = *s;
  }
  for (const auto& p : passed) {  // LISTEN_FDS: "admin" by name, the proxy otherwise
    ListenSpec s;
    s.kind = ListenSpec::Kind::fd;
    s.fd = p.fd;
    if (p.name == "admin") {
      if (!admin_spec) admin_spec = s;
    } else if (!listen_spec) {
      listen_spec = s;
    }
  }
  if (!listen_spec)
    return fail("usage", "--listen is required (or pass a socket with LISTEN_FDS)", 2);

  auto ca = tls::load_ca(o.ca_cert, o.ca_key);
  if (!ca) return fail("ca", ca.error());
  ProxyShared shared;
  shared.ca = std::make_shared<const tls::CertificateAuthority>(std::move(ca.value()));
  tls::ClientFacingOptions client_options;
  client_options.enable_h2 = true;  // ALPN h2 and http/1.1 on the bump (SPEC §4.2.3)
  auto client_ctx = tls::make_client_facing_ctx(client_options);
  if (!client_ctx) return fail("tls", client_ctx.error());
  shared.client_ctx = std::move(client_ctx.value());
  auto upstream_ctx = tls::make_upstream_ctx(o.upstream_ca);
  if (!upstream_ctx) return fail("upstream-ca", upstream_ctx.error());
  shared.upstream_ctx = std::move(upstream_ctx.value());
  shared.resolve = std::move(resolve.value());
  shared.timeouts = timeouts;
  shared.budget = std::make_unique<BufferBudget>(o.max_buffered);
  c.counters.budget = shared.budget.get();

  unsigned threads = o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  auto fds = open_proxy_listeners(*listen_spec, threads);
  if (!fds) return fail("listen", fds.error());
  std::optional<int> admin_fd;
  if (admin_spec) {
    auto fd = open_listener(*admin_spec);
    if (!fd) return fail("admin", fd.error());
    admin_fd = *fd;
  }

  uv_loop_init(&c.loop);
  for (unsigned i = 0; i < threads; ++i) {
    c.workers.push_back(std::make_unique<Worker>(static_cast<int>(i), shared, c.current));
    if (auto s = c.workers.back()->start((*fds)[i]); !s) return fail("worker", s.error());
  }
  if (admin_fd) {
    c.admin = std::make_unique<AdminServer>(
        &c.loop,
        AdminServer::Pages{[&c] { return metrics_page(c); }, [&c] { return routes_page(c); },
                           [&c] { return reload_page(c); }});
    if (auto s = c.admin->start(*admin_fd); !s) return fail("admin", s.error());
  }
  uv_timer_init(&c.loop, &c.reclaim);
  c.reclaim.data = &c;
  uv_timer_start(
      &c.reclaim, [](uv_timer_t* t) { reclaim_snapshots(*static_cast<Control*>(t->data)); }, 500,
      500);
  uv_signal_init(&c.loop, &c.sighup);
  c.sighup.data = &c;
  uv_signal_start(
      &c.sighup, [](uv_signal_t* h, int) { start_reload(*static_cast<Control*>(h->data)); },
      SIGHUP);
  c.drain_ms = timeouts.drain_ms;
  auto stop = [](uv_signal_t* h, int signum) { start_drain(*static_cast<Control*>(h->data), signum); };
  uv_signal_init(&c.loop, &c.sigterm);
  c.sigterm.data = &c;
  uv_signal_start(&c.sigterm, stop, SIGTERM);
  uv_signal_init(&c.loop, &c.sigint);
  c.sigint.data = &c;
  uv_signal_start(&c.sigint, stop, SIGINT);

  log::info("egress_started",
            {{"listen", listen_spec->kind == ListenSpec::Kind::fd
                            ? listen_spec->to_string()
                            : listen_spec->host + ":" + std::to_string(local_port((*fds)[0]))},
             {"admin", admin_fd ? std::to_string(local_port(*admin_fd)) : std::string()},
             {"threads", threads},
             {"routes", c.current->routes->routes.size()}});
  uv_run(&c.loop, UV_RUN_DEFAULT);
  for (auto& w : c.workers) w->stop();
  // A pending reload job may still reference the control block; exit without unwinding it.
  std::fflush(nullptr);
  _exit(0);
}

}  // namespace bottle::proxy
