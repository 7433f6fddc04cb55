// The agent's network namespace (SPEC §9.4 local): named `bottle-<slug>` under
// /run/netns so `ip netns` and `bottle cleanup` can see it; only `lo`, no routes out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "orchestrator/process.h"

namespace bottle::orchestrator {

std::string netns_name(const std::string& slug);
std::string netns_path(const std::string& name);

// `ip netns add <name>` and `ip -n <name> link set lo up`.
Status create_netns(const std::string& name);
// `ip netns delete`; absent is fine.
Status delete_netns(const std::string& name);
std::vector<std::string> list_bottle_netns();
// pids of processes whose network namespace is `name` (`ip netns pids`).
std::vector<int> netns_pids(const std::string& name);
// SIGKILLs every process inside namespace `name`. Each is held by a pidfd while its
// namespace is checked, so a pid recycled meanwhile is not hit. Returns how many.
int kill_netns_processes(const std::string& name);

// A listening TCP socket bound to 127.0.0.1:<port> inside the namespace: a helper
// thread enters the namespace, binds, and hands the fd back (a socket keeps the
// namespace it was created in).
Result<UniqueFd> listen_in_netns(const std::string& name, uint16_t port);

// Opens the namespace file for setns().
Result<UniqueFd> open_netns(const std::string& name);

}  // namespace bottle::orchestrator
