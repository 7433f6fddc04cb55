#include "orchestrator/vm_guest.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "common/strings.h"
#include "orchestrator/agent_user.h"
#include "orchestrator/netns.h"
#include "orchestrator/process.h"
#include "orchestrator/sandbox.h"
#include "orchestrator/seccomp.h"
#include "orchestrator/state.h"
#include "orchestrator/terminal.h"

namespace bottle::orchestrator {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Under TCG the guest needs about 3-5 s to reach the agent on this kind of machine; a
// 2-core box at load 15-20 (other builds, CI's -j2) gets more than twenty times that
// before the guest counts as hung.
constexpr auto kBootTimeoutTcg = 120s;
constexpr auto kBootTimeoutKvm = 20s;
constexpr auto kProbeTimeout = 10s;
// Per host and per boot (KVM can come and go with a reboot), whatever BOTTLE_HOME is.
constexpr const char* kAccelCacheDir = "/run/bot-bottle";
constexpr const char* kShareTag = "bottle";

std::string first_existing(std::initializer_list<const char*> paths) {
  for (const char* p : paths) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

std::string virtiofsd_binary() {
  return first_existing({"/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd"});
}

std::string busybox_binary() {
  return first_existing({"/bin/busybox", "/usr/bin/busybox"});
}

// Waits for `path` to exist while `child` runs; false on timeout or exit.
bool wait_for_file(const std::string& path, ChildProcess& child, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  auto delay = 2ms;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(path)) return true;
    if (child.poll()) return false;
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, 50ms);
  }
  return false;
}

std::string host_release() {
  struct utsname u {};
  ::uname(&u);
  return u.release;
}

