// How bottles look on the operator's terminal: a bottle's colour (derived from its label,
// so every view and every start shows the same one), the window title while attached,
// and text the agent or a manifest wrote, made safe and cut to a width.
#pragma once

#include <termios.h>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

namespace bottle::orchestrator {

// One of twelve xterm-256 colours readable on dark and light backgrounds, picked by a
// hash of the label. `hex` is the same colour as "#rrggbb" (metadata.json "color").
struct LabelColor {
  int ansi256 = 0;
  std::string hex;
};
LabelColor label_color(std::string_view label);

// `text` in the label's colour (SGR 38;5;N ... 0). The caller decides whether the
// output is a terminal; `text` must already be printable().
std::string painted(std::string_view text, const LabelColor& color);

// printable(text), cut to about `max` bytes on a UTF-8 boundary with "..." appended.
std::string shown(std::string_view text, size_t max = std::string_view::npos);

// "42s", "5m", "3h", "2d" since an RFC 3339 UTC time; "?" when it does not parse.
std::string age_since(const std::string& iso8601);

// While alive, the terminal on `fd` (when it is one) has the title `title` (OSC 0).
// The previous title is pushed on xterm's title stack and popped at the end; terminals
// without a stack keep the bottle's title, which is harmless. `title` is printable()'d.
class TerminalTitle {
 public:
  TerminalTitle(int fd, std::string_view title);
  ~TerminalTitle();
  TerminalTitle(const TerminalTitle&) = delete;
  TerminalTitle& operator=(const TerminalTitle&) = delete;

 private:
  int fd_ = -1;  // -1: not a terminal, nothing to restore
};

// The operator's keyboard for a live view (`bottle top`, `bottle proposals watch`): when
// stdin and stdout are terminals, stdin is raw (no echo, no line editing, reads return at
// once) while this lives, and restored on destruction.
class RawKeyboard {
 public:
  RawKeyboard();
  ~RawKeyboard();
  RawKeyboard(const RawKeyboard&) = delete;
  RawKeyboard& operator=(const RawKeyboard&) = delete;

  bool active() const { return active_; }
  // Cooked mode for a prompt or an editor, and back.
  void suspend();
  void resume();
  // What was typed, waiting up to `ms` for the first key; "" on timeout. Arrow up and
  // down arrive as 'k' and 'j', a lone Escape as '\x1b'; other escape sequences are dropped.
  std::string read_keys(int ms);
  // Asks `question` at the cursor and reads one line in cooked mode.
  std::string prompt(std::ostream& out, const std::string& question);

 private:
  bool active_ = false;
  termios saved_{};
};

// SIGINT and SIGTERM end a live view (`bottle top`, `bottle proposals watch`) through
// its loop instead of killing it, so the terminal is restored. watch_stop_signals()
// installs the handlers and clears the flag; 'q' sets it with end_live_view().
void watch_stop_signals();
bool live_view_ended();
void end_live_view();

// Rows and columns of the terminal on `fd` (24x80 when it does not say).
struct TerminalSize {
  int rows = 24;
  int cols = 80;
};
TerminalSize terminal_size(int fd);

}  // namespace bottle::orchestrator
