// Builds a daemon's environment from init's own (SPEC §2, §8): the daemon's allow-list,
// then hard rules no config can override, because a secret in the wrong daemon's env is
// how the earlier implementation 403'd legitimate traffic (background 001b §10.1 #1):
//   EGRESS_TOKEN_*                                  -> only the daemon named "egress"
//   GIT_SSH_KEY*, GIT_KEY_*, GITGATE_*KEY*, SSH_AUTH_SOCK -> only the daemon named "gitgate"
//   HTTP(S)_PROXY, http(s)_proxy, ALL_PROXY, NO_PROXY (either case) -> nobody
//   LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES          -> never copied (init sets its own)
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bottle::init {

// `parent` holds "NAME=value" entries (init's environ). Returns a fresh copy; order kept.
std::vector<std::string> scoped_env(std::string_view daemon, const std::vector<std::string>& allow,
                                    const std::vector<std::string>& parent);

// True if `name` matches one allow-list pattern ("PATH", or "EGRESS_TOKEN_*").
bool env_allowed(std::string_view name, const std::vector<std::string>& allow);

// True if the hard rules forbid `name` for `daemon`, whatever the allow-list says.
bool env_forbidden(std::string_view daemon, std::string_view name);

}  // namespace bottle::init
