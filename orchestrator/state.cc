#include "orchestrator/state.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "orchestrator/manifest.h"
#include "orchestrator/netns.h"
#include "orchestrator/process.h"
#include "orchestrator/terminal.h"

namespace bottle::orchestrator {

namespace fs = std::filesystem;

std::string state_root() {
  return bottle_home() + "/state";
}
std::string state_dir(const std::string& slug) {
  return state_root() + "/" + slug;
}
std::string init_ctl_path(const std::string& slug) {
  return state_dir(slug) + "/init.sock";
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

namespace {

std::string size_name(size_t bytes) {
  if (bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

Result<std::string> read_regular_fd(int path_fd, const std::string& shown, size_t max_bytes) {
  struct stat st;
  if (::fstat(path_fd, &st) != 0) return Error{shown + ": " + std::strerror(errno)};
  if (S_ISLNK(st.st_mode)) return Error{shown + ": is a symbolic link"};
  if (!S_ISREG(st.st_mode)) return Error{shown + ": not a regular file"};
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return Error{shown + ": larger than " + size_name(max_bytes)};
  // Reopening the O_PATH descriptor through /proc reaches the same, checked inode.
  const std::string via = "/proc/self/fd/" + std::to_string(path_fd);
  UniqueFd fd(::open(via.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return Error{shown + ": " + std::strerror(errno)};
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{shown + ": read: " + std::strerror(errno)};
    if (n == 0) return data;
    data.append(buf, static_cast<size_t>(n));
    // The size was checked, but a file can grow while it is read.
    if (data.size() > max_bytes) return Error{shown + ": larger than " + size_name(max_bytes)};
  }
}

Result<std::string> read_regular_file(const std::string& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!fd) return Error{path + ": " + std::strerror(errno)};
  return read_regular_fd(fd.get(), path, max_bytes);
}

Status write_metadata(const std::string& dir, const BottleMetadata& m) {
  nlohmann::json j = {{"slug", m.slug},
                      {"label", m.label},
                      {"color", label_color(m.label.empty() ? m.slug : m.label).hex},
                      {"agent", m.agent},
                      {"bottle", m.bottle},
                      {"backend", m.backend},
                      {"created", m.created},
                      {"netns", m.netns},
                      {"status", m.status},
                      {"pids",
                       {{"orchestrator", m.pids.orchestrator.pid},
                        {"crash_guard", m.pids.crash_guard.pid},
                        {"init", m.pids.init.pid},
                        {"agent", m.pids.agent.pid}}},
                      {"pid_start_times",
                       {{"orchestrator", m.pids.orchestrator.start_time},
                        {"crash_guard", m.pids.crash_guard.start_time},
                        {"init", m.pids.init.start_time},
                        {"agent", m.pids.agent.start_time}}},
                      {"init_ctl", m.init_ctl},
                      {"workspace", m.workspace}};
  // Written once the port is chosen: an early save (netns recorded for cleanup) must not
  // advertise port 0 to `bottle info` or a script polling metadata.json.
  if (m.admin_port != 0) j["admin_port"] = m.admin_port;
  if (!m.project.empty()) j["project"] = m.project;
  if (!m.k8s_namespace.empty()) j["k8s_namespace"] = m.k8s_namespace;
  if (m.agent_uid != 0) {
    j["agent_user"] = {{"uid", m.agent_uid},
                       {"gid", m.agent_gid},
                       {"workspace_shared", m.workspace_shared},
                       {"started", m.agent_started}};
  }
  return write_file_atomic(dir + "/metadata.json", j.dump(2) + "\n", 0600);
}

Result<BottleMetadata> read_metadata(const std::string& dir) {
  const std::string path = dir + "/metadata.json";
  auto text = read_regular_file(path, kMaxAgentFileBytes);
  if (!text) return Error{text.error()};
  return parse_metadata(*text, path);
}

Result<BottleMetadata> parse_metadata(std::string_view json, const std::string& path) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
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
  m.project = s("project");
  m.k8s_namespace = s("k8s_namespace");
  if (j.contains("admin_port") && j["admin_port"].is_number_integer())
    m.admin_port = j["admin_port"];
  // A process without a recorded start time cannot be told from a recycled pid: it
  // stays {pid, 0}, which is never alive and never signalled.
  auto process = [&](const char* k) {
    ProcessId id;
    auto number = [&](const char* table) -> const nlohmann::json* {
      if (!j.contains(table) || !j[table].is_object() || !j[table].contains(k)) return nullptr;
      return j[table][k].is_number_unsigned() ? &j[table][k] : nullptr;
    };
    if (auto* pid = number("pids"); pid && *pid <= std::numeric_limits<pid_t>::max())
      id.pid = pid->get<pid_t>();
    if (auto* start = number("pid_start_times")) id.start_time = start->get<unsigned long long>();
    return id;
  };
  if (j.contains("agent_user") && j["agent_user"].is_object()) {
    const auto& u = j["agent_user"];
    auto id = [&](const char* k) -> uint32_t {
      return u.contains(k) && u[k].is_number_unsigned() && u[k] <= 0xFFFFFFFEu
                 ? u[k].get<uint32_t>()
                 : 0;
    };
    m.agent_uid = id("uid");
    m.agent_gid = id("gid");
    m.workspace_shared = u.contains("workspace_shared") && u["workspace_shared"].is_boolean() &&
                         u["workspace_shared"].get<bool>();
    m.agent_started = u.contains("started") && u["started"].is_number_integer()
                          ? u["started"].get<long long>()
                          : 0;
  }
  m.pids.orchestrator = process("orchestrator");
  m.pids.crash_guard = process("crash_guard");
  m.pids.init = process("init");
  m.pids.agent = process("agent");
  if (m.slug.empty()) return Error{path + ": missing slug"};
  return m;
}

std::vector<BottleMetadata> list_metadata() {
  std::vector<BottleMetadata> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(state_root(), ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_symlink() || !e.is_directory() || !valid_manifest_name(name)) continue;
    if (auto m = read_metadata(e.path().string())) {
      m->slug = name;
      out.push_back(std::move(*m));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.created < b.created; });
  return out;
}

bool bottle_alive(const BottleMetadata& m) {
  if (m.status == "exited") return false;
  // Kept: its sidecars stay until `bottle stop` (docker: the compose project, whose
  // processes are the engine's, not this machine's to check).
  if (m.status == "kept") return m.backend == "docker" || process_alive(m.pids.init);
  // Rendered for or applied to a cluster: it lives there, whatever happens to this
  // machine's processes, until `bottle stop`.
  if (m.backend == "k8s") return true;
  return process_alive(m.pids.orchestrator);
}

void ask_owner_to_stop(const BottleMetadata& md, std::chrono::milliseconds grace,
                       const std::function<void(const std::string&)>& progress) {
  if (md.pids.orchestrator.pid == ::getpid() || !process_alive(md.pids.orchestrator)) return;
  progress("asking bottle " + md.slug + " (pid " + std::to_string(md.pids.orchestrator.pid) +
           ") to stop");
  signal_process(md.pids.orchestrator, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (process_alive(md.pids.orchestrator) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

bool bottle_has_leftovers(const BottleMetadata& m) {
  if (bottle_alive(m)) return false;
  // Its `bottle` died before `compose down`: the project still runs.
  if (m.backend == "docker") return m.status != "exited";
  return process_alive(m.pids.init) || process_alive(m.pids.agent) ||
         fs::exists(netns_path(netns_name(m.slug)));
}

}  // namespace bottle::orchestrator