// One boot under KVM that only proves the guest gets to its init (guest/init's probe).
Accel probe_kvm(const GuestImage& image) {
  const std::string qemu = find_helper_binary("qemu-system-x86_64");
  if (qemu.empty()) return {"tcg", "qemu-system-x86_64 not found"};
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return {"tcg", "/dev/kvm cannot be opened"};
  ::close(fd);
  char tmpl[] = "/tmp/bottle-kvm-probe-XXXXXX";
  if (!::mkdtemp(tmpl)) return {"tcg", "no temporary directory for the KVM probe"};
  const std::string dir = tmpl;
  const std::string log = dir + "/console.log";
  SpawnOptions so;
  so.argv = {qemu,
             "-M",
             "pc",
             "-accel",
             "kvm",
             "-cpu",
             "host",
             "-m",
             "256M",
             "-nodefaults",
             "-no-user-config",
             "-display",
             "none",
             "-no-reboot",
             "-kernel",
             image.kernel,
             "-initrd",
             image.initramfs,
             "-append",
             "console=ttyS0 reboot=t panic=-1 quiet bottle.probe=1",
             "-serial",
             "file:" + log};
  so.stdin_null = true;
  so.stdout_file = so.stderr_file = dir + "/qemu.log";
  so.parent_death_signal = SIGKILL;
  Accel out{"tcg", ""};
  if (auto child = spawn(so); !child) {
    out.why = "KVM probe did not start: " + child.error();
  } else {
    auto deadline = std::chrono::steady_clock::now() + kProbeTimeout;
    std::optional<int> code;
    while (!(code = child->poll()) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(20ms);
    const bool timed_out = !code;
    if (!code) code = child->terminate(1s);
    auto console = read_text_file(log);
    if (*code == 0 && console && console->find("bottle-guest: probe ok") != std::string::npos) {
      out = {"kvm", "a probe boot under KVM worked"};
    } else if (timed_out) {
      out.why = "a probe boot under KVM did not finish within " +
                std::to_string(kProbeTimeout.count()) + " s";
    } else {
      auto err = read_text_file(dir + "/qemu.log");
      out.why = "a probe boot under KVM failed" +
                (err && !err->empty() ? ": " + first_line(*err) : std::string());
    }
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return out;
}

// host_system_dirs() for the guest: /usr and /opt are shared, merged-/usr links are made
// in the guest, /etc entries are copied. Anything else is a host layout the guest cannot
// mirror.
struct GuestRoot {
  std::vector<std::string> shared;                         // /usr, /opt
  std::vector<std::pair<std::string, std::string>> links;  // bin -> usr/bin
  std::vector<std::string> etc;                            // /etc/hosts, ...
};

Result<GuestRoot> guest_root() {
  GuestRoot r;
  for (const auto& [path, link] : host_system_dirs()) {
    if (!link.empty()) {
      r.links.emplace_back(path.substr(1), link);
    } else if (path == "/usr" || path == "/opt") {
      r.shared.push_back(path);
    } else if (path.rfind("/etc/", 0) == 0) {
      r.etc.push_back(path);
    } else {
      return Error{"the vm backend needs a merged-/usr host (" + path +
                   " is a directory, not a link into /usr)"};
    }
  }
  return r;
}

Status write_guest_etc(const std::string& dir, const GuestRoot& root, const VmLaunch& l) {
  for (const auto& p : root.etc) {
    std::error_code ec;
    fs::copy(p, dir + "/" + fs::path(p).filename().string(),
             fs::copy_options::recursive | fs::copy_options::copy_symlinks |
                 fs::copy_options::overwrite_existing,
             ec);
    if (ec) return Error{"copy " + p + " for the guest: " + ec.message()};
  }
  const std::string uid = std::to_string(l.uid), gid = std::to_string(l.gid);
  const std::string passwd = "root:x:0:0:root:/root:/usr/sbin/nologin\nagent:x:" + uid + ":" + gid +
                             ":bottle agent:" + l.home + ":/bin/sh\n" +
                             "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
  const std::string group = "root:x:0:\nagent:x:" + gid + ":\nnogroup:x:65534:\n";
  if (auto st = write_file_atomic(dir + "/passwd", passwd, 0644); !st) return st;
  return write_file_atomic(dir + "/group", group, 0644);
}

std::string guest_config(const GuestRoot& root, const VmLaunch& l, int rows, int cols) {
  std::string links;
  for (const auto& [name, target] : root.links)
    links += (links.empty() ? "" : " ") + name + "=" + target;
  std::string c;
  auto var = [&](const std::string& k, const std::string& v) {
    c += k + "=" + shell_quote(v) + "\n";
  };
  var("BOTTLE_LINKS", links);
  var("BOTTLE_FILES_DIR", l.files_dir);
  var("BOTTLE_WORKSPACE", l.workspace);
  var("BOTTLE_HOME", l.home);
  var("BOTTLE_UID", std::to_string(l.uid));
  var("BOTTLE_GID", std::to_string(l.gid));
  var("BOTTLE_GUEST_IP", kVmGuestAddress);
  var("BOTTLE_INTERACTIVE", l.interactive ? "1" : "0");
  var("BOTTLE_ROWS", std::to_string(rows));
  var("BOTTLE_COLS", std::to_string(cols));
  return c;
}

}  // namespace

Result<GuestImage> find_guest_image() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("BOTTLE_GUEST_DIR"); env && *env) {
    dirs.push_back(env);
  } else {
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      dirs.push_back((self.parent_path() / "../guest").lexically_normal().string());
      dirs.push_back((self.parent_path() / "../lib/bot-bottle/guest").lexically_normal().string());
    }
  }
  for (const auto& d : dirs) {
    GuestImage g{d, d + "/vmlinuz", d + "/initramfs.cpio.gz"};
    if (fs::exists(g.kernel) && fs::exists(g.initramfs)) return g;
  }
  return Error{"no guest kernel and initramfs (looked in " +
               (dirs.empty() ? std::string("nothing") : dirs.front()) +
               "; build the `guest` target, or set BOTTLE_GUEST_DIR)"};
}

