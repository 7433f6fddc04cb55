// The vm backend's pure parts: QEMU's command line and the guest's run script.
#include "orchestrator/vm_guest.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace bottle::orchestrator {
namespace {

VmLaunch launch() {
  VmLaunch l;
  l.state_dir = "/state/b";
  l.netns = "bottle-b";
  l.workspace = "/work/it's here";
  l.files_dir = "/run/bottle";
  l.home = "/home/agent";
  l.uid = 2000000001;
  l.gid = 2000000001;
  l.env = {"HTTPS_PROXY=http://10.0.2.100:9099", "QUOTED=a'b $(x) `y`"};
  l.argv = {"sh", "-c", "echo '$HOME'; exit 3"};
  l.ports = {9099, 9418};
  l.image = {"/g", "/g/vmlinuz", "/g/initramfs.cpio.gz"};
  l.accel = {"tcg", "test"};
  return l;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& a : v) s += a + "\n";
  return s;
}

TEST(VmGuest, QemuNetworkIsRestrictedToTheForwardedSidecarPorts) {
  const auto a = qemu_argv(launch(), "qemu", "/bin/busybox", "/state/b/vm/virtiofs.sock");
  const std::string all = joined(a);
  auto net = std::find(a.begin(), a.end(), "-netdev");
  ASSERT_NE(net, a.end());
  const std::string netdev = *(net + 1);
  EXPECT_EQ(netdev.rfind("user,id=net0,restrict=on,ipv6=off", 0), 0u) << netdev;
  EXPECT_NE(netdev.find("guestfwd=tcp:10.0.2.100:9099-cmd:/bin/busybox nc 127.0.0.1 9099"),
            std::string::npos);
  EXPECT_NE(netdev.find("guestfwd=tcp:10.0.2.100:9418-cmd:/bin/busybox nc 127.0.0.1 9418"),
            std::string::npos);
  EXPECT_EQ(netdev.find("hostfwd"), std::string::npos);
  EXPECT_NE(all.find("\ntcg\n"), std::string::npos);
  EXPECT_NE(all.find("-no-reboot\n"), std::string::npos);
  EXPECT_NE(all.find("size=1G,share=on"), std::string::npos) << all;
  // Without a terminal, stderr gets its own console on fd 3.
  EXPECT_NE(all.find("-add-fd\nfd=3,set=3\n-chardev\nfile,id=err,path=/dev/fdset/3"),
            std::string::npos)
      << all;
  auto interactive = launch();
  interactive.interactive = true;
  const std::string tty = joined(qemu_argv(interactive, "qemu", "bb", "s"));
  EXPECT_EQ(tty.find("id=err"), std::string::npos);
  // With a terminal, fd 3 is the resize channel: the guest's second console.
  EXPECT_NE(tty.find("-chardev\nsocket,id=ctl,fd=3\n-device\nvirtconsole,chardev=ctl"),
            std::string::npos)
      << tty;
  // bottle's relay writes the console log (redacted), never QEMU.
  EXPECT_EQ(all.find("logfile="), std::string::npos) << all;
  EXPECT_EQ(tty.find("logfile="), std::string::npos) << tty;
}

TEST(VmGuest, RunScriptQuotesEveryValueAndDropsToTheAgentUid) {
  const std::string s = guest_run_script(launch());
  EXPECT_NE(s.find("export QUOTED='a'\\''b $(x) `y`'\n"), std::string::npos) << s;
  EXPECT_NE(s.find("cd '/work/it'\\''s here' || exit 125\n"), std::string::npos) << s;
  // bwrap loads local's set-id seccomp filter from descriptor 3, then setpriv drops.
  EXPECT_NE(s.find("exec /usr/bin/bwrap --dev-bind / / --chdir '/work/it'\\''s here' --seccomp 3 "
                   "-- /usr/bin/setpriv --reuid=2000000001 --regid=2000000001 --clear-groups "
                   "--no-new-privs -- 'sh' '-c' 'echo '\\''$HOME'\\''; exit 3' "
                   "3</run/boot/seccomp.bpf\n"),
            std::string::npos)
      << s;
}

TEST(VmGuest, GitProtectionBindsAreListedForTheGuestInMountOrder) {
  auto text = guest_binds_file({{".git", false}, {".git/config", true}, {"sub dir/.git/hooks", true}});
  ASSERT_TRUE(text.ok()) << text.error();
  EXPECT_EQ(*text, "rw .git\nro .git/config\nro sub dir/.git/hooks\n");
  auto bad = guest_binds_file({{"a\nb/.git", false}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("newline"), std::string::npos) << bad.error();
}

}  // namespace
}  // namespace bottle::orchestrator
