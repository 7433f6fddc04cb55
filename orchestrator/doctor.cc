#include "orchestrator/doctor.h"

#include <unistd.h>

#include "orchestrator/agent_user.h"
#include "orchestrator/netns.h"
#include "orchestrator/process.h"
#include "orchestrator/state.h"

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

}  // namespace bottle::orchestrator
