// Finds manifest files and resolves `extends` chains (SPEC §9.1 merge rules).
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "config/yaml_emit.h"
#include "orchestrator/manifest.h"
#include "orchestrator/state.h"
#include "common/strings.h"

namespace bottle::orchestrator {

using config::clone_node;

namespace fs = std::filesystem;

std::string bottle_home() {
  if (const char* h = std::getenv("BOTTLE_HOME"); h && *h) return h;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.bot-bottle";
}

ManifestDirs default_manifest_dirs() {
  ManifestDirs d;
  d.agent_dirs.push_back((fs::current_path() / ".bot-bottle" / "agents").string());
  d.agent_dirs.push_back(bottle_home() + "/agents");
  d.bottle_dir = bottle_home() + "/bottles";
  return d;
}

bool valid_manifest_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || !(name[0] >= 'a' && name[0] <= 'z')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

namespace {

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".md") continue;
    std::string stem = e.path().stem().string();
    if (valid_manifest_name(stem)) out.push_back(stem);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Child fields win; `fields` of the parent are kept where the child is silent.
YAML::Node merge_repo_fields(const YAML::Node& parent, const YAML::Node& child) {
  YAML::Node out = clone_node(parent);
  for (const auto& kv : child) out[kv.first.Scalar()] = clone_node(kv.second);
  return out;
}

BottleSpec merge(const BottleSpec& parent, const RawBottle& child) {
  BottleSpec out = parent;
  out.name = child.spec.name;
  for (const auto& [k, v] : child.spec.env) out.env[k] = v;
  if (child.has_egress) out.egress = child.spec.egress;
  if (child.has_supervise) out.supervise = child.spec.supervise;
  if (child.spec.vm) out.vm = child.spec.vm;
  for (const auto& repo : child.spec.repos) {
    auto it = std::find_if(out.repos.begin(), out.repos.end(),
                           [&](const GitRepo& r) { return r.name == repo.name; });
    if (it == out.repos.end()) {
      out.repos.push_back(repo);
    } else {
      it->fields = merge_repo_fields(it->fields, repo.fields);
      it->origin = repo.origin;
    }
  }
  return out;
}

Result<BottleSpec> resolve(const ManifestDirs& dirs, const std::string& name,
                           std::vector<std::string>& visiting, const std::string& wanted_at) {
  const std::string path = dirs.bottle_dir + "/" + name + ".md";
  if (!valid_manifest_name(name)) {
    return Error{wanted_at + ": bottle name '" + name + "' must match [a-z][a-z0-9-]*"};
  }
  if (!fs::exists(path)) {
    auto avail = names_in(dirs.bottle_dir);
    std::string chain =
        visiting.empty() ? "" : " (chain: " + join(visiting, " -> ") + " -> " + name + ")";
    return Error{wanted_at + ": bottle '" + name + "' not found in " + dirs.bottle_dir + chain +
                 "; available: " + (avail.empty() ? "none" : join(avail, ", "))};
  }
  visiting.push_back(name);
  auto text = read_regular_file(path, kMaxAgentFileBytes);
  if (!text) return Error{text.error()};
  auto raw = parse_bottle(*text, path, name);
  if (!raw) return Error{raw.error()};
  BottleSpec base;
  if (raw->extends) {
    const std::string& parent = *raw->extends;
    if (parent == name) {
      return Error{raw->extends_at + ": bottle '" + name + "' extends itself"};
    }
    if (std::find(visiting.begin(), visiting.end(), parent) != visiting.end()) {
      return Error{raw->extends_at + ": extends cycle: " + join(visiting, " -> ") + " -> " +
                   parent};
    }
    auto p = resolve(dirs, parent, visiting, raw->extends_at);
    if (!p) return p;
    base = std::move(*p);
  }
  BottleSpec out = merge(base, *raw);
  out.chain.insert(out.chain.begin(), name);
  visiting.pop_back();
  return out;
}

}  // namespace

std::vector<std::string> list_agent_names(const ManifestDirs& dirs) {
  std::set<std::string> all;
  for (const auto& d : dirs.agent_dirs) {
    for (auto& n : names_in(d)) all.insert(n);
  }
  return {all.begin(), all.end()};
}

std::vector<std::string> find_agent_files(const ManifestDirs& dirs, const std::string& name) {
  std::vector<std::string> found;
  if (!valid_manifest_name(name)) return found;
  for (const auto& d : dirs.agent_dirs) {
    std::string p = d + "/" + name + ".md";
    std::error_code ec;
    // Two search dirs can be one directory (run from the home directory itself).
    bool seen = std::any_of(found.begin(), found.end(),
                            [&](const std::string& f) { return fs::equivalent(f, p, ec); });
    if (fs::exists(fs::symlink_status(p, ec)) && !seen) found.push_back(p);
  }
  return found;
}

Result<std::string> find_agent_file(const ManifestDirs& dirs, const std::string& name) {
  if (!valid_manifest_name(name)) {
    return Error{"agent name '" + name +
                 "' must match [a-z][a-z0-9-]* (the file name without .md)"};
  }
  auto found = find_agent_files(dirs, name);
  if (!found.empty()) return found.front();
  auto avail = list_agent_names(dirs);
  return Error{"agent '" + name + "' not found in " + join(dirs.agent_dirs, " or ") +
               "; available: " + (avail.empty() ? "none" : join(avail, ", "))};
}

Result<BottleSpec> load_bottle(const ManifestDirs& dirs, const std::string& name) {
  std::vector<std::string> visiting;
  return resolve(dirs, name, visiting, "bottle");
}

Result<Manifest> load_manifest(const ManifestDirs& dirs, const std::string& agent_name) {
  auto path = find_agent_file(dirs, agent_name);
  if (!path) return Error{path.error()};
  auto text = read_regular_file(*path, kMaxAgentFileBytes);
  if (!text) return Error{text.error()};
  auto agent = parse_agent(*text, *path, agent_name);
  if (!agent) return Error{agent.error()};
  std::vector<std::string> warnings;
  const auto all = find_agent_files(dirs, agent_name);
  const std::string own_dir = dirs.agent_dirs.empty() ? "" : dirs.agent_dirs.back();
  std::error_code ec;
  agent->from_project = !fs::equivalent(fs::path(*path).parent_path(), own_dir, ec);
  if (agent->from_project && all.size() > 1) {
    // The project's file wins the lookup; the operator should know theirs was passed over.
    warnings.push_back("project agent " + *path + " shadows your agent " + all.back() +
                       " (the project's is used)");
  }
  std::vector<std::string> visiting;
  auto bottle = resolve(dirs, agent->bottle, visiting, agent->bottle_at);
  if (!bottle) return Error{bottle.error()};
  Manifest m;
  m.agent = std::move(*agent);
  m.bottle = std::move(*bottle);
  m.warnings = std::move(warnings);
  return m;
}

}  // namespace bottle::orchestrator
