#include "orchestrator/state.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "orchestrator/manifest.h"
#include "orchestrator/process.h"

namespace bottle::orchestrator {

namespace fs = std::filesystem;

std::string state_root() {
  return bottle_home() + "/state";
}
std::string state_dir(const std::string& slug) {
  return state_root() + "/" + slug;
}

Result<std::string> choose_slug(const std::string& agent, const std::string& label) {
  if (!label.empty()) {
    // Becomes a netns name (15-char interface names do not apply; /run/netns file names do).
    if (!valid_manifest_name(label) || label.size() > 40) {
      return Error{"label '" + label + "' must match [a-z][a-z0-9-]* (at most 40 characters)"};
    }
    auto md = read_metadata(state_dir(label));
    if (md && bottle_alive(*md)) {
      return Error{"a bottle labelled '" + label + "' is already running (bottle stop " + label +
                   ")"};
    }
    return label;
  }
  std::random_device rd;
  for (int attempt = 0; attempt < 16; ++attempt) {
    char suffix[8];
    std::snprintf(suffix, sizeof suffix, "%06x", rd() & 0xffffff);
    std::string slug = agent.substr(0, 32) + "-" + suffix;
    if (!fs::exists(state_dir(slug))) return slug;
  }
  return Error{"could not pick a free slug under " + state_root()};
}

Status make_dir(const std::string& path, mode_t mode) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return Error{path + ": " + ec.message()};
  if (::chmod(path.c_str(), mode) != 0) return Error{path + ": chmod: " + std::strerror(errno)};
  return OkStatus();
}

Status write_metadata(const std::string& dir, const BottleMetadata& m) {
  nlohmann::json j = {
      {"slug", m.slug},
      {"label", m.label},
      {"agent", m.agent},
      {"bottle", m.bottle},
      {"backend", m.backend},
      {"created", m.created},
      {"netns", m.netns},
      {"status", m.status},
      {"pids",
       {{"orchestrator", m.orchestrator_pid}, {"init", m.init_pid}, {"agent", m.agent_pid}}},
      {"init_ctl", m.init_ctl},
      {"workspace", m.workspace}};
  // Written once the port is chosen: an early save (netns recorded for cleanup) must not
  // advertise port 0 to `bottle info` or a script polling metadata.json.
  if (m.admin_port != 0) j["admin_port"] = m.admin_port;
  return write_file_atomic(dir + "/metadata.json", j.dump(2) + "\n", 0600);
}

Result<BottleMetadata> read_metadata(const std::string& dir) {
  const std::string path = dir + "/metadata.json";
  std::ifstream in(path);
  if (!in) return Error{path + ": " + std::strerror(errno)};
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error{path + ": not valid JSON"};
  BottleMetadata m;
  auto s = [&](const char* k) {
    return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : "";
  };
  m.slug = s("slug");
  m.label = s("label");
  m.agent = s("agent");
  m.bottle = s("bottle");
  m.backend = s("backend");
  m.created = s("created");
  m.netns = s("netns");
  m.status = s("status");
  m.init_ctl = s("init_ctl");
  m.workspace = s("workspace");
  if (j.contains("admin_port") && j["admin_port"].is_number_integer())
    m.admin_port = j["admin_port"];
  if (j.contains("pids") && j["pids"].is_object()) {
    auto p = [&](const char* k) {
      return j["pids"].contains(k) && j["pids"][k].is_number_integer() ? j["pids"][k].get<pid_t>()
                                                                       : 0;
    };
    m.orchestrator_pid = p("orchestrator");
    m.init_pid = p("init");
    m.agent_pid = p("agent");
  }
  if (m.slug.empty()) return Error{path + ": missing slug"};
  return m;
}

std::vector<BottleMetadata> list_metadata() {
  std::vector<BottleMetadata> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(state_root(), ec)) {
    if (!e.is_directory()) continue;
    if (auto m = read_metadata(e.path().string())) out.push_back(std::move(*m));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.created < b.created; });
  return out;
}

bool bottle_alive(const BottleMetadata& m) {
  if (m.status == "exited") return false;
  if (m.status == "kept") return process_alive(m.init_pid);
  return process_alive(m.orchestrator_pid);
}

}  // namespace bottle::orchestrator
