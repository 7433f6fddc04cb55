#include "orchestrator/doctor.h"

#include <unistd.h>

#include "common/result.h"
#include "orchestrator/agent_user.h"
#include "orchestrator/container_cli.h"
#include "orchestrator/docker_backend.h"
#include "orchestrator/netns.h"
#include "orchestrator/process.h"
#include "orchestrator/state.h"
#include "orchestrator/vm_guest.h"

namespace bottle::orchestrator {

namespace {

DoctorCheck binary(const std::string& name, const std::string& fix) {
  std::string p = find_helper_binary(name);
  return {name, !p.empty(), p.empty() ? "not found next to bottle or on PATH" : p, fix};
}

}  // namespace

std::vector<DoctorCheck> run_doctor() {
  std::vector<DoctorCheck> out;
  bool root = ::geteuid() == 0;
  out.push_back({"root", root,
                 root ? "running as uid 0" : "running as uid " + std::to_string(::geteuid()),
                 "the local backend creates network namespaces: run bottle as root (sudo)"});
  out.push_back(binary("ip", "apt-get install iproute2"));
  out.push_back(binary("bwrap", "apt-get install bubblewrap"));
  out.push_back(binary("bottle-egress",
                       "build it: cmake --build build --target bottle-egress (or put it on PATH)"));
  out.push_back(binary("bottle-init",
                       "build it: cmake --build build --target bottle-init (or put it on PATH)"));
  if (root && out[1].ok) {
    // Creating and deleting a namespace is the real test (kernel support, /run/netns).
    const std::string ns = "bottle-doctor-" + std::to_string(::getpid());
    auto st = create_netns(ns);
    DoctorCheck c{"ip netns", st.ok(), st.ok() ? "created and removed " + ns : st.error(),
                  "the kernel needs network namespaces (CONFIG_NET_NS) and /run must be writable"};
    if (st) (void)delete_netns(ns);
    out.push_back(c);
  }
  if (out[2].ok && root) {
    // bwrap runs as the agent's unprivileged uid: its user namespace must work unprivileged.
    char log[] = "/tmp/bottle-doctor-XXXXXX";
    UniqueFd log_fd(::mkstemp(log));
    SpawnOptions so;
    so.argv = {out[2].detail, "--unshare-user", "--uid",     "1000", "--gid",
               "1000",        "--unshare-pid",  "--ro-bind", "/",    "/",
               "--proc",      "/proc",          "--dev",     "/dev", "true"};
    so.stdin_null = true;
    so.stdout_file = so.stderr_file = log;
    so.run_as = std::make_pair(kBottleUidBase, kBottleUidBase);
    auto child = spawn(so);
    const int code = child ? child->wait() : -1;
    auto err = read_text_file(log);
    ::unlink(log);
    const bool ok = code == 0;
    out.push_back({"bwrap sandbox", ok,
                   ok ? "user + pid namespaces work for an unprivileged uid"
                      : (child ? first_line(err ? *err : "") : child.error()),
                   "enable unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1 "
                   "(and user.max_user_namespaces > 0)"});
  }
  return out;
}

std::vector<DoctorCheck> run_vm_doctor() {
  std::vector<DoctorCheck> out = run_doctor();
  const DoctorCheck qemu = binary("qemu-system-x86_64", "apt-get install qemu-system-x86");
  out.push_back(qemu);
  const bool vfsd = ::access("/usr/lib/qemu/virtiofsd", X_OK) == 0 ||
                    ::access("/usr/libexec/virtiofsd", X_OK) == 0;
  out.push_back({"virtiofsd", vfsd, vfsd ? "found" : "not found in /usr/lib/qemu or /usr/libexec",
                 "apt-get install qemu-system-x86"});
  out.push_back(binary("busybox", "apt-get install busybox-static"));
  auto image = find_guest_image();
  out.push_back({"guest", image.ok(), image ? image->dir : image.error(),
                 "apt-get install linux-image-cloud-amd64 busybox-static, then build the `guest` "
                 "target"});
  if (image && qemu.ok) {
    const Accel a = choose_accel(*image);
    // TCG works everywhere, only slower: reported, never a failure.
    out.push_back({"accelerator", true,
                   a.name == "kvm"
                       ? "KVM (" + a.why + ")"
                       : "TCG, no KVM: guests boot in seconds, not under one (" + a.why + ")",
                   ""});
  }
  return out;
}

std::vector<DoctorCheck> run_docker_doctor() {
  std::vector<DoctorCheck> out;
  const std::string docker = docker_cli();
  out.push_back({"docker", !docker.empty(), docker.empty() ? "not found on PATH" : docker,
                 "install the Docker CLI (Debian: apt-get install docker.io; or Docker's "
                 "docker-ce-cli)"});
  if (docker.empty()) return out;
  // Compose v2 (the docker plugin) first, then v1 (docker-compose).
  auto v2 = run_cli({docker, "compose", "version", "--short"}, CliWait::quick);
  if (v2 && v2->exit_code == 0) {
    out.push_back({"compose", true, "v2 (docker compose " + first_line(v2->out) + ")", ""});
  } else {
    const std::string v1_bin = compose_v1_for(docker);
    auto v1 = v1_bin.empty() ? Result<CaptureResult>(Error{"not found"})
                             : run_cli({v1_bin, "version", "--short"}, CliWait::quick);
    const bool ok = v1 && v1->exit_code == 0;
    out.push_back(
        {"compose", ok,
         ok ? "v1 (" + v1_bin + " " + first_line(v1->out) + ")"
            : "neither `docker compose` nor a docker-compose beside " + docker + " works",
         "install the compose plugin (docker-compose-plugin) or Debian's docker-compose, or "
         "name one with BOTTLE_DOCKER_COMPOSE"});
  }
  // The daemon: docker's own error says why (socket, permissions, DOCKER_HOST).
  auto info = run_cli({docker, "info", "--format", "{{.ServerVersion}}"}, CliWait::quick);
  const bool up = info && info->exit_code == 0;
  out.push_back({"docker daemon", up,
                 up ? "server " + first_line(info->out)
                    : (info ? first_line(info->err.empty() ? info->out : info->err) : info.error()),
                 "start it (systemctl start docker), or point DOCKER_HOST at one; without root, "
                 "join the docker group"});
  return out;
}

}  // namespace bottle::orchestrator
