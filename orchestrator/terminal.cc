#include "orchestrator/terminal.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>

#include "common/ascii.h"
#include "common/files.h"
#include "orchestrator/preflight.h"

namespace bottle::orchestrator {
namespace {

// Mid-saturation entries of the 6x6x6 cube: no near-black, near-white or pure primaries.
constexpr std::array<int, 12> kPalette = {31, 32, 35, 71, 97, 100, 130, 133, 136, 166, 167, 169};

std::string cube_hex(int index) {
  static constexpr std::array<int, 6> kLevel = {0, 95, 135, 175, 215, 255};
  const int i = index - 16;
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", kLevel[static_cast<size_t>(i / 36)],
                kLevel[static_cast<size_t>(i / 6 % 6)], kLevel[static_cast<size_t>(i % 6)]);
  return buf;
}

void write_all(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n <= 0) return;  // a terminal that went away: the title does not matter then
    off += static_cast<size_t>(n);
  }
}

}  // namespace

LabelColor label_color(std::string_view label) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : label) {
    h ^= c;
    h *= 16777619u;
  }
  const int index = kPalette[h % kPalette.size()];
  return {index, cube_hex(index)};
}

std::string painted(std::string_view text, const LabelColor& color) {
  return "\x1b[38;5;" + std::to_string(color.ansi256) + "m" + std::string(text) + "\x1b[0m";
}

std::string shown(std::string_view text, size_t max) {
  std::string out = printable(text);
  if (max == std::string_view::npos || out.size() <= max) return out;
  out.resize(max);
  while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xc0) == 0x80) out.pop_back();
  if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xc0) out.pop_back();
  return out + "...";
}

std::string age_since(const std::string& iso8601) {
  auto t = parse_iso8601(iso8601);
  if (!t) return "?";
  int64_t s = std::max<int64_t>(0, static_cast<int64_t>(std::time(nullptr)) - *t);
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 172800) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

TerminalTitle::TerminalTitle(int fd, std::string_view title) {
  if (fd < 0 || !::isatty(fd)) return;
  fd_ = fd;
  // CSI 22;0 t pushes icon and window title; OSC 0 sets both.
  write_all(fd_, "\x1b[22;0t\x1b]0;" + printable(title) + "\x07");
}

TerminalTitle::~TerminalTitle() {
  if (fd_ >= 0) write_all(fd_, "\x1b[23;0t");
}

}  // namespace bottle::orchestrator

namespace bottle::orchestrator {

RawKeyboard::RawKeyboard() {
  if (!::isatty(STDIN_FILENO) || !::isatty(STDOUT_FILENO)) return;
  if (::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
  active_ = true;
  resume();
}

RawKeyboard::~RawKeyboard() {
  suspend();
}

void RawKeyboard::suspend() {
  if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
}

void RawKeyboard::resume() {
  if (!active_) return;
  termios t = saved_;
  t.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
  t.c_cc[VMIN] = 0;
  t.c_cc[VTIME] = 0;
  ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

std::string RawKeyboard::read_keys(int ms) {
  if (!active_) {
    ::poll(nullptr, 0, ms);
    return "";
  }
  pollfd p{STDIN_FILENO, POLLIN, 0};
  if (::poll(&p, 1, ms) <= 0) return "";
  char buf[64];
  ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
  if (n <= 0) return "";
  std::string_view in(buf, static_cast<size_t>(n));
  std::string keys;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\x1b') {
      keys += in[i];
      continue;
    }
    if (i + 1 >= in.size() || (in[i + 1] != '[' && in[i + 1] != 'O')) {
      keys += '\x1b';
      continue;
    }
    // CSI or SS3: parameters, then a final byte in 0x40..0x7e.
    size_t end = i + 2;
    while (end < in.size() && !(in[end] >= 0x40 && in[end] <= 0x7e)) ++end;
    if (end < in.size() && end == i + 2 && in[end] == 'A') keys += 'k';
    if (end < in.size() && end == i + 2 && in[end] == 'B') keys += 'j';
    i = end;
  }
  return keys;
}

std::string RawKeyboard::prompt(std::ostream& out, const std::string& question) {
  suspend();
  out << question << std::flush;
  std::string line;
  std::getline(std::cin, line);
  resume();
  return line;
}

namespace {
std::atomic<bool> g_live_view_ended{false};
void on_stop_signal(int) {
  g_live_view_ended = true;
}
}  // namespace

void watch_stop_signals() {
  g_live_view_ended = false;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

bool live_view_ended() {
  return g_live_view_ended;
}

void end_live_view() {
  g_live_view_ended = true;
}

TerminalSize terminal_size(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0 || ws.ws_col == 0) return {};
  return {ws.ws_row, ws.ws_col};
}

namespace {

bool display_osc(std::string_view number) {
  static constexpr std::string_view kDisplay[] = {
      "0",   "1",   "2",   "4",   "7",   "8",   "9",   "10",  "11",  "12",  "13",
      "14",  "15",  "16",  "17",  "18",  "19",  "99",  "104", "110", "111", "112",
      "113", "114", "115", "116", "117", "118", "119", "133", "633", "777"};
  for (auto n : kDisplay) {
    if (n == number) return true;
  }
  return false;
}

}  // namespace

bool operator_terminal_utf8() {
  for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    const char* value = std::getenv(name);
    if (!value || !*value) continue;
    const std::string v = ascii_lower(value);
    return v.find("utf-8") != std::string::npos || v.find("utf8") != std::string::npos;
  }
  return true;
}

