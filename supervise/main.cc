// bottle-supervise: see supervise/README.md and SPEC.md §7.
#include <signal.h>
#include <sys/stat.h>
#include <uv.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <optional>

#include "common/cli.h"
#include "common/listen.h"
#include "common/log.h"
#include "common/proposal_queue.h"
#include "common/version.h"
#include "supervise/http_server.h"
#include "supervise/mcp.h"
#include "supervise/tools.h"

namespace {

using namespace bottle;
using namespace bottle::supervise;

int fail(const std::string& what, const std::string& why, int code = 1) {
  std::fprintf(stderr, "bottle-supervise: %s: %s\n", what.c_str(), why.c_str());
  return code;
}

constexpr const char* kInstructions =
    "This server connects you to the human operator of your sandbox. Your network access "
    "goes through an egress proxy that only allows listed hosts; a blocked request gets "
    "HTTP 403 with an X-Bottle-Block header. Use list-egress-routes to see what is allowed, "
    "request-egress-route to ask for a host you need (it waits for the operator's answer), "
    "capability-block when something else is missing, and report-stuck when you need a "
    "human to look.";

struct Flags {
  std::optional<std::string> listen;
  std::string queue;
  std::string routes;
  std::string init_ctl;
  bool routes_by_operator = false;
  std::string egress_admin;
  std::string bottle;
  double answer_timeout = 300;
  double progress_interval = 10;
  std::vector<std::string> allow_hosts;
};

// `bottle-supervise queue scan|answer --dir DIR`: the operator's side of a queue that
// lives where `bottle proposals` cannot open files (a Kubernetes pod, reached through
// kubectl exec), done by the same code as on the operator's machine.
//   scan [--all]  prints the queue as one JSON document (ProposalQueue::scan_to_json)
//   answer        reads one Response (JSON) on stdin, records it unless someone answered
//                 first, prints {"result": "recorded" | "already_answered"}
int queue_main(int argc, char** argv) {
  CLI::App app{"bottle-supervise queue: read or answer a proposal queue (for kubectl exec)"};
  app.set_version_flag("--version", version_line("bottle-supervise"));
  app.require_subcommand(1);
  std::string dir;
  bool all = false;
  auto* scan = app.add_subcommand("scan", "print the queue as JSON");
  scan->add_option("--dir", dir, "proposal queue directory")->required();
  scan->add_flag("--all", all, "include archived proposals");
  auto* answer = app.add_subcommand("answer", "record the answer read on stdin (JSON)");
  answer->add_option("--dir", dir, "proposal queue directory")->required();
  if (auto code = parse_command_line(app, argc, argv, "bottle-supervise queue")) return *code;
  ProposalQueue q(dir);
  if (scan->parsed()) {
    std::cout << ProposalQueue::scan_to_json(q.scan(all)).dump(-1, ' ', false,
                                                          nlohmann::json::error_handler_t::replace)
              << "\n";
    return 0;
  }
  const std::string in{std::istreambuf_iterator<char>(std::cin), {}};
  const auto j = nlohmann::json::parse(in, nullptr, false);
  auto r = response_from_json(j, "stdin");
  if (!r) return fail("answer", r.error());
  auto recorded = q.answer(*r);
  if (!recorded) return fail("answer", recorded.error());
  const bool won = *recorded == ProposalQueue::AnswerResult::recorded;
  std::cout << nlohmann::json{{"result", won ? "recorded" : "already_answered"}}.dump() << "\n";
  return 0;
}

struct Signals {
  uv_signal_t term{}, intr{};
};

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "queue") return queue_main(argc - 1, argv + 1);
  Flags f;
  CLI::App app{
      "bottle-supervise: MCP server through which the agent asks the operator for access\n"
      "(bottle-supervise queue scan|answer --dir DIR: the operator's side of a queue, see "
      "supervise/README.md)"};
  app.set_version_flag("--version", version_line("bottle-supervise"));
  app.add_option("--listen", f.listen,
                 "MCP listener: host:port, [v6]:port or fd:N (default: LISTEN_FDS, else "
                 "127.0.0.1:9100)");
  app.add_option("--queue", f.queue, "proposal queue directory (see supervise/README.md)")
      ->required();
  app.add_option("--routes", f.routes, "egress routes.yaml, inside its routes directory");
  app.add_option("--init-ctl", f.init_ctl, "bottle-init control socket (reloads egress)");
  app.add_flag("--routes-by-operator", f.routes_by_operator,
               "the operator applies approved routes (Kubernetes: a ConfigMap); an approval "
               "only tells the agent");
  app.add_option("--egress-admin", f.egress_admin,
                 "egress admin listener host:port, to confirm reloads and list routes");
  app.add_option("--bottle", f.bottle, "this bottle's slug, written into proposals");
  app.add_option("--answer-timeout", f.answer_timeout, "seconds a tool call waits for the operator")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 86400.0));
  app.add_option("--progress-interval", f.progress_interval,
                 "seconds between progress notifications while waiting")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 3600.0));
  app.add_option("--allow-host", f.allow_hosts,
                 "extra Host/Origin name accepted besides 127.0.0.1, localhost and ::1 "
                 "(repeatable)");
  if (auto code = parse_command_line(app, argc, argv, "bottle-supervise")) return *code;

  log::init("supervise");
  signal(SIGPIPE, SIG_IGN);

  if (!f.bottle.empty() && !valid_proposal_id(f.bottle)) {
    return fail("usage", "--bottle: '" + f.bottle + "' is not a slug ([a-z0-9][a-z0-9-]*)", 2);
  }
  if (f.routes.empty() != f.init_ctl.empty()) {
    return fail("usage", "--routes and --init-ctl go together (one writes, the other reloads)", 2);
  }
  if (f.routes_by_operator && !f.routes.empty()) {
    return fail("usage", "--routes-by-operator and --routes exclude each other", 2);
  }
  ToolSettings ts;
  ts.routes_by_operator = f.routes_by_operator;
  ts.queue_dir = f.queue;
  ts.bottle = f.bottle;
  ts.routes.routes_file = f.routes;
  ts.routes.init_ctl = f.init_ctl;
  ts.answer_timeout = std::chrono::milliseconds(static_cast<int64_t>(f.answer_timeout * 1000));
  ts.progress_interval =
      std::chrono::milliseconds(static_cast<int64_t>(f.progress_interval * 1000));
  if (!f.egress_admin.empty()) {
    auto a = parse_listen_spec(f.egress_admin);
    if (!a || a->kind != ListenSpec::Kind::address) {
      return fail("usage", "--egress-admin: " + (a ? "expected host:port" : a.error()), 2);
    }
    ts.routes.egress_admin = *a;
  }
  struct stat st {};
  if (::stat(f.queue.c_str(), &st) != 0)
    return fail("queue", f.queue + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return fail("queue", f.queue + ": not a directory");

  std::optional<ListenSpec> spec;
  auto passed = take_listen_fds();
  if (f.listen) {
    auto s = parse_listen_spec(*f.listen);
    if (!s) return fail("usage", "--listen: " + s.error(), 2);
    spec = *s;
  } else if (!passed.empty()) {
    spec = ListenSpec{ListenSpec::Kind::fd, "", 0, passed.front().fd};
  } else {
    spec = *parse_listen_spec("127.0.0.1:9100");
  }
  auto fd = open_listener(*spec);
  if (!fd) return fail("listen", fd.error());

  uv_loop_t loop;
  uv_loop_init(&loop);
  SuperviseTools tools(&loop, ts);
  McpOptions mo;
  for (const auto& h : f.allow_hosts) mo.allowed_hosts.push_back(h);
  mo.instructions = kInstructions;
  McpServer mcp(tools, mo);
  HttpServer http(&loop, mcp);
  if (auto st = http.start(*fd); !st) return fail("listen", st.error());
  if (auto st = tools.start(); !st) return fail("queue", st.error());
  log::info("supervise_started", {{"listen", spec->to_string()},
                                  {"port", local_port(*fd)},
                                  {"queue", f.queue},
                                  {"routes", f.routes},
                                  {"routes_by_operator", f.routes_by_operator},
                                  {"egress_admin", f.egress_admin}});

  // SIGTERM/SIGINT: withdraw what waits, close the listener, let blocking jobs finish.
  Signals sig;
  struct Stopper {
    SuperviseTools* tools;
    HttpServer* http;
    Signals* sig;
  } stopper{&tools, &http, &sig};
  auto on_stop = [](uv_signal_t* h, int signum) {
    auto* s = static_cast<Stopper*>(h->data);
    log::info("supervise_stopping", {{"signal", signum}});
    s->tools->stop();
    s->http->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&s->sig->term), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&s->sig->intr), nullptr);
  };
  for (auto [handle, signum] : {std::pair{&sig.term, SIGTERM}, std::pair{&sig.intr, SIGINT}}) {
    uv_signal_init(&loop, handle);
    handle->data = &stopper;
    uv_signal_start(handle, on_stop, signum);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  log::info("supervise_exiting");
  return 0;
}
