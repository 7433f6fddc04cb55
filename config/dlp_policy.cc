#include "config/dlp_policy.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "common/strict_yaml.h"

namespace bottle::config {

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

std::optional<std::string> env_slot_problem(const std::string& name,
                                            const std::optional<EnvLookup>& env) {
  bool ok = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
  for (char c : name) {
    ok = ok && (std::isupper(static_cast<unsigned char>(c)) ||
                std::isdigit(static_cast<unsigned char>(c)) || c == '_');
  }
  if (!ok) return "'" + name + "' is not an environment variable name ([A-Z_][A-Z0-9_]*)";
  if (env && !(*env)(name)) return "environment variable " + name + " is not set";
  return std::nullopt;
}

std::string_view to_string(DlpAction a) {
  return a == DlpAction::block ? "block" : a == DlpAction::warn ? "warn" : "off";
}

namespace {

// `detectors: {<id>: block|warn|off}`, entries added to (or replacing) `out`.
Status read_detectors(std::string_view file, const YAML::Node& node, const DlpKeys& keys,
                      std::map<std::string, DlpAction, std::less<>>& out) {
  MapReader r(file, node, "dlp.detectors");
  if (!r.ok()) return Error{r.error()};
  std::vector<std::string> ids;
  for (const auto& kv : node) {
    const std::string id = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (id == "dlp.scan_error") {
      r.fail(kv.first, "'dlp.scan_error' cannot be set: a unit that cannot be scanned is always blocked");
      return Error{r.error()};
    }
    if (!keys.detector_ids) {
      const bool well_formed = !id.empty() && id.front() != '.' && id.back() != '.' &&
                               std::all_of(id.begin(), id.end(), [](char c) {
                                 return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
                               });
      if (!well_formed) {
        r.fail(kv.first, "'" + id + "' is not a detector id (like 'secret.jwt')");
        return Error{r.error()};
      }
      ids.push_back(id);
    }
  }
  for (const std::string& id : keys.detector_ids ? *keys.detector_ids : ids) {
    if (auto v = r.one_of(id, {"block", "warn", "off"})) {
      out[id] = *v == "block" ? DlpAction::block : *v == "warn" ? DlpAction::warn : DlpAction::off;
    }
  }
  r.finish();
  if (!r.ok()) return Error{r.error()};
  return OkStatus();
}

}  // namespace

void emit_dlp_section(YAML::Emitter& e, const DlpPolicy& policy, const DlpKeys& keys,
                      const std::vector<std::string>* secrets) {
  e << YAML::Flow << YAML::BeginMap;
  e << YAML::Key << "outbound" << YAML::Value << std::string(to_string(policy.outbound));
  if (keys.inbound) e << YAML::Key << "inbound" << YAML::Value << std::string(to_string(policy.inbound));
  e << YAML::Key << "max_body_bytes" << YAML::Value << policy.max_body_bytes;
  if (keys.stream_large_bodies) {
    e << YAML::Key << "stream_large_bodies" << YAML::Value << policy.stream_large_bodies;
  }
  if (keys.known_secrets_env && secrets && !secrets->empty()) {
    e << YAML::Key << "known_secrets_env" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& name : *secrets) e << name;
    e << YAML::EndSeq;
  }
  if (keys.detectors && !policy.detectors.empty()) {
    e << YAML::Key << "detectors" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (const auto& [id, a] : policy.detectors) {
      e << YAML::Key << id << YAML::Value << std::string(to_string(a));
    }
    e << YAML::EndMap;
  }
  e << YAML::EndMap;
}

Status read_dlp_section(std::string_view file, const YAML::Node& node, std::string_view what,
                        const DlpKeys& keys, const std::optional<EnvLookup>& env, DlpPolicy& policy,
                        std::vector<std::string>* secrets) {
  MapReader r(file, node, what);
  if (!r.ok()) return Error{r.error()};
  auto action = [&r](const char* key, DlpAction& out) {
    if (auto v = r.one_of(key, {"block", "warn", "off"})) {
      out = *v == "block" ? DlpAction::block : *v == "warn" ? DlpAction::warn : DlpAction::off;
    }
  };
  action("outbound", policy.outbound);
  if (keys.inbound) action("inbound", policy.inbound);
  if (auto v = r.integer("max_body_bytes", 0, int64_t(1) << 40)) policy.max_body_bytes = *v;
  if (keys.stream_large_bodies) {
    if (auto v = r.boolean("stream_large_bodies")) policy.stream_large_bodies = *v;
  }
  if (keys.detectors) {
    if (YAML::Node d = r.node("detectors"); d.IsDefined()) {
      if (auto st = read_detectors(file, d, keys, policy.detectors); !st) return st;
    }
  }
  if (keys.known_secrets_env && secrets) {
    YAML::Node names = r.node("known_secrets_env");
    if (auto v = r.str_list("known_secrets_env")) {
      for (size_t i = 0; i < v->size(); ++i) {
        if (auto why = env_slot_problem((*v)[i], env)) r.fail(names[i], *why);
      }
      if (r.ok()) *secrets = *v;
    }
  }
  r.finish();
  if (!r.ok()) return Error{r.error()};
  return OkStatus();
}

}  // namespace bottle::config
