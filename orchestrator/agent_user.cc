#include "orchestrator/agent_user.h"

#include <pwd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <string_view>

namespace bottle::orchestrator {

namespace {

std::optional<uint32_t> parse_id(const std::string& text) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

// Real uids of every running process.
std::set<uid_t> uids_in_use() {
  std::set<uid_t> used;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::ifstream status(e.path() / "status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("Uid:", 0) != 0) continue;
      std::string_view rest(line);
      rest.remove_prefix(4);
      while (!rest.empty() && (rest[0] == '\t' || rest[0] == ' ')) rest.remove_prefix(1);
      if (auto uid = parse_id(std::string(rest.substr(0, rest.find_first_of("\t ")))))
        used.insert(*uid);
      break;
    }
  }
  return used;
}

// FNV-1a: stable across runs, so a reused label tends to get its old uid back.
uint32_t slug_hash(const std::string& slug) {
  uint32_t h = 2166136261u;
  for (unsigned char c : slug) h = (h ^ c) * 16777619u;
  return h;
}

}  // namespace

Result<AgentUser> choose_agent_user(const std::string& slug, const EnvLookup& env) {
  auto sudo_uid = env("SUDO_UID");
  auto sudo_gid = env("SUDO_GID");
  if (sudo_uid && !sudo_uid->empty()) {
    auto uid = parse_id(*sudo_uid);
    auto gid = sudo_gid ? parse_id(*sudo_gid) : std::nullopt;
    if (!uid || !gid)
      return Error{"SUDO_UID/SUDO_GID ('" + *sudo_uid + "', '" + sudo_gid.value_or("") +
                   "') are not numeric ids; unset them to use a bottle uid"};
    if (*uid != 0) return AgentUser{*uid, *gid, true};
  }
  const auto used = uids_in_use();
  const uint32_t start = slug_hash(slug) % kBottleUidCount;
  for (uint32_t i = 0; i < kBottleUidCount; ++i) {
    const uid_t uid = kBottleUidBase + (start + i) % kBottleUidCount;
    if (used.count(uid) || ::getpwuid(uid) != nullptr) continue;
    return AgentUser{uid, uid, false};
  }
  return Error{"no free bottle uid in " + std::to_string(kBottleUidBase) + "+" +
               std::to_string(kBottleUidCount)};
}

std::string describe(const AgentUser& u) {
  return "uid " + std::to_string(u.uid) +
         (u.operator_account ? " (the operator, from SUDO_UID)" : " (a bottle uid)");
}

std::string agent_passwd() {
  const std::string id = std::to_string(kAgentUidInside);
  return "agent:x:" + id + ":" + id + ":bottle agent:/home/agent:/bin/bash\n" +
         "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
}

std::string agent_group() {
  return "agent:x:" + std::to_string(kAgentUidInside) + ":\nnogroup:x:65534:\n";
}

}  // namespace bottle::orchestrator
