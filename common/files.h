// Whole-file reads and crash-safe writes, shared by every process that writes files
// another process reads while it runs (routes.yaml, metadata.json, the proposal queue).
// A reader never sees half a file: data goes to a temp file in the same directory, is
// fsync'd, then renamed (or linked) into place. Temp names start with '.', so directory
// scanners skip them.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace bottle {

// Whole file; the error names the path and the reason.
Result<std::string> read_text_file(const std::string& path);
// Like read_text_file, but a missing file is nullopt rather than an error.
Result<std::optional<std::string>> read_file_if_exists(const std::string& path);

// Replaces `path` atomically (temp + fsync + rename). Safe with concurrent writers:
// each uses its own temp file, the last rename wins.
Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode);

// Creates `path` with `data` only if no file of that name exists (temp + fsync + link(2)
// + unlink temp), so of several writers racing for one name exactly one wins and no one
// overwrites another. True when this call created the file, false when it existed.
Result<bool> create_file_exclusive(const std::string& path, std::string_view data, mode_t mode);

// Current UTC time as RFC 3339 / ISO 8601, second precision: "2025-06-18T09:30:00Z".
std::string now_iso8601();
// Seconds since the epoch for such a string (also accepts fractional seconds and a
// numeric offset); nullopt when it is not one.
std::optional<int64_t> parse_iso8601(std::string_view text);

}  // namespace bottle
