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

// The agent's output on its way to the operator's terminal (SPEC §9.4: the agent does
// not share the operator's terminal; it may draw on it, never make it act). Colours, cursor
// movement, titles, hyperlinks and the like pass; escape sequences that make a terminal act on the
// host are dropped whole, wherever the chunks split them:
// - OSC other than display ones (0-2 titles, 4/10-19/104/110-119 colours, 7 cwd, 8 links,
//   9/99/777 notifications, 133/633 prompt marks): 52 sets or reads the clipboard,
//   1337 writes files (iTerm2), 5113 transfers files and 5522 reads the clipboard (kitty);
// - every DCS (tmux passthrough smuggles any sequence out; kitty's remote control), APC
//   (kitty graphics reads host files by path), PM and SOS.
// A sequence ends at ST (ESC \), an OSC also at BEL; CAN or SUB cancels it, as in
// xterm. C1 controls written as UTF-8 code points (U+009D for OSC, ...) count as their
// ESC forms, and so do raw 8-bit C1 bytes (0x80-0x9f) wherever they are not part of a
// UTF-8 character: a terminal not in UTF-8 mode obeys them. No raw C1 byte reaches the
// terminal outside a UTF-8 character; for a terminal that is not UTF-8 (`utf8` false) none
// at all, since there every one of them is a control.
class TerminalOutputFilter {
 public:
  explicit TerminalOutputFilter(bool utf8 = true) : utf8_(utf8) {}
  // What of `chunk` reaches the terminal (an OSC is held until its number is known).
  std::string filter(std::string_view chunk);

 private:
  enum class State {
    text,
    escape,               // after ESC
    escape_intermediate,  // after ESC and 0x20-0x2f bytes ("ESC ( B")
    c1,                   // after the UTF-8 lead byte of a C1 control
    osc_number,
    osc_pass,
    osc_pass_escape,
    osc_pass_c1,
    drop,
    drop_escape,
    drop_c1
  };
  // A raw C1 byte in state_ (the byte is already known to be one) acts as its ESC form.
  void raw_c1(unsigned char u, std::string& out);
  // Enters the state a C1 control `c1` (its byte, raw or after the 0xc2 lead) begins when
  // it opens a string (OSC: its number is read; DCS, SOS, PM, APC: dropped); false for others.
  bool open_string(char c1);

  bool utf8_ = true;
  State state_ = State::text;
  std::string held_;       // "ESC ] 5" while the number is incomplete
  bool drop_osc_ = false;  // what is dropped is an OSC (BEL ends it too), not a DCS
  int utf8_left_ = 0;      // continuation bytes the UTF-8 character being passed still has
};

// Whether the operator's terminal reads UTF-8, as far as the locale says (LC_ALL,
// LC_CTYPE, LANG, the first one set): true when it names UTF-8 or none is set (what
// terminals do today), false for C, POSIX or another character set.
bool operator_terminal_utf8();

// Rows and columns of the terminal on `fd` (24x80 when it does not say).
struct TerminalSize {
  int rows = 24;
  int cols = 80;
};
TerminalSize terminal_size(int fd);

}  // namespace bottle::orchestrator
