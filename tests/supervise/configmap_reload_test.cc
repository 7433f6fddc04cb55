// SPEC §9.4: on Kubernetes the routes are a ConfigMap volume, and "egress reloads on change,
// since init watches the mounted directory". These tests lay out a directory exactly as the
// kubelet does (`routes.yaml -> ..data/routes.yaml`, `..data -> ..<timestamp>`) and update
// it the way the kubelet does (new timestamped dir, `..data_tmp` symlink renamed over
// `..data`, old dir removed), under a real bottle-init running a real bottle-egress with
// `reload_on_change` on that directory: egress's admin listener must show the new routes
// without anyone sending a reload.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/http/admin_client.h"
#include "tests/supervise/harness.h"

namespace bottle::supervise::testing {
namespace {

namespace fs = std::filesystem;

std::string routes_for(const std::string& host) {
  return "log: blocks\nroutes:\n  - host: " + host + "\n";
}

// A ConfigMap volume as the kubelet writes it, and its atomic update.
class ConfigMapVolume {
 public:
  explicit ConfigMapVolume(const std::string& dir) : dir_(dir) {
    fs::create_directories(dir_);
    const std::string first = publish("routes.yaml", routes_for("first.test"));
    fs::create_directory_symlink(first, dir_ + "/..data");
    fs::create_symlink("..data/routes.yaml", dir_ + "/routes.yaml");
    current_ = first;
  }
  std::string routes() const { return dir_ + "/routes.yaml"; }

  // The kubelet's AtomicWriter: payload into a new dir, swap `..data`, drop the old dir.
  void update(const std::string& text) {
    const std::string next = publish("routes.yaml", text);
    fs::create_directory_symlink(next, dir_ + "/..data_tmp");
    fs::rename(dir_ + "/..data_tmp", dir_ + "/..data");
    fs::remove_all(dir_ + "/" + current_);
    current_ = next;
  }

 private:
  std::string publish(const std::string& name, const std::string& text) {
    const std::string ts = "..2026_12_03_17_00_00." + std::to_string(++n_);
    fs::create_directory(dir_ + "/" + ts);
    write_file(dir_ + "/" + ts + "/" + name, text);
    return ts;
  }
  std::string dir_;
  std::string current_;
  int n_ = 0;
};

uint64_t reloads(const Sidecar& s) {
  return prometheus_value(s.admin_get("/metrics"), "egress_reloads_total").value_or(~0ull);
}

TEST(ConfigMapReload, EgressRunsTheSwappedRoutesWithoutAReloadCommand) {
  ScratchDir work;
  ConfigMapVolume volume(work.path() + "/routes");
  Sidecar sidecar(volume.routes(), {}, work.path() + "/routes");
  ASSERT_TRUE(sidecar.ok()) << sidecar.error();
  ASSERT_NE(sidecar.admin_get("/routes").find("first.test"), std::string::npos);
  ASSERT_EQ(reloads(sidecar), 0u);

  volume.update(routes_for("second.test"));
  ASSERT_TRUE(eventually([&] { return reloads(sidecar) >= 1; }, std::chrono::seconds(10)))
      << sidecar.log();
  const std::string now = sidecar.admin_get("/routes");
  EXPECT_NE(now.find("second.test"), std::string::npos) << now;
  EXPECT_EQ(now.find("first.test"), std::string::npos) << now;
  EXPECT_NE(sidecar.log().find("\"event\":\"reload_on_change\""), std::string::npos);
  // The swap's burst (mkdir, symlink, rename, rmdir) settles into one reload.
  EXPECT_EQ(reloads(sidecar), 1u);

  // And again: the watch survives the swap (it is on the directory, not on a file).
  volume.update(routes_for("third.test"));
  ASSERT_TRUE(eventually([&] { return reloads(sidecar) >= 2; }, std::chrono::seconds(10)))
      << sidecar.log();
  EXPECT_NE(sidecar.admin_get("/routes").find("third.test"), std::string::npos);
}

TEST(ConfigMapReload, ARefusedFileLeavesTheOldRoutesServing) {
  ScratchDir work;
  ConfigMapVolume volume(work.path() + "/routes");
  Sidecar sidecar(volume.routes(), {}, work.path() + "/routes");
  ASSERT_TRUE(sidecar.ok()) << sidecar.error();
  volume.update("routes:\n  - hots: typo.test\n");
  ASSERT_TRUE(eventually([&] {
    return sidecar.log().find("\"event\":\"reload_on_change\"") != std::string::npos;
  })) << sidecar.log();
  // egress logs its refusal, with the file's line, and keeps serving the routes it had.
  ASSERT_TRUE(eventually([&] {
    return sidecar.log().find("\"event\":\"config_reload_failed\"") != std::string::npos;
  })) << sidecar.log();
  EXPECT_NE(sidecar.log().find("routes.yaml:2:5: route is missing 'host'"), std::string::npos)
      << sidecar.log();
  EXPECT_NE(sidecar.admin_get("/routes").find("first.test"), std::string::npos);
  EXPECT_EQ(sidecar.admin_get("/healthz").rfind("<error", 0), std::string::npos);
}

}  // namespace
}  // namespace bottle::supervise::testing
