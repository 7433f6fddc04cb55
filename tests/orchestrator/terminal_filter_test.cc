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

}  // namespace
}  // namespace bottle::orchestrator
