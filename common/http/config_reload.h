// Replacing a daemon's config file and confirming that the daemon runs it (SPEC §4.5,
// §9.3). The daemon (egress) reports on its admin listener, at GET /reload, its reload
// counters and the SHA-256 of the config bytes in force; a writer confirms a change when
// the counter moved past the value read before the write and the hash is that of the
// bytes it wrote. A reload egress refused is reported with egress's own error, and the
// file is put back, so the file never claims more than the daemon runs.
//
// `bottle routes apply` and supervise's approve path both go through apply_config_change.
// Blocking (file I/O, the reload request, HTTP to the admin port): never on an event loop.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/listen.h"
#include "common/result.h"

namespace bottle {

// The /reload page. egress renders it (to_json) and writers read it (parse_reload_state):
// one definition of its fields.
struct ReloadState {
  uint64_t reloads = 0;        // successful reloads since start
  uint64_t failures = 0;       // reloads that kept the old config
  bool pending = false;        // a reload runs or is queued behind the running one
  std::string config_sha256;   // hex SHA-256 of the config bytes in force
  std::string failed_sha256;   // of the bytes the last failed reload read ("" if none)
  std::string last_error;      // why the last failed reload failed ("" if none)
};

std::string to_json(const ReloadState& s);
// Errors name the field that is missing or of the wrong type.
Result<ReloadState> parse_reload_state(std::string_view json);
// GET /reload on `admin`, parsed.
Result<ReloadState> read_reload_state(const ListenSpec& admin, std::chrono::milliseconds timeout);

struct ConfigChange {
  std::string file;    // replaced atomically (temp + rename)
  std::string before;  // its text now: written back when the change is not confirmed
  std::string after;   // the new text
  mode_t mode = 0600;
  std::string what = "config";          // in messages: "egress refused the new <what>"
  std::function<Status()> reload;       // asks the daemon to reload (bottle-init's ctl)
  std::optional<ListenSpec> admin;      // the daemon's admin; without it nothing is confirmed
  std::chrono::milliseconds timeout{15'000};
};

struct AppliedChange {
  bool confirmed = false;  // the daemon showed the new bytes
  uint64_t reloads = 0;    // its reload counter once confirmed
  std::string sha256;      // of `after`
};

// Writes `after`, reloads, and waits until the daemon runs it. Errors: the daemon not
// answering before the write (nothing changed), the reload request failing, the daemon
// refusing the file (its error), or not showing it within `timeout`; in all but the
// first, `before` is written back and reloaded, and the error says whether that worked.
Result<AppliedChange> apply_config_change(const ConfigChange& change);

}  // namespace bottle
