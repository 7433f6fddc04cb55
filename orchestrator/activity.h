// What a bottle has been doing, read from what its sidecar already writes (no new
// daemon): the JSON lines in state/<slug>/logs/sidecar.log (bottle-init relays every
// daemon's output there, each line with a "daemon" field) and egress's admin /metrics.
// `bottle logs`, `bottle list` and `bottle top` read through here.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace bottle::orchestrator {

// One line of sidecar.log.
struct LogEvent {
  nlohmann::json fields;  // the whole line (an object)
  std::string daemon;     // egress | gitgate | supervise, or "init" for init's own lines
  std::string event;
  std::string level;
  std::string ts;
};

// nullopt for a line that is not a JSON object (sidecar.log holds none: init wraps
// every other line of a daemon's output in an "output" event).
std::optional<LogEvent> parse_log_line(std::string_view line);

// Evidence lines: a request or push that was refused (`egress_block`,
// `gitgate_push_rejected`), and DLP findings that only warned (`egress_dlp_warn`,
// `gitgate_push_warned`). `bottle logs --blocks` shows both kinds.
bool is_block_event(const LogEvent& e);
bool is_warn_event(const LogEvent& e);
// The reason a block is counted under: egress's `reason`, "push_rejected" for gitgate.
std::string block_reason(const LogEvent& e);

// One human line for a terminal: "12:04:05 egress  warn  egress_block reason=... host=...",
// time in UTC as logged. Every value is printable()'d (a log line quotes what the agent
// asked for, already redacted, but it must not drive the terminal either). With `color`,
// the level is coloured (warn yellow, error red).
std::string pretty_log_line(const LogEvent& e, bool color);

// Reads a growing file: each call returns the complete lines appended since the last
// one (a partial last line waits for its newline). A file that shrank is read again
// from its start.
class LogTail {
 public:
  explicit LogTail(std::string path) : path_(std::move(path)) {}
  // Error only when the file cannot be opened; an absent file is no lines yet.
  Result<std::vector<std::string>> read_new();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  uint64_t offset_ = 0;
  std::string partial_;
};

// Blocks of one bottle, counted from its log.
struct BlockTally {
  uint64_t total = 0;
  std::map<std::string, uint64_t> by_reason;
  std::deque<LogEvent> recent;  // the last `keep` blocks, oldest first
  size_t keep = 5;
  void add(const LogEvent& e);
};

// state/<slug>/logs/sidecar.log
std::string sidecar_log_path(const std::string& slug);

// Adds the blocks among the lines `tail` has not read yet to `tally`. Only lines that
// can be blocks are parsed, so counting a large `log: full` file stays cheap.
Status tally_new_blocks(LogTail& tail, BlockTally& tally);

// Egress's counters from its admin listener (127.0.0.1:port).
struct EgressCounters {
  uint64_t requests = 0;
  std::map<std::string, uint64_t> blocks_by_reason;
};
Result<EgressCounters> read_egress_counters(int admin_port);

}  // namespace bottle::orchestrator
