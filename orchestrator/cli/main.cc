// bottle: the operator's CLI (SPEC §9.2). Each verb is a few lines over
// bottle_orchestrator_lib: load manifest -> plan -> print or launch.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "common/cli.h"
#include "common/version.h"
#include "orchestrator/cli_usage.h"
#include "orchestrator/container_render.h"
#include "orchestrator/docker_backend.h"
#include "orchestrator/doctor.h"
#include "orchestrator/k8s_backend.h"
#include "orchestrator/list_cmd.h"
#include "orchestrator/local_backend.h"
#include "orchestrator/logs_cmd.h"
#include "orchestrator/manifest.h"
#include "orchestrator/plan.h"
#include "orchestrator/preflight.h"
#include "orchestrator/process.h"
#include "orchestrator/proposals_cmd.h"
#include "orchestrator/render.h"
#include "orchestrator/routes_cmd.h"
#include "orchestrator/skills.h"
#include "orchestrator/state.h"
#include "orchestrator/top_cmd.h"

namespace {

using namespace bottle::orchestrator;

// Messages quote manifest text (paths, keys, commands): no control characters reach the
// operator's terminal.
int fail(const std::string& message) {
  std::fprintf(stderr, "bottle: %s\n", printable(message, true).c_str());
  return 1;
}

void progress(const std::string& line) {
  std::fprintf(stderr, "bottle: %s\n", printable(line, true).c_str());
}

// flag > BOTTLE_BACKEND > local. Returns "" after printing an error.
std::string choose_backend(const std::string& flag, int& exit_code) {
  std::string b = flag;
  if (b.empty()) {
    const char* env = std::getenv("BOTTLE_BACKEND");
    b = env && *env ? env : "local";
  }
  if (b == "local" || b == "vm" || b == "docker" || b == "k8s") return b;
  std::fprintf(stderr, "bottle: backend %s: unknown (local | vm | docker | k8s)\n", b.c_str());
  exit_code = 2;
  return "";
}

bottle::Result<Plan> plan_for(const std::string& agent, const std::string& backend,
                              const std::vector<std::string>& command) {
  auto m = load_manifest(default_manifest_dirs(), agent);
  if (!m) return bottle::Error{m.error()};
  PlanOptions o;
  o.backend = backend;
  o.command = command;
  o.find_binary = find_helper_binary;
  auto plan = make_plan(*m, o);
  if (!plan) return plan;
  // Skills come from a tree a project may control: refuse a bad one before the plan is
  // shown or anything is created.
  if (auto skills = read_skills(*plan); !skills) return bottle::Error{skills.error()};
  return plan;
}

struct LaunchFlags {
  std::string agent;
  std::string backend;
  std::string cwd;
  std::string label;
  bool dry_run = false;
  bool keep = false;
  std::vector<std::string> command;
};

void add_launch_flags(CLI::App* sub, LaunchFlags& f) {
  sub->add_option("agent", f.agent, "agent name (agents/<name>.md)")->required();
  sub->add_option("--backend", f.backend,
                  "local | vm | docker | k8s (default: $BOTTLE_BACKEND or local)");
  sub->add_option("--cwd", f.cwd, "workspace mounted read-write (default: current directory)");
  sub->add_option("--label", f.label,
                  "name of this bottle in list, top and logs; sets its colour and the terminal "
                  "title (default: <agent>-<random>)");
  sub->add_flag("--dry-run", f.dry_run, "print the plan and exit; touches nothing");
  sub->add_flag(
      "--keep", f.keep,
      "leave the sidecar and namespace up after the agent exits (remove with bottle stop)");
  sub->add_option("command", f.command, "command to run instead of the provider's (after --)");
}

// `run_verb`: `bottle run` (never asks, never attaches), else `bottle start`.
int launch(const LaunchFlags& f, bool interactive, bool run_verb) {
  int code = 0;
  std::string backend = choose_backend(f.backend, code);
  if (backend.empty()) return code;
  auto plan = plan_for(f.agent, backend, f.command);
  if (!plan) return fail(plan.error());
  if (f.dry_run) {
    std::cout << format_preflight(*plan);
    return 0;
  }
  std::cerr << format_preflight(*plan);
  LaunchOptions o;
  o.label = f.label;
  std::error_code ec;
  o.workspace = f.cwd.empty() ? std::filesystem::current_path(ec).string()
                              : std::filesystem::weakly_canonical(f.cwd, ec).string();
  if (!std::filesystem::is_directory(o.workspace))
    return fail("--cwd " + f.cwd + ": not a directory");
  o.interactive = interactive;
  o.keep = f.keep;
  o.env_sources = process_env_sources();
  if (!interactive) o.env_sources.ask = nullptr;  // `run` never stops to ask
  o.progress = progress;
  if (backend == "k8s") {
    if (run_verb)
      return fail("bottle run: not on k8s (the agent Pod runs detached; use bottle start)");
    auto st = start_k8s(*plan, o, std::cout);
    return st ? 0 : fail(st.error());
  }
  auto r = backend == "docker" ? run_docker(*plan, o) : run_local(*plan, o);
  if (!r) return fail(r.error());
  return *r;
}

int cmd_doctor(const std::string& backend) {
  bool all_ok = true;
  const auto checks = backend == "docker" ? run_docker_doctor()
                      : backend == "vm"   ? run_vm_doctor()
                                          : run_doctor();
  for (const auto& c : checks) {
    std::printf("%-4s %-14s %s\n", c.ok ? "ok" : "FAIL", c.name.c_str(), c.detail.c_str());
    if (!c.ok) {
      std::printf("     fix: %s\n", c.fix.c_str());
      all_ok = false;
    }
  }
  return all_ok ? 0 : 1;
}

std::string read_input(const std::string& file, bool& ok) {
  std::stringstream ss;
  if (file.empty() || file == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      ok = false;
      return file + ": " + std::strerror(errno);
    }
    ss << in.rdbuf();
  }
  ok = true;
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  // A reader that went away (`bottle run ... | head`) must not kill bottle halfway
  // through a teardown: writes fail with EPIPE instead. Children get SIGPIPE back.
  ::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"bottle: run AI coding agents in a sandbox whose only way out is a filtering proxy"};
  app.set_version_flag("--version", bottle::version_line("bottle"));
  app.require_subcommand(1);

  LaunchFlags start_f, run_f;
  auto* start =
      app.add_subcommand("start", "start an agent in a new bottle, attached to this terminal");
  add_launch_flags(start, start_f);
  auto* run = app.add_subcommand(
      "run", "run a command in a new bottle (non-interactive); exits with its status");
  add_launch_flags(run, run_f);

  bool list_all = false;
  auto* list = app.add_subcommand("list", "list running bottles");
  list->add_flag("--all", list_all, "include exited bottles whose state is still on disk");

  // Slugs become paths under state/: nothing but the slug alphabet.
  CLI::Validator slug_name(
      [](std::string& s) {
        return valid_manifest_name(s) ? std::string() : "'" + s + "' is not a bottle slug";
      },
      "SLUG");
  std::string slug;
  auto* stop = app.add_subcommand("stop", "stop a bottle; removes its processes and namespace");
  stop->add_option("slug", slug)->required()->check(slug_name);
  auto* cleanup =
      app.add_subcommand("cleanup", "remove namespaces and state of bottles that are gone");

  std::string routes_verb, routes_file;
  auto* routes =
      app.add_subcommand("routes", "show, edit or apply a running bottle's egress routes");
  routes->add_option("verb", routes_verb, "show | edit | apply")
      ->required()
      ->check(CLI::IsMember({"show", "edit", "apply"}));
  routes->add_option("slug", slug)->required()->check(slug_name);
  routes->add_option("file", routes_file, "routes.yaml to apply (default: stdin)");

  LogsOptions logs_o;
  auto* logs = app.add_subcommand(
      "logs", "print a bottle's sidecar logs (pretty on a terminal, JSON lines when piped)");
  logs->add_option("slug", logs_o.slug)->required()->check(slug_name);
  logs->add_flag("-f,--follow", logs_o.follow, "keep printing while the bottle runs");
  logs->add_option("--daemon", logs_o.daemon, "only this daemon's lines")
      ->check(CLI::IsMember({"egress", "gitgate", "supervise", "init"}));
  logs->add_flag("--blocks", logs_o.blocks, "only block and DLP warning events (the evidence)");

  double top_interval = 1;
  auto* top = app.add_subcommand(
      "top", "live view of running bottles: requests, blocks, proposals; keys to act on them");
  top->add_option("--interval", top_interval, "seconds between refreshes")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 60.0));

  std::string agent;
  auto* info = app.add_subcommand("info", "show what starting an agent would do");
  info->add_option("agent", agent)->required();

  std::string format = "routes";
  auto* render = app.add_subcommand("render", "render an agent's configuration");
  render->add_option("agent", agent)->required();
  render->add_option("--format", format, "routes | compose | k8s")->capture_default_str();
  ContainerTarget target;
  render->add_option("--label", target.slug, "bottle name in the rendering (default: the agent's)")
      ->check(slug_name);
  render->add_option("--cwd", target.workspace, "compose: the workspace to mount (default: .)");
  render->add_option("--namespace", target.namespace_, "k8s: namespace of every object");
  render->add_option("--bundle-ip", target.bundle_ip,
                     "k8s: the bundle Service's ClusterIP (adds the agent Pod)");

  auto* doctor =
      app.add_subcommand("doctor", "check that this machine can run bottles, and how to fix it");
  std::string doctor_backend = "local";
  doctor->add_option("--backend", doctor_backend, "local | vm | docker")
      ->check(CLI::IsMember({"local", "vm", "docker"}))
      ->capture_default_str();
  auto* proposals =
      app.add_subcommand("proposals", "answer what agents ask for (routes, capabilities, help)");
  proposals->require_subcommand(1);
  bool p_all = false, p_json = false, p_edit = false;
  std::string p_id, p_bottle, p_text;
  double p_wait = 30;
  auto* p_list = proposals->add_subcommand("list", "pending proposals of every running bottle");
  p_list->add_flag("--all", p_all, "also answered and archived ones, and stopped bottles");
  p_list->add_flag("--json", p_json, "JSON array instead of a table");
  auto* p_show = proposals->add_subcommand("show", "one proposal, with the routes.yaml diff");
  auto* p_approve = proposals->add_subcommand("approve", "approve a proposal");
  p_approve->add_flag("--edit", p_edit, "edit the route in $EDITOR before approving");
  p_approve->add_option("--reason", p_text, "note for the agent");
  auto* p_reject = proposals->add_subcommand("reject", "reject a proposal");
  p_reject->add_option("--reason", p_text, "why (the agent reads it)")->required();
  auto* p_answer =
      proposals->add_subcommand("answer", "answer a capability-block or report-stuck proposal");
  auto* p_watch = proposals->add_subcommand(
      "watch", "live list of proposals: bell on arrival, one-key approve/reject");
  for (auto* sub : {p_show, p_approve, p_reject, p_answer}) {
    sub->add_option("id", p_id, "proposal id (from bottle proposals list)")->required();
    sub->add_option("--bottle", p_bottle, "look only in this bottle");
  }
  p_answer->add_option("text", p_text, "the answer the agent receives")->required();
  for (auto* sub : {p_approve, p_reject, p_answer}) {
    sub->add_option("--wait", p_wait, "seconds to wait for the bottle to act on the answer")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 3600.0));
  }

  if (auto unknown = subcommand_problem(app, argc, argv)) {
    std::fprintf(stderr, "bottle: usage: %s (see bottle --help)\n", unknown->c_str());
    return 2;
  }
  if (auto code = bottle::parse_command_line(app, argc, argv, "bottle")) return *code;

  auto dispatch = [&]() -> int {
    if (*start) return launch(start_f, ::isatty(STDIN_FILENO), false);
    if (*run) return launch(run_f, false, true);
    if (*list) return list_command(list_all, ::isatty(STDOUT_FILENO), std::cout);
    if (*stop) {
      auto md = read_metadata(state_dir(slug));
      const std::string backend = md ? md->backend : "local";
      auto st = backend == "docker" ? stop_docker(slug, progress)
                : backend == "k8s"  ? stop_k8s(slug, progress)
                                    : stop_local(slug, progress);
      return st ? 0 : fail("stop " + slug + ": " + st.error());
    }
    if (*cleanup) {
      // Docker bottles first: cleanup_local removes the state dirs `down` needs.
      for (const auto& line : cleanup_docker()) progress(line);
      for (const auto& line : cleanup_local()) progress(line);
      return 0;
    }
    if (*routes) {
      if (routes_verb == "show") {
        auto text = routes_show(slug);
        if (!text) return fail(text.error());
        std::cout << *text;
        return 0;
      }
      auto md = read_metadata(state_dir(slug));
      const std::string backend = md ? md->backend : "local";
      const RoutesApplyFn apply = [&](const std::string& s, const std::string& text,
                                      const std::string& source) {
        if (backend != "docker" && backend != "k8s") return routes_apply(s, text, source);
        auto st = backend == "docker" ? routes_apply_docker(s, text, source)
                                      : routes_apply_k8s(s, text, source, progress);
        if (!st) return bottle::Result<bottle::AppliedChange>(bottle::Error{st.error()});
        return bottle::Result<bottle::AppliedChange>(bottle::AppliedChange{});  // unconfirmed
      };
      if (routes_verb == "edit") {
        auto st = routes_edit(slug, apply);
        if (!st) return fail("routes edit: " + st.error());
        progress(*st ? describe_applied_routes(slug, **st) : "routes unchanged; nothing applied");
        return 0;
      }
      bool ok = false;
      std::string text = read_input(routes_file, ok);
      if (!ok) return fail(text);
      auto st = apply(slug, text, routes_file.empty() ? "stdin" : routes_file);
      if (!st) return fail("routes apply: " + st.error());
      progress(describe_applied_routes(slug, *st));
      return 0;
    }
    if (*logs) {
      logs_o.pretty = logs_o.color = ::isatty(STDOUT_FILENO);
      return logs_command(logs_o, std::cout, std::cerr);
    }
    if (*top) {
      TopOptions o;
      o.interval = std::chrono::milliseconds(static_cast<int64_t>(top_interval * 1000));
      return top_command(o, std::cout);
    }
    if (*info) {
      auto plan = plan_for(agent, "local", {});
      if (!plan) return fail(plan.error());
      std::cout << format_preflight(*plan);
      if (!plan->prompt.empty()) std::cout << "prompt:    " << plan->prompt.size() << " bytes\n";
      return 0;
    }
    if (*render) {
      if (format != "routes" && format != "compose" && format != "k8s") {
        std::fprintf(stderr, "bottle: usage: --format must be routes, compose or k8s\n");
        return 2;
      }
      const std::string backend = format == "compose" ? "docker"
                                  : format == "k8s"   ? "k8s"
                                                      : "local";
      auto plan = plan_for(agent, backend, {});
      if (!plan) return fail(plan.error());
      for (const auto& w : plan->warnings) progress("warning: " + w);
      if (format == "routes") {
        std::cout << render_routes_yaml(*plan);
        return 0;
      }
      if (target.slug.empty()) target.slug = agent;
      target.state_dir = state_dir(target.slug);
      if (target.workspace.empty()) target.workspace = std::filesystem::current_path().string();
      std::cout << (format == "compose" ? render_compose(*plan, target)
                                        : render_k8s(*plan, target));
      return 0;
    }
    if (*doctor) return cmd_doctor(doctor_backend);
    if (*p_list) return proposals_list(p_all, p_json, std::cout, std::cerr);
    if (*p_show) return proposals_show(p_id, p_bottle, std::cout, std::cerr);
    if (*p_watch) return proposals_watch(std::cout, std::cerr);
    if (*p_approve || *p_reject || *p_answer) {
      AnswerOptions o;
      o.id = p_id;
      o.bottle = p_bottle;
      o.decision = *p_approve ? bottle::Decision::approve
                   : *p_reject ? bottle::Decision::reject
                               : bottle::Decision::answer;
      o.text = p_text;
      o.edit = p_edit;
      o.wait = std::chrono::milliseconds(static_cast<int64_t>(p_wait * 1000));
      return proposals_answer(o, std::cout, std::cerr);
    }
    return 2;
  };
  try {
    return dispatch();
  } catch (const std::exception& e) {
    // Library code reports errors as Results; this is the last line of defence.
    return fail(std::string("internal error: ") + e.what());
  }
}