Accel choose_accel(const GuestImage& image) {
  if (const char* forced = std::getenv("BOTTLE_VM_ACCEL"); forced && *forced) {
    return {forced, "BOTTLE_VM_ACCEL=" + std::string(forced)};
  }
  // Cached per host kernel and guest kernel: either changing may change the answer.
  const std::string key = host_release() + " " + [&] {
    auto v = read_text_file(image.dir + "/kernel-version");
    return v ? first_line(*v) : std::string("?");
  }();
  const std::string cache = std::string(kAccelCacheDir) + "/vm-accel";
  if (auto text = read_text_file(cache)) {
    const auto nl = text->find('\n');
    if (nl != std::string::npos && text->substr(0, nl) == key) {
      const std::string rest = first_line(text->substr(nl + 1));
      const auto sp = rest.find(' ');
      return {rest.substr(0, sp),
              (sp == std::string::npos ? "" : rest.substr(sp + 1)) + " (cached in " + cache + ")"};
    }
  }
  Accel a = probe_kvm(image);
  (void)make_dir(kAccelCacheDir, 0700);
  (void)write_file_atomic(cache, key + "\n" + a.name + " " + a.why + "\n", 0600);
  return a;
}

std::vector<std::string> qemu_argv(const VmLaunch& l, const std::string& qemu,
                                   const std::string& relay, const std::string& vfs_socket) {
  const std::string logs = l.state_dir + "/logs";
  // restrict=on: the guest reaches nothing but the guestfwd addresses; each connection to
  // one runs the relay, inside the bottle's namespace, to the sidecar's listener there.
  std::string net = "user,id=net0,restrict=on,ipv6=off,net=10.0.2.0/24";
  for (int port : l.ports) {
    net += ",guestfwd=tcp:" + std::string(kVmForwardAddress) + ":" + std::to_string(port) +
           "-cmd:" + relay + " nc 127.0.0.1 " + std::to_string(port);
  }
  std::vector<std::string> a = {
      qemu, "-M", "pc,memory-backend=mem", "-accel", l.accel.name, "-cpu",
      l.accel.name == "kvm" ? "host" : "max", "-m", l.resources.memory,
      // virtiofs needs the guest's memory shareable with virtiofsd.
      "-object", "memory-backend-memfd,id=mem,size=" + l.resources.memory + ",share=on", "-smp",
      std::to_string(l.resources.cpus), "-nodefaults", "-no-user-config", "-display", "none",
      "-no-reboot",
      // QEMU's seccomp filter; not elevateprivileges=deny: busybox, the guestfwd relay it
      // spawns, resets its ids at start and would be killed.
      "-sandbox", "on,obsolete=deny,resourcecontrol=deny", "-kernel", l.image.kernel, "-initrd",
      l.image.initramfs, "-append", "console=ttyS0 reboot=t panic=-1 quiet", "-serial",
      "file:" + logs + "/guest-console.log", "-chardev", "socket,id=vfs,path=" + vfs_socket,
      "-device", std::string("vhost-user-fs-pci,chardev=vfs,tag=") + kShareTag, "-netdev", net,
      "-device", "virtio-net-pci,netdev=net0,romfile=", "-device", "virtio-serial-pci",
      // The agent's console: its own pty (or pipes) on QEMU's stdio. Not QEMU's logfile=:
      // bottle's relay logs it, redacted (AgentStdio::log_output_to).
      "-chardev", "stdio,id=con,signal=off",
      "-device", "virtconsole,chardev=con"};
  if (l.interactive) {
    // Resizes: the operator's window size reaches the guest as a line on a console of
    // its own (fd 3 here), which guest/init applies to the agent's console (hvc1).
    a.insert(a.end(), {"-chardev", "socket,id=ctl,fd=3", "-device", "virtconsole,chardev=ctl"});
  } else {
    // Without a terminal, stderr stays apart: a second console on the pipe passed as fd 3.
    // Handed over as an fd set (QEMU has no capability to reopen the agent's pipe by path),
    // append=on: without it QEMU truncates the file, which a pipe refuses.
    a.insert(a.end(), {"-add-fd", "fd=3,set=3", "-chardev",
                       "file,id=err,path=/dev/fdset/3,append=on",
                       "-device", "virtconsole,chardev=err"});
  }
  return a;
}