namespace {
// C1 controls as UTF-8 code points (U+0080..U+009F are "\xc2\x80".."\xc2\x9f") or raw
// bytes, which some terminals obey like their ESC forms.
constexpr char C1 = '\xc2', C1_DCS = '\x90', C1_SOS = '\x98', C1_ST = '\x9c', C1_OSC = '\x9d',
               C1_PM = '\x9e', C1_APC = '\x9f';
}  // namespace

void TerminalOutputFilter::raw_c1(unsigned char u, std::string& out) {
  const char c = static_cast<char>(u);
  switch (state_) {
    case State::osc_pass:  // the terminal ends the OSC here; the byte is then read afresh
      out += "\x1b\\";
      state_ = State::text;
      if (c != C1_ST) raw_c1(u, out);
      return;
    case State::drop:
    case State::drop_escape:
    case State::drop_c1:
      state_ = c == C1_ST ? State::text : State::drop;  // else part of what is dropped
      return;
    default:  // text: never passed; OSC, DCS, SOS, PM and APC are read as sequences
      (void)open_string(c);
      return;
  }
}

bool TerminalOutputFilter::open_string(char c1) {
  if (c1 == C1_OSC) {
    state_ = State::osc_number;
    held_ = "\x1b]";
    return true;
  }
  if (c1 == C1_DCS || c1 == C1_SOS || c1 == C1_PM || c1 == C1_APC) {
    state_ = State::drop;
    drop_osc_ = false;
    return true;
  }
  return false;
}

