// The vm backend's own end-to-end cases (SPEC §9.4, issue 16): what differs from local.
// The local backend's cases also run against vm (tests/orchestrator/CMakeLists.txt, the
// `vm.` tests). Every test boots a real guest under QEMU (TCG here: slow, so few of them).
// Skipped with the reason when not root or the guest is not built; under CI=true that is
// a failure.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "orchestrator/netns.h"
#include "orchestrator/process.h"
#include "orchestrator/vm_guest.h"
#include "tests/orchestrator/e2e_support.h"
#include "tests/orchestrator/test_home.h"
#include "tests/support/support.h"

namespace bottle::orchestrator {
namespace {

namespace fs = std::filesystem;
using testing::run_bottle;
using testing::TestHome;

class VmE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) BOTTLE_SKIP() << "needs root (network namespaces)";
    if (find_helper_binary("qemu-system-x86_64").empty())
      BOTTLE_SKIP() << "qemu-system-x86_64 is needed (scripts/install-deps)";
    auto image = guest_image();
    if (!image) BOTTLE_SKIP() << image.error();
    image_ = *image;
    home_.bottle("vm", "---\nsupervise: false\negress:\n  routes:\n    - host: example.com\n---\n");
    home_.agent("vm", "---\nbottle: vm\nprovider: command\ncommand: [\"true\"]\n---\n");
    workspace_ = home_.root() + "/ws";
    fs::create_directories(workspace_);
  }

  // The guest built next to the `bottle` under test.
  static Result<GuestImage> guest_image() {
    const std::string dir =
        (fs::path(testing::bottle_binary()).parent_path() / "../guest").lexically_normal();
    GuestImage g{dir, dir + "/vmlinuz", dir + "/initramfs.cpio.gz"};
    if (!fs::exists(g.kernel) || !fs::exists(g.initramfs))
      return Error{"the guest is not built (" + dir + "; needs linux-image-cloud-amd64)"};
    return g;
  }

  CaptureResult run(const std::string& label, const std::string& script,
                    const std::vector<std::string>& env = {}) {
    return run_bottle(home_.home(),
                      {"run", "--backend", "vm", "--label", label, "vm", "--cwd", workspace_, "--",
                       "bash", "-c", script},
                      env);
  }

  // Nothing of bottle `slug` is left: no namespace, no process naming its state dir.
  void expect_nothing_left(const std::string& slug) {
    EXPECT_FALSE(fs::exists(netns_path(netns_name(slug)))) << slug;
    auto ps = run_capture({"ps", "-eo", "args"});
    ASSERT_TRUE(ps.ok());
    EXPECT_EQ(ps->out.find(home_.home() + "/state/" + slug), std::string::npos) << ps->out;
  }

  static std::string label(const std::string& base) {
    return base + "-" + std::to_string(::getpid());
  }

  TestHome home_;
  std::string workspace_;
  GuestImage image_;
};

// Also the console log (logs/agent-console.log): what the agent prints, on stdout and on
// stderr, with a token-shaped value masked, as in the sidecar's logs.
TEST_F(VmE2e, TheAgentRunsOnTheGuestKernelAsTheBottleUid) {
  std::ofstream(workspace_ + "/existing.txt") << "before\n";
  const std::string l = label("kernel");
  // Made up here: a GitHub-token shape, never a real one.
  const std::string token = "ghp_" + std::string("Zq7Xw2Lp9Kd4") + "Mv8Rt3Ns6Bh1Jc5Yf0Ge";
  auto r = run(l,
               "echo uid=$(id -u); echo kernel=$(uname -r); echo after > existing.txt; "
               "echo made > new.txt; mkdir dir; "
               "awk -v ws=\"$PWD\" '$5 == ws {print \"mount=\" $6}' /proc/self/mountinfo; "
               "touch /usr/bottle-probe 2>/dev/null; echo usr=$?; "
               "echo out-token=" + token + " done; echo err-token=" + token + " done >&2; exit 9");
  EXPECT_EQ(r.exit_code, 9) << r.err;
  // The operator gets the agent's output as it is; the log file never holds the token.
  EXPECT_NE(r.out.find("out-token=" + token), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("err-token=" + token), std::string::npos) << r.err;
  std::ifstream console_in(home_.home() + "/state/" + l + "/logs/agent-console.log");
  const std::string console((std::istreambuf_iterator<char>(console_in)),
                            std::istreambuf_iterator<char>());
  EXPECT_EQ(console.find(token.substr(4)), std::string::npos) << console;
  EXPECT_NE(console.find("out-token=ghp_********"), std::string::npos) << console;
  EXPECT_NE(console.find("err-token=ghp_********"), std::string::npos) << console;
  EXPECT_NE(console.find("kernel="), std::string::npos) << console;
  std::ifstream version(image_.dir + "/kernel-version");
  std::string guest_kernel;
  std::getline(version, guest_kernel);
  EXPECT_NE(r.out.find("kernel=" + guest_kernel), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("uid=0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("usr=1"), std::string::npos) << "/usr must be read-only: " << r.out;
  const std::string mount = r.out.substr(r.out.find("mount=") + 6);
  EXPECT_NE(mount.find("nosuid"), std::string::npos) << r.out;
  struct stat st {};
  for (const char* f : {"new.txt", "dir"}) {
    ASSERT_EQ(::stat((workspace_ + "/" + f).c_str(), &st), 0) << f;
    EXPECT_NE(st.st_uid, 0u) << f << " belongs to host root";
    EXPECT_EQ(std::to_string(st.st_uid),
              r.out.substr(r.out.find("uid=") + 4, r.out.find('\n') - r.out.find("uid=") - 4));
  }
  std::ifstream in(workspace_ + "/existing.txt");
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "after");
}

TEST_F(VmE2e, OnlyTheSidecarPortsAreReachableFromTheGuest) {
  // 10.0.2.2 and 10.0.2.3 are QEMU's own host and DNS addresses: restrict=on drops them.
  const std::string l = label("net");
  auto r = run(l,
               "for t in 10.0.2.100/9099 10.0.2.100/80 10.0.2.2/22 10.0.2.3/53 192.0.2.1/80; do "
               "timeout 5 bash -c \"exec 3<>/dev/tcp/$t\" 2>/dev/null; echo \"$t=$?\"; done; "
               "getent hosts example.com >/dev/null; echo dns=$?");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("10.0.2.100/9099=0"), std::string::npos) << r.out;
  for (const char* closed : {"10.0.2.100/80=", "10.0.2.2/22=", "10.0.2.3/53=", "192.0.2.1/80="}) {
    const auto at = r.out.find(closed);
    ASSERT_NE(at, std::string::npos) << r.out;
    EXPECT_NE(r.out.substr(at + std::strlen(closed), 2), "0\n")
        << closed << " reachable: " << r.out;
  }
  EXPECT_EQ(r.out.find("dns=0"), std::string::npos) << r.out;
}