std::string guest_run_script(const VmLaunch& l) {
  std::string s = "# written by bottle for guest/init: the agent's environment and command\n";
  for (const auto& kv : l.env) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    s += "export " + kv.substr(0, eq) + "=" + shell_quote(kv.substr(eq + 1)) + "\n";
  }
  s += "cd " + shell_quote(l.workspace) + " || exit 125\n";
  // bwrap only loads the filter (the guest's root, mounts included, stays as init made
  // it): local's rule that the agent writes no setuid or setgid file holds in the guest.
  s += "exec /usr/bin/bwrap --dev-bind / / --chdir " + shell_quote(l.workspace) +
       " --seccomp 3 -- /usr/bin/setpriv --reuid=" + std::to_string(l.uid) +
       " --regid=" + std::to_string(l.gid) + " --clear-groups --no-new-privs --";
  for (const auto& arg : l.argv) s += " " + shell_quote(arg);
  return s + " 3</run/boot/seccomp.bpf\n";
}

Result<std::string> guest_binds_file(const std::vector<GitBind>& binds) {
  std::string out;
  for (const auto& b : binds) {
    if (b.path.find('\n') != std::string::npos)
      return Error{"workspace path with a newline cannot be protected in the guest: " +
                   shell_quote(b.path)};
    out += std::string(b.read_only ? "ro " : "rw ") + b.path + "\n";
  }
  return out;
}

