// Who the agent is on the host (SPEC §9.4: files the agent creates never belong to host
// root). Inside the bottle it is always uid/gid 1000 "agent"; on the host it is:
//
// - under sudo (SUDO_UID/SUDO_GID set, not 0): the operator's own account. The agent
//   can do in the workspace what the operator can, and its files are the operator's.
// - otherwise a bottle uid: kBottleUidBase + n with gid = uid, n in [0, kBottleUidCount),
//   picked from a hash of the bottle's slug and probed upwards past any uid that has a
//   passwd entry or a running process. The range (0x7B000000...) lies below 2^31 and
//   outside systemd's system, dynamic (61184-65519), container (524288-1879048191) and
//   foreign (0x7FFE0000...) ranges. Such a uid owns nothing on the host but the
//   agent's own files, so it gets the workspace through POSIX ACLs (workspace.h).
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "common/result.h"

namespace bottle::orchestrator {

inline constexpr uid_t kAgentUidInside = 1000;
inline constexpr uid_t kBottleUidBase = 0x7B000000;  // 2063597568
inline constexpr uid_t kBottleUidCount = 65536;

struct AgentUser {
  uid_t uid = 0;
  gid_t gid = 0;
  bool operator_account = false;  // the operator's own (sudo); else a bottle uid
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// Errors when SUDO_UID/SUDO_GID are malformed, or when no bottle uid is free.
Result<AgentUser> choose_agent_user(const std::string& slug, const EnvLookup& env);

// "uid 1000 (the operator, from SUDO_UID)" / "uid 2063597700 (a bottle uid)".
std::string describe(const AgentUser& user);

// passwd and group files for inside the bottle: just the agent (and nobody).
std::string agent_passwd();
std::string agent_group();

}  // namespace bottle::orchestrator
