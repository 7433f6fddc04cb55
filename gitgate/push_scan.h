// The secret scan of a push (SPEC §6), run while git receive-pack holds the pushed
// objects in its quarantine. Only what is new to the gate is read: the objects of
// `<new>... --not --all` (the mirror's refs), listed by `git rev-list --objects`. Those the
// quarantine's pack holds (a push over receive.unpackLimit) are read in process
// (pack_reader.h: libdeflate, delta chains with a base cache), one thread per core, each
// delta family on one thread; the rest (loose objects, anything the reader refuses) by
// `git cat-file --batch`, also split by family over up to four readers. Scanned: every
// added text blob (path:line findings), the names in every added tree, every commit and
// tag object (messages, author lines), and the pushed ref names. Blobs with a NUL in their
// first 8000 bytes are binary and skipped (git's own test); each text blob is scanned up
// to the per-blob cap and the rest of a larger one is reported as unscanned. Findings come
// in rev-list's order, whichever way an object was read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/dlp/scanner.h"
#include "common/result.h"

namespace bottle::gitgate {

inline constexpr std::string_view kZeroId = "0000000000000000000000000000000000000000";

struct RefUpdate {
  std::string old_id;  // all zeros: the ref is created
  std::string new_id;  // all zeros: the ref is deleted
  std::string ref;     // "refs/heads/main"
  bool creates() const { return old_id.find_first_not_of('0') == std::string::npos; }
  bool deletes() const { return new_id.find_first_not_of('0') == std::string::npos; }
};

// A pre-receive hook's stdin line: "<old> <new> <ref>" with full hex object ids.
Result<RefUpdate> parse_ref_update(std::string_view line);

// How git runs in the quarantine: the binary, the mirror, and the environment carrying
// GIT_OBJECT_DIRECTORY / GIT_ALTERNATE_OBJECT_DIRECTORIES / GIT_QUARANTINE_PATH.
struct QuarantineGit {
  std::string git;
  std::string repo_dir;
  std::vector<std::string> env;
};

struct PushFinding {
  std::string detector;  // "secret.aws_access_key_id"
  std::string where;     // "config/aws.env:3", "commit 1a2b3c4", "a path name", "a ref name"
  bool blocking = true;  // false: reported only (a `warn` detector: config::judge_findings)
};

struct PushScan {
  std::vector<PushFinding> findings;
  std::vector<std::string> unscanned;  // "<path>: <n> bytes, first <cap> scanned"
  uint64_t objects = 0;                // objects new to the gate
  uint64_t blobs = 0;                  // text blobs scanned
  uint64_t binary_blobs = 0;           // skipped as binary
  uint64_t bytes = 0;                  // bytes handed to the scanner
  uint64_t from_pack = 0;              // objects read in process from the push's pack
};

// Blocking (spawns git); call it off the event loop.
Result<PushScan> scan_push(const QuarantineGit& git, const std::vector<RefUpdate>& updates,
                           const dlp::Scanner& scanner, uint64_t blob_cap);

// git's binary test: a NUL byte in the first 8000 bytes.
bool looks_binary(std::string_view head);

}  // namespace bottle::gitgate