Result<int> run_vm_agent(const VmLaunch& l, std::array<int, 3> stdio, bool controlling_tty,
                         const VmStarted& started, const std::function<void()>& relay) {
  const std::string qemu = find_helper_binary("qemu-system-x86_64");
  if (qemu.empty()) return Error{"qemu-system-x86_64 not found (apt-get install qemu-system-x86)"};
  const std::string vfsd = virtiofsd_binary();
  if (vfsd.empty()) return Error{"virtiofsd not found (apt-get install qemu-system-x86)"};
  const std::string busybox = busybox_binary();
  if (busybox.empty()) return Error{"busybox not found (apt-get install busybox-static)"};
  if (::access("/usr/bin/setpriv", X_OK) != 0)
    return Error{"/usr/bin/setpriv not found (apt-get install util-linux)"};
  if (::access("/usr/bin/bwrap", X_OK) != 0)
    return Error{"/usr/bin/bwrap not found (apt-get install bubblewrap)"};
  auto root = guest_root();
  if (!root) return Error{root.error()};

  const std::string vm = l.state_dir + "/vm";
  for (const auto& [sub, mode] : std::vector<std::pair<std::string, mode_t>>{
           {"", 0700}, {"/boot", 0700}, {"/etc", 0755}, {"/share", 0755}}) {
    if (auto st = make_dir(vm + sub, mode); !st) return Error{st.error()};
  }
  if (auto st = write_guest_etc(vm + "/etc", *root, l); !st) return Error{st.error()};
  int rows = 24, cols = 80;
  if (l.interactive) {
    const TerminalSize size = terminal_size(STDOUT_FILENO);
    if (size.rows > 0 && size.cols > 0) rows = size.rows, cols = size.cols;
  }
  if (auto st = write_file_atomic(vm + "/boot/config", guest_config(*root, l, rows, cols), 0600);
      !st)
    return Error{st.error()};
  if (auto st = write_file_atomic(vm + "/boot/run", guest_run_script(l), 0600); !st)
    return Error{st.error()};
  auto binds = guest_binds_file(l.workspace_binds);
  if (!binds) return Error{binds.error()};
  if (auto st = write_file_atomic(vm + "/boot/binds", *binds, 0600); !st) return Error{st.error()};
  const auto filter = setid_filter();
  if (auto st = write_file_atomic(
          vm + "/boot/seccomp.bpf",
          std::string(reinterpret_cast<const char*>(filter.data()), filter.size() * sizeof(filter[0])),
          0600);
      !st)
    return Error{st.error()};

  // One virtiofsd serves the guest's whole view, staged in its own mount namespace: the
  // read-only parts are read-only binds there, so the host enforces them, not the guest.
  const std::string socket = vm + "/virtiofs.sock";
  SpawnOptions fs_opt;
  fs_opt.argv = {vfsd, "--socket-path=" + socket,
                 "-o", "source=" + vm + "/share",
                 "-o", "cache=auto",
                 "-o", "xattr",
                 "-o", "posix_acl",
                 "-o", "sandbox=namespace"};
  fs_opt.stage_dir = vm + "/share";
  for (const auto& p : root->shared) fs_opt.staged.push_back({p, p.substr(1), true});
  fs_opt.staged.push_back({vm + "/etc", "etc", true});
  fs_opt.staged.push_back({l.state_dir + "/agent", "files", true});
  fs_opt.staged.push_back({vm + "/boot", "boot", false});
  fs_opt.staged.push_back({l.workspace, "ws", false});
  fs_opt.stdin_null = true;
  fs_opt.stdout_file = fs_opt.stderr_file = l.state_dir + "/logs/virtiofsd.log";
  fs_opt.new_session = true;
  fs_opt.parent_death_signal = SIGKILL;
  auto vfs = spawn(fs_opt);
  if (!vfs) return Error{"virtiofsd: " + vfs.error()};
  if (l.interactive && l.control_fd < 0) return Error{"no control channel for the console"};
  if (!wait_for_file(socket, *vfs, 10s)) {
    return Error{"virtiofsd did not start (log: " + l.state_dir + "/logs/virtiofsd.log)"};
  }

  auto ns = open_netns(l.netns);
  if (!ns) return Error{ns.error()};
  SpawnOptions so;
  so.argv = qemu_argv(l, qemu, busybox, socket);
  so.env = std::vector<std::string>{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  so.netns_fd = ns->get();
  so.stdio = {stdio[0], stdio[1], -1};
  so.pass_fds = {l.interactive ? l.control_fd : stdio[2]};
  so.stderr_file = l.state_dir + "/logs/qemu.log";  // QEMU's own messages
  so.new_session = true;
  so.controlling_terminal = controlling_tty;
  so.parent_death_signal = SIGKILL;
  // QEMU needs no privilege: everything it opens is root's own (or handed to it), so it
  // runs with no capability at all and cannot gain one.
  so.drop_capabilities = true;
  auto child = spawn(so);
  if (!child) return Error{"qemu: " + child.error()};
  started(child->pid());

  // A guest that never reaches the agent is killed (the relay then sees QEMU's stdio close).
  std::atomic<bool> done{false}, hung{false};
  auto limit = l.accel.name == "kvm" ? kBootTimeoutKvm : kBootTimeoutTcg;
  // Tests of the hang path set a short one.
  if (const char* t = std::getenv("BOTTLE_VM_BOOT_TIMEOUT"); t && std::atoi(t) > 0)
    limit = std::chrono::seconds(std::atoi(t));
  const pid_t qemu_pid = child->pid();
  std::thread watchdog([&] {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done && !fs::exists(vm + "/boot/started")) {
      if (std::chrono::steady_clock::now() >= deadline) {
        hung = true;
        ::kill(qemu_pid, SIGKILL);
        return;
      }
      std::this_thread::sleep_for(50ms);
    }
  });
  relay();
  const int qemu_code = child->wait();
  done = true;
  watchdog.join();
  vfs->terminate(2s);
  // The agent's environment (resolved ${VAR} and ?prompt values) does not outlive the run.
  std::error_code ec;
  fs::remove(vm + "/boot/run", ec);

  auto status = read_text_file(vm + "/boot/status");
  if (status && !status->empty()) {
    try {
      return std::stoi(*status);
    } catch (const std::exception&) {
    }
  }
  const std::string console = l.state_dir + "/logs/guest-console.log";
  if (hung) {
    return Error{"the guest did not reach the agent within " + std::to_string(limit.count()) +
                 " s; killed it (console log: " + console + ")"};
  }
  if (qemu_code > 128) return qemu_code;  // stopped by a signal (bottle stop, Ctrl-C)
  return Error{"the guest stopped without the agent's exit status (qemu exit " +
               std::to_string(qemu_code) + "; console log: " + console + ")"};
}

}  // namespace bottle::orchestrator