// The status lines of a running process: {"CapEff", "0000..."}, ...
std::map<std::string, std::string> proc_status(pid_t pid) {
  std::map<std::string, std::string> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto value = line.find_first_not_of(" \t", colon + 1);
    out[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
  }
  return out;
}

TEST_F(VmE2e, QemuHasNoCapabilityAndTheGuestKeepsLocalsWorkspaceRules) {
  // The operator's repository: its config and hooks must stay out of the agent's reach.
  ASSERT_EQ(run_capture({"git", "-C", workspace_, "init", "-q"})->exit_code, 0);
  const std::string l = label("rules");
  const std::string go = workspace_ + "/go";
  // While the agent waits for `go`, the host reads QEMU's status.
  auto observed = std::async(std::launch::async, [&] {
    std::map<std::string, std::string> status;
    const std::string md = home_.home() + "/state/" + l + "/metadata.json";
    for (int i = 0; i < 1200 && status.empty(); ++i) {
      std::ifstream in(md);
      auto j = nlohmann::json::parse(in, nullptr, false);
      if (!j.is_discarded() && j.contains("pids") && j["pids"].is_object() &&
          j["pids"].value("agent", 0) > 0 && fs::exists(workspace_ + "/ready"))
        status = proc_status(j["pids"]["agent"].get<pid_t>());
      else
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::ofstream(go) << "go\n";
    return status;
  });
  auto r = run(l,
               "cp /bin/true t; chmod u+s t 2>/dev/null; echo chmod=$?; "
               "python3 -c 'import os; os.close(os.open(\"s\", os.O_CREAT|os.O_WRONLY, 0o4755))' "
               "2>/dev/null; echo creat=$?; "
               "echo '[core] fsmonitor = x' >> .git/config 2>/dev/null; echo gitconfig=$?; "
               "echo x > .git/hooks/pre-commit 2>/dev/null; echo hook=$?; "
               "mv .git .git-away 2>/dev/null; echo rename=$?; "
               "touch ready; i=0; while [ ! -e go ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); "
               "done; echo waited");
  const auto status = observed.get();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* refused : {"chmod=1", "creat=1", "gitconfig=1", "hook=1", "rename=1"})
    EXPECT_NE(r.out.find(refused), std::string::npos) << refused << "\n" << r.out;
  struct stat st {};
  ASSERT_EQ(::stat((workspace_ + "/t").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & (S_ISUID | S_ISGID), 0u);
  ASSERT_FALSE(status.empty()) << "never saw QEMU running: " << r.err;
  EXPECT_EQ(status.at("Name"), "qemu-system-x86");
  EXPECT_EQ(status.at("CapEff"), "0000000000000000");
  EXPECT_EQ(status.at("CapPrm"), "0000000000000000");
  EXPECT_EQ(status.at("CapBnd"), "0000000000000000");
  EXPECT_EQ(status.at("NoNewPrivs"), "1");
}

TEST_F(VmE2e, AGuestThatCrashesOrHangsLeavesNothingBehind) {
  // A broken initramfs: the kernel panics and QEMU exits at once.
  const std::string crash = home_.root() + "/crash-guest";
  fs::create_directories(crash);
  fs::create_symlink(image_.kernel, crash + "/vmlinuz");
  std::ofstream(crash + "/initramfs.cpio.gz") << "not an archive";
  const std::string c = label("crash");
  auto r = run(c, "true", {"BOTTLE_GUEST_DIR=" + crash});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("the guest stopped without the agent's exit status"), std::string::npos)
      << r.err;
  expect_nothing_left(c);

  // A guest whose init never gets to the agent: busybox init waiting on its console.
  const std::string hang = home_.root() + "/hang-guest";
  fs::create_directories(hang + "/root");
  fs::create_symlink(image_.kernel, hang + "/vmlinuz");
  fs::copy_file("/bin/busybox", hang + "/root/init");
  auto cpio = run_capture({"sh", "-c",
                           "cd " + hang + "/root && echo init | busybox cpio -o -H newc | gzip > " +
                               hang + "/initramfs.cpio.gz"});
  ASSERT_TRUE(cpio.ok() && cpio->exit_code == 0);
  const std::string h = label("hang");
  auto hr = run(h, "true", {"BOTTLE_GUEST_DIR=" + hang, "BOTTLE_VM_BOOT_TIMEOUT=8"});
  EXPECT_EQ(hr.exit_code, 1) << hr.err;
  EXPECT_NE(hr.err.find("did not reach the agent within 8 s"), std::string::npos) << hr.err;
  expect_nothing_left(h);
}

}  // namespace
}  // namespace bottle::orchestrator
