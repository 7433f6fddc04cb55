// bottle-init: PID 1 of the sidecar bundle (SPEC §8), and its control client
// (`bottle-init ctl ...`). Format of init.yaml and the ctl protocol: init/README.md.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "common/cli.h"
#include "common/log.h"
#include "common/version.h"
#include "init/config.h"
#include "init/ctl.h"
#include "init/supervisor.h"

namespace {

using namespace bottle::init;

// A bad init.yaml, BOTTLE_DAEMONS or inherited fd is a runtime error (exit 1), as in every
// binary; exit 2 is for bad flags only (parse_command_line).
int config_error(const std::string& why) {
  std::fprintf(stderr, "bottle-init: config: %s\n", why.c_str());
  return 1;
}

int run_ctl(const std::string& socket, const nlohmann::json& request) {
  auto reply = ctl_request(socket, request);
  if (!reply) {
    std::fprintf(stderr, "bottle-init: ctl: %s\n", reply.error().c_str());
    return 1;
  }
  std::cout << reply->dump() << std::endl;
  if (reply->value("ok", false)) return 0;
  std::fprintf(stderr, "bottle-init: ctl %s: %s\n", request.value("cmd", "").c_str(),
               reply->value("error", "failed").c_str());
  return 1;
}

// stdio must be open (else our own pipes could land on 0-2), and every other inherited fd
// close-on-exec: it reaches a daemon only if init.yaml hands it over.
void sanitize_inherited_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) < 0) open("/dev/null", O_RDWR);  // takes the lowest free fd
  }
  if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  std::error_code ec;  // kernels before 5.11
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const int fd = std::atoi(e.path().filename().c_str());
    if (fd > 2) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
}

int run_init(const std::string& config_path, SupervisorOptions options) {
  sanitize_inherited_fds();
  auto config = load_init_config(config_path);
  if (!config) return config_error(config.error());
  const char* csv = std::getenv("BOTTLE_DAEMONS");
  auto selected = select_daemons(csv ? csv : "", *config);
  if (!selected) return config_error(selected.error());
  for (const auto& name : *selected) {
    for (int fd : config->daemons.at(name).inherit_fds) {
      if (fcntl(fd, F_GETFD) < 0) {
        return config_error("daemon '" + name + "': inherit_fds " + std::to_string(fd) +
                            " is not an open fd of bottle-init");
      }
    }
  }
  options.config = std::move(*config);
  options.daemons = std::move(*selected);
  return run_supervisor(options);
}

}  // namespace

int main(int argc, char** argv) {
  bottle::log::init("init");
  CLI::App app{
      "bottle-init: PID 1 of the bot-bottle sidecar bundle (spawn, scope env, reap, "
      "restart, forward signals, stop gracefully)"};
  app.set_version_flag("--version", bottle::version_line("bottle-init"));
  std::string config_path = "/etc/bottle/init.yaml";
  SupervisorOptions options;
  options.ctl_path = default_ctl_path();
  long grace_ms = 8000;
  app.add_option("--config", config_path, "daemon table (YAML)")->capture_default_str();
  app.add_option("--ctl", options.ctl_path, "control socket path (env BOTTLE_INIT_CTL)")
      ->capture_default_str();
  app.add_option("--ready-file", options.ready_file,
                 "written (temp + rename) once every started daemon is ready");
  app.add_option("--grace-ms", grace_ms, "TERM-to-KILL grace on shutdown and restart")
      ->capture_default_str()
      ->check(CLI::Range(0L, 3'600'000L));

  auto* ctl = app.add_subcommand("ctl", "talk to a running bottle-init");
  ctl->require_subcommand(1);
  std::string socket = default_ctl_path();
  ctl->add_option("--socket", socket, "control socket path (env BOTTLE_INIT_CTL)")
      ->capture_default_str();
  std::string daemon;
  auto* restart = ctl->add_subcommand("restart", "restart one daemon; prints its new pid");
  restart->add_option("daemon", daemon, "daemon name")->required();
  auto* status = ctl->add_subcommand("status", "print every daemon's pid, state, restarts, ready");
  auto* reload = ctl->add_subcommand("reload", "send SIGHUP to the daemons with reload_signal");
  // A container HEALTHCHECK / k8s probe: status, and exit 0 only when every daemon is ready.
  auto* health = ctl->add_subcommand("health", "exit 0 when every started daemon is ready, else 1");
  for (auto* sub : {restart, status, reload, health})
    sub->fallthrough();  // `ctl status --socket S`

  if (auto code = bottle::parse_command_line(app, argc, argv, "bottle-init")) return *code;

  if (restart->parsed()) return run_ctl(socket, {{"cmd", "restart"}, {"daemon", daemon}});
  if (status->parsed()) return run_ctl(socket, {{"cmd", "status"}});
  if (reload->parsed()) return run_ctl(socket, {{"cmd", "reload"}});
  if (health->parsed()) {
    auto reply = ctl_request(socket, {{"cmd", "status"}});
    if (!reply) {
      std::fprintf(stderr, "bottle-init: ctl health: %s\n", reply.error().c_str());
      return 1;
    }
    if (reply->value("ok", false) && reply->value("ready", false)) return 0;
    std::fprintf(stderr, "bottle-init: ctl health: not ready: %s\n", reply->dump().c_str());
    return 1;
  }
  options.grace = std::chrono::milliseconds(grace_ms);
  return run_init(config_path, std::move(options));
}
