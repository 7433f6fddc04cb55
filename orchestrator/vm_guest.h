// The `vm` backend's agent side (SPEC §9.4): the agent runs in a QEMU guest inside the
// bottle's network namespace; the sidecar is local_backend's. The guest's kernel and
// initramfs are built at build time (guest/build-initramfs); its root is the host's /usr
// and allow-listed /etc, read-only, plus the workspace, served by one virtiofsd; its only
// network is QEMU user networking with restrict=on, where guestfwd maps the sidecar's
// ports on one guest address to the listeners in the namespace. README.md, "vm backend".
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "orchestrator/manifest.h"
#include "orchestrator/workspace_git.h"

namespace bottle::orchestrator {

// The guest's own address and the one the sidecar's ports are forwarded from (the plan's
// vm layout uses kVmForwardAddress for egress, git-gate and supervise).
inline constexpr const char* kVmGuestAddress = "10.0.2.15";
inline constexpr const char* kVmForwardAddress = "10.0.2.100";

struct GuestImage {
  std::string dir;  // holds vmlinuz, initramfs.cpio.gz, kernel-version
  std::string kernel;
  std::string initramfs;
};

// $BOTTLE_GUEST_DIR, else guest/ of the build tree `bottle` runs from, else
// <prefix>/lib/bot-bottle/guest.
Result<GuestImage> find_guest_image();

// The QEMU accelerator to use: "kvm" when a probe boot under KVM works on this host
// (cached per host boot in /run/bot-bottle), else "tcg". `why` says how it was decided, in one
// line.
struct Accel {
  std::string name;
  std::string why;
};
Accel choose_accel(const GuestImage& image);

// Everything the guest needs to run one agent command.
struct VmLaunch {
  std::string state_dir;  // the bottle's state dir; vm/ and logs/ go there
  std::string netns;      // QEMU runs inside it
  std::string workspace;  // shared read-write, at the same path in the guest
  std::string files_dir;  // the agent's files (state_dir/agent) appear there, read-only
  std::string home;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<std::string> env;   // the agent's whole environment, K=V
  std::vector<std::string> argv;  // what it runs
  std::vector<int> ports;         // sidecar ports forwarded from kVmForwardAddress
  // The workspace's `.git` protection (workspace_git.h), made in the guest as local makes
  // it in bwrap: bound onto themselves, read-only where marked.
  std::vector<GitBind> workspace_binds;
  bool interactive = false;
  // With `interactive`: bottle's end of the console's control channel, a socket on which
  // it writes "rows cols\n" at each resize (the guest's third console; guest/init).
  int control_fd = -1;
  VmSpec resources;
  GuestImage image;
  Accel accel;
};

// The command lines, pure (tests read them).
std::vector<std::string> qemu_argv(const VmLaunch& launch, const std::string& qemu,
                                   const std::string& relay, const std::string& vfs_socket);
// The shell script the guest's init runs as root: environment, cwd, then bwrap loading the
// set-id seccomp filter (seccomp.h; the program is boot/seccomp.bpf, on descriptor 3) and
// setpriv to the agent's uid. Every value is single-quoted.
std::string guest_run_script(const VmLaunch& launch);
// boot/binds for guest/init: one "ro|rw <workspace-relative path>" per line, in mount
// order. A path with a newline cannot be written: an error.
Result<std::string> guest_binds_file(const std::vector<GitBind>& binds);

// Called with the QEMU process once it runs (the bottle records it as the agent).
using VmStarted = std::function<void(pid_t qemu)>;

// Boots the guest, runs the agent to completion on `stdio` (the child's 0, 1, 2), and
// returns its exit status. A guest that does not reach the agent within the boot timeout
// is killed; a guest that stops without reporting a status is an error naming its
// console log.
Result<int> run_vm_agent(const VmLaunch& launch, std::array<int, 3> stdio, bool controlling_tty,
                         const VmStarted& started, const std::function<void()>& relay);

}  // namespace bottle::orchestrator