std::string TerminalOutputFilter::filter(std::string_view chunk) {
  constexpr char ESC = '\x1b', BEL = '\x07', CAN = '\x18', SUB = '\x1a';
  auto ends = [&](char c) { return c == BEL || c == CAN || c == SUB; };
  std::string out;
  out.reserve(chunk.size());
  for (size_t i = 0; i < chunk.size(); ++i) {
    const char c = chunk[i];
    const auto u = static_cast<unsigned char>(c);
    // UTF-8 is followed where text passes: a continuation byte the character expects is
    // part of it; any other byte 0x80-0x9f is a raw C1 control (in 8-bit mode, all are).
    if (state_ == State::text || state_ == State::osc_pass || state_ == State::drop ||
        state_ == State::drop_escape || state_ == State::drop_c1) {
      if (utf8_ && utf8_left_ > 0 && (u & 0xc0) == 0x80) {
        --utf8_left_;
        if (state_ == State::text || state_ == State::osc_pass) out.push_back(c);
        continue;
      }
      utf8_left_ = 0;
      if (u >= 0x80 && u <= 0x9f) {
        raw_c1(u, out);
        continue;
      }
      if (utf8_ && u >= 0xc3 && u <= 0xf4 && state_ != State::drop_escape)
        utf8_left_ = u < 0xe0 ? 1 : u < 0xf0 ? 2 : 3;
    }
    switch (state_) {
      case State::text:
        if (c == ESC) {
          state_ = State::escape;
        } else if (c == C1 && utf8_) {
          state_ = State::c1;
        } else {
          out.push_back(c);
        }
        break;
      case State::escape:
      case State::escape_intermediate: {
        // The ESC (and any intermediates) is held until its sequence is known, and
        // reaches the terminal only with it: what follows an ESC is read as the terminal
        // reads it (VT500 parser), so no byte the filter took for text starts a sequence.
        if (c == ESC) {
          held_.clear();  // a new ESC restarts the sequence
          state_ = State::escape;
        } else if (c == CAN || c == SUB) {
          held_.clear();
          out.push_back(c);
          state_ = State::text;
        } else if (u < 0x20 || u == 0x7f) {
          out.push_back(c);  // executed at once; the sequence goes on
        } else if (u < 0x30) {
          if (state_ == State::escape) held_ = ESC;
          held_.push_back(c);
          state_ = held_.size() < 8 ? State::escape_intermediate : State::drop;
          if (state_ == State::drop) drop_osc_ = false, held_.clear();
        } else if (u >= 0x80) {
          held_.clear();  // not a sequence; the byte is read afresh
          state_ = State::text;
          --i;
        } else if (state_ == State::escape_intermediate) {
          out += held_;
          out.push_back(c);
          held_.clear();
          state_ = State::text;
        } else if (!open_string(static_cast<char>(u + 0x40))) {
          // (ESC ] / P / X / ^ / _, the 7-bit forms of OSC, DCS, SOS, PM and APC, opened one)
          out.push_back(ESC);
          out.push_back(c);
          state_ = State::text;
        }
        break;
      }
      case State::c1:
        if (open_string(c)) break;
        if ((u & 0xc0) == 0x80) {
          out.push_back(C1);  // another C1 control or a Latin-1 character, whole
          out.push_back(c);
          state_ = State::text;
        } else {
          state_ = State::text;  // a stray lead byte is dropped, never left to pair with
          --i;                   // what the filter emits next; c is read afresh
        }
        break;
      case State::osc_number:
        if (c >= '0' && c <= '9' && held_.size() < 8) {
          held_.push_back(c);
        } else if ((c == ';' || c == BEL || c == ESC) && display_osc(held_.substr(2))) {
          out += held_;
          held_.clear();
          state_ = State::osc_pass;
          --i;
        } else {
          held_.clear();
          state_ = ends(c) ? State::text : State::drop;
          drop_osc_ = true;
          if (c == ESC || c == C1 || (u >= 0x80 && u <= 0x9f)) --i;
        }
        break;
      case State::osc_pass:
        if (c == ESC || (c == C1 && utf8_)) {
          state_ = c == ESC ? State::osc_pass_escape : State::osc_pass_c1;
        } else {
          out.push_back(c);
          if (ends(c)) state_ = State::text;
        }
        break;
      case State::osc_pass_escape:
      case State::osc_pass_c1:
        if (c == (state_ == State::osc_pass_escape ? '\\' : C1_ST)) {
          out += "\x1b\\";
          state_ = State::text;
        } else if (state_ == State::osc_pass_c1 && static_cast<unsigned char>(c) >= 0xa0) {
          out.push_back(C1);  // an ordinary character (U+00A0..U+00BF) in the OSC's text
          out.push_back(c);
          state_ = State::osc_pass;
        } else {
          // Anything else ends the OSC (xterm) and starts a new sequence with the lead
          // byte already read.
          out += "\x1b\\";
          state_ = state_ == State::osc_pass_escape ? State::escape : State::c1;
          --i;
        }
        break;
      case State::drop:
        if (c == ESC) {
          state_ = State::drop_escape;
        } else if (c == C1 && utf8_) {
          state_ = State::drop_c1;
        } else if (c == CAN || c == SUB || (c == BEL && drop_osc_)) {
          state_ = State::text;
        }
        break;
      case State::drop_escape:
        // ST ends a dropped sequence; another ESC inside it (tmux doubles them) does not.
        state_ = c == '\\' ? State::text : State::drop;
        break;
      case State::drop_c1:
        state_ = c == C1_ST ? State::text : State::drop;
        if (state_ == State::drop) --i;
        break;
    }
  }
  return out;
}

}  // namespace bottle::orchestrator
