// Turns a child's stdout/stderr bytes into JSON log lines on init's stderr, one per line,
// each naming the daemon (SPEC §8). Splitting is separate from I/O so it is testable.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/unique_fd.h"

namespace bottle::init {

// A line longer than this is emitted in pieces, so a child that never writes '\n'
// cannot make init buffer without bound.
inline constexpr size_t kMaxLineBytes = 16 * 1024;

class LineSplitter {
 public:
  using Sink = std::function<void(std::string_view line)>;
  explicit LineSplitter(Sink sink) : sink_(std::move(sink)) {}

  void feed(std::string_view bytes);  // calls sink once per complete (or 16 KiB) line
  void finish();                      // flushes a trailing partial line, if any

 private:
  Sink sink_;
  std::string pending_;
};

// If `line` is a JSON object, returns it compacted with "daemon" set (a child cannot
// pose as another daemon); otherwise nullopt.
std::optional<std::string> merge_daemon_field(std::string_view daemon, std::string_view line);

// Writes one relayed line to stderr: a JSON object line gets its "daemon" field, any other
// line becomes {"event":"output","daemon":..,"stream":..,"line":..} with bad UTF-8 replaced.
void relay_line(std::string_view daemon, std::string_view stream, std::string_view line);

// One child pipe (stdout or stderr) being relayed. Not movable: the splitter's sink refers
// to this object (keep it in a std::list).
class OutputPipe {
 public:
  OutputPipe(std::string daemon, const char* stream, UniqueFd fd);
  OutputPipe(const OutputPipe&) = delete;
  OutputPipe& operator=(const OutputPipe&) = delete;

  int fd() const { return fd_.get(); }
  bool is_open() const { return fd_.valid(); }
  // One poll wakeup's worth: at most kMaxLineBytes, so a chatty child cannot starve the
  // others or delay signals and ctl requests. Closes the pipe at EOF.
  void read_some();
  // At exit: relays what is left without blocking, then closes.
  void drain();

 private:
  void close_pipe();

  std::string daemon_;
  const char* stream_;
  UniqueFd fd_;
  LineSplitter lines_;
};

}  // namespace bottle::init
