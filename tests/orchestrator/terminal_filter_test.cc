// TerminalOutputFilter: what of an agent's output may reach the operator's terminal.
#include <gtest/gtest.h>

#include <string>

#include "orchestrator/terminal.h"

namespace bottle::orchestrator {
namespace {

std::string filtered(std::string_view text) {
  return TerminalOutputFilter().filter(text);
}

// The same text fed in pieces of every size gives the same output.
std::string filtered_in_pieces(std::string_view text, size_t piece) {
  TerminalOutputFilter f;
  std::string out;
  for (size_t i = 0; i < text.size(); i += piece) out += f.filter(text.substr(i, piece));
  return out;
}

TEST(TerminalOutputFilter, DrawingPassesUnchanged) {
  const std::string drawing =
      "plain text\r\n\x1b[1;31mred\x1b[0m \x1b[?1049h\x1b[2J\x1b[10;5H"  // SGR, alt screen
      "\x1b]0;my title\x07\x1b]2;other\x1b\\"                            // titles, BEL and ST
      "\x1b]8;;https://example.com/\x1b\\link\x1b]8;;\x1b\\"             // a hyperlink
      "\x1b]11;?\x07\x1b]133;A\x07\x1b]9;done\x07"                       // colour query, marks
      "caf\xc3\xa9 \xc2\xa9 \x1b(B\x1b"                                  // UTF-8, charset, lone ESC
      "7\x1b"
      "8";
  EXPECT_EQ(filtered(drawing), drawing);
  for (size_t piece = 1; piece < 8; ++piece) EXPECT_EQ(filtered_in_pieces(drawing, piece), drawing);
}

TEST(TerminalOutputFilter, HostActingSequencesAreDroppedWhole) {
  const std::string attacks[] = {
      "\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07",          // set the clipboard (BEL)
      "\x1b]52;c;?\x1b\\",                           // read the clipboard (ST)
      "\x1b]1337;File=name=eA==;inline=0:aGk=\x07",  // iTerm2 file download
      "\x1b]5113;ac=send;id=1\x1b\\",                // kitty file transfer
      "\x1b]5522;type=read\x07",                     // kitty clipboard
      "\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\",      // tmux passthrough of OSC 52
      "\x1bP@kitty-cmd{\"cmd\":\"launch\"}\x1b\\",   // kitty remote control
      "\x1b_Gf=100,t=f;L2V0Yy9zaGFkb3c=\x1b\\",      // kitty graphics from a host file
      "\x1b^private\x1b\\",                          // PM
      "\x1bXsos\x1b\\",                              // SOS
      "\xc2\x9d"
      "52;c;aGk=\x07",                                // OSC as the C1 code point
      "\xc2\x90tmux;\x1b\x1b]52;c;aGk=\x07\xc2\x9c",  // DCS as the C1 code point, C1 ST
      "\x1b]52;c;aGk=\x18",                           // cancelled with CAN
      "\x1b]123456789;x\x07",                         // an over-long number
  };
  for (const std::string& attack : attacks) {
    const std::string text = "before " + attack + "after";
    EXPECT_EQ(filtered(text), "before after") << testing::PrintToString(attack);
    for (size_t piece = 1; piece < 6; ++piece)
      EXPECT_EQ(filtered_in_pieces(text, piece), "before after")
          << testing::PrintToString(attack) << " in pieces of " << piece;
  }
}

TEST(TerminalOutputFilter, AnEscInsideAPassedOscEndsItBeforeTheNextSequenceIsRead) {
  // "ESC ] 0 ; t ESC ] 52 ; ..." : xterm ends the title at the second ESC; so does the
  // filter, and the clipboard sequence after it is still dropped.
  EXPECT_EQ(filtered("\x1b]0;t\x1b]52;c;aGk=\x07"
                     "x"),
            "\x1b]0;t\x1b\\x");
  EXPECT_EQ(filtered("\x1b]0;t\xc2\x9d"
                     "52;c;aGk=\x07"
                     "x"),
            "\x1b]0;t\x1b\\x");
}

// An ESC reaches the terminal only together with what completes it, so bytes the filter
// reads as text never turn into a sequence on the terminal (found by fuzz_terminal_filter).
TEST(TerminalOutputFilter, AnEscIsNeverLeftForTheNextBytesToComplete) {
  // ESC ESC: the first is cancelled; a dropped OSC then leaves no ESC before "P...".
  EXPECT_EQ(filtered("\x1b\x1b]999;x\x07P@kitty-cmd{}"), "P@kitty-cmd{}");
  // A control inside an escape sequence runs at once and the sequence goes on (VT500).
  EXPECT_EQ(filtered("\x1b\nP@kitty-cmd{}\x1b\\"), "\n");
  EXPECT_EQ(filtered("\x1b\r]52;c;aGk=\x07x"), "\rx");
  // ESC followed by a C1 code point: the C1 control is what counts.
  EXPECT_EQ(filtered("\x1b\xc2\x9d"
                     "52;c;aGk=\x07x"),
            "x");
  // Nor is a UTF-8 lead byte left to pair with a later 0x9d into a C1 OSC (and the raw
  // 0x9d that follows is itself an OSC).
  EXPECT_EQ(filtered("\xc2\xc2\x9d" "5\x07\x9d" "52;c;aGk=\x07x"), "x");
  // Intermediates are held with their ESC.
  EXPECT_EQ(filtered("\x1b(B\x1b#8"), "\x1b(B\x1b#8");
  EXPECT_EQ(filtered_in_pieces("\x1b(\x1b]52;c;aGk=\x07x", 1), "x");
}

// A terminal not in UTF-8 mode obeys raw 8-bit C1 bytes: 0x9d is OSC, 0x90 DCS, 0x9c ST.
// Outside a UTF-8 character they are read as their ESC forms and never passed.
TEST(TerminalOutputFilter, RawEightBitC1ControlsAreReadAsTheirEscForms) {
  const std::string attacks[] = {
      "\x9d" "52;c;Y3VybCBldmlsIHwgc2g=\x07",         // OSC 52 (BEL)
      "\x9d" "52;c;?\x9c",                            // read the clipboard, raw ST
      "\x90tmux;\x1b\x1b]52;c;aGk=\x07\x9c",          // DCS passthrough
      "\x9f" "Gf=100,t=f;L2V0Yy9zaGFkb3c=\x9c",       // APC (kitty graphics)
      "\x9e" "pm\x9c\x98sos\x9c",                     // PM, SOS
      "\x9b\x85\x8d",                                // other C1 controls: dropped alone
  };
  for (bool utf8 : {true, false}) {
    for (const std::string& attack : attacks) {
      const std::string text = "before " + attack + "after";
      EXPECT_EQ(TerminalOutputFilter(utf8).filter(text), "before after")
          << testing::PrintToString(attack) << " utf8=" << utf8;
      for (size_t piece = 1; piece < 6; ++piece) {
        TerminalOutputFilter f(utf8);
        std::string out;
        for (size_t i = 0; i < text.size(); i += piece) out += f.filter(text.substr(i, piece));
        EXPECT_EQ(out, "before after") << testing::PrintToString(attack) << " in pieces";
      }
    }
  }
  // A raw ST or other C1 byte ends a passed OSC, as an 8-bit terminal ends it there.
  EXPECT_EQ(filtered("\x1b]0;t\x9d" "52;c;aGk=\x07x"), "\x1b]0;t\x1b\\x");
  EXPECT_EQ(filtered("\x1b]0;t\x9cx"), "\x1b]0;t\x1b\\x");
}

TEST(TerminalOutputFilter, UtfEightCharactersWhoseBytesLookLikeC1Pass) {
  // Box drawing (U+2500 "\xe2\x94\x80"), the euro sign, U+275D, a 4-byte emoji, and the
  // same in a title: their continuation bytes 0x80-0x9f are part of the character.
  const std::string text =
      "\xe2\x94\x80\xe2\x94\x82 \xe2\x82\xac \xe2\x9d\x9d \xf0\x9f\x98\x80"
      "\x1b]0;\xe2\x94\x80\xe2\x9d\x9c\x07";
  EXPECT_EQ(filtered(text), text);
  for (size_t piece = 1; piece < 5; ++piece) EXPECT_EQ(filtered_in_pieces(text, piece), text);
  // A character cut short leaves no credit for a later stray byte.
  EXPECT_EQ(filtered("\xe2x\x9d" "52;c;aGk=\x07y"), "\xe2xy");
}

TEST(TerminalOutputFilter, ANonUtfEightTerminalGetsNoC1ByteAtAll) {
  // There every byte 0x80-0x9f is a control, even inside what would be UTF-8: box
  // drawing loses its C1 bytes, and the 0x9d of U+275D starts an OSC as it would there.
  TerminalOutputFilter f(false);
  EXPECT_EQ(f.filter("\xe2\x94\x80 caf\xe9 \xc2\x9d" "52;c;aGk=\x07."), "\xe2 caf\xe9 \xc2.");
  EXPECT_EQ(TerminalOutputFilter(false).filter("\xe2\x9d\x9d" "52;c;aGk=\x07."), "\xe2.");
}

TEST(TerminalOutputFilter, TheLocaleSaysWhetherTheTerminalIsUtfEight) {
  struct Case {
    const char* lc_all;
    const char* lc_ctype;
    const char* lang;
    bool utf8;
  };
  const Case cases[] = {
      {nullptr, nullptr, nullptr, true},          {nullptr, nullptr, "en_US.UTF-8", true},
      {nullptr, nullptr, "C.utf8", true},         {nullptr, nullptr, "C", false},
      {nullptr, "POSIX", "en_US.UTF-8", false},   {"de_DE.ISO-8859-1", nullptr, "C.UTF-8", false},
      {"", "en_GB.UTF-8", "C", true},
  };
  auto set = [](const char* name, const char* value) {
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  };
  for (const Case& c : cases) {
    set("LC_ALL", c.lc_all);
    set("LC_CTYPE", c.lc_ctype);
    set("LANG", c.lang);
    EXPECT_EQ(operator_terminal_utf8(), c.utf8)
        << (c.lc_all ? c.lc_all : "-") << " " << (c.lc_ctype ? c.lc_ctype : "-") << " "
        << (c.lang ? c.lang : "-");
  }
}

}  // namespace
}  // namespace bottle::orchestrator
