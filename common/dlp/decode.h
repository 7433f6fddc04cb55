// Text decoders behind the scanner's normalized views. Each is total (any input is
// accepted), never allocates more than the input size, and reports whether it changed
// anything so the scanner can skip identical views.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bottle::dlp {

// One round of %XX decoding ('+' is left alone: it is also a base64 character).
// Returns false when the input has no valid %XX escape.
bool percent_decode(std::string_view in, std::string& out);

// Base64 in either alphabet (+/ or -_), padding optional. Decodes the longest valid
// prefix of whole characters; returns false when fewer than 4 characters decode.
bool base64_decode(std::string_view in, std::string& out);

// Hex pairs in either case; returns false on odd length or a non-hex character.
bool hex_decode(std::string_view in, std::string& out);

// Hex written with separators: pairs (or groups of 2-8 digits, as xxd prints them) split
// by one consistent separator (':' ' ' '-' ',' '.', optionally followed by spaces), each
// group optionally prefixed "0x" or "\x": "41:4b:49", "41 4b", "0x41, 0x4b", "\x41\x4b".
// Returns false unless at least 8 bytes decode from one consistent layout.
bool hex_groups_decode(std::string_view in, std::string& out);

// RFC 4648 base32 in either case, padding optional; false when fewer than 8 characters
// decode or a character is outside the alphabet.
bool base32_decode(std::string_view in, std::string& out);

// HTML character references (numeric, and the named ones that write ASCII punctuation)
// and JSON/C string escapes (\uXXXX with surrogate pairs, \xHH, \/ \n \r \t \" \\):
// one round. Broken escapes pass through. Returns false when nothing was unescaped.
bool unescape(std::string_view in, std::string& out);

// Credentials are text: a view with more than one control byte in 32 is binary (a hash,
// an image, a UUID read as base64) and not worth scanning.
bool mostly_text(std::string_view s);
// Not text at all: a control byte other than tab, line breaks, form feed and escape, or
// bytes that are not UTF-8 (a sequence cut at the end is fine). For a payload's first bytes.
bool looks_binary(std::string_view head);

// Text in a wide encoding without a declared charset: a byte-order mark, or zero bytes in
// the places ASCII text in UTF-16/UTF-32 has them (checked on the first 64 bytes).
enum class WideText { none, utf16le, utf16be, utf32le, utf32be };
WideText sniff_wide_text(std::string_view head);
// Converts whole code units of `in` to UTF-8 (a byte-order mark is dropped, invalid units
// become U+FFFD); returns the number of bytes consumed (a trailing partial unit is left).
size_t wide_to_utf8(std::string_view in, WideText encoding, std::string& out);

// Strips zero-width, bidi-control and soft-hyphen characters and folds common
// confusables (fullwidth ASCII, Cyrillic/Greek look-alikes, mathematical alphanumerics)
// to ASCII. Invalid UTF-8 passes through byte by byte. Returns false when nothing changed.
bool normalize_unicode(std::string_view in, std::string& out);

// normalize_unicode for text an agent will read (inbound), across the pieces of a body:
// Unicode tag characters (U+E0020..U+E007E, "ASCII smuggling") become the ASCII they
// spell, wrapped in kHiddenBegin ... kHiddenEnd so the reader knows a human could not see
// it, and the output offset of each dropped zero-width or bidi character is recorded (a
// phrase written with them was written to slip past a filter). Returns false when the
// piece came out unchanged (then `out` is a copy of it).
inline constexpr char kHiddenBegin = '\x0E', kHiddenEnd = '\x0F';
struct ReadingState {
  static constexpr size_t kMaxDropped = 4096;
  bool in_tags = false;
  uint64_t out_offset = 0;        // output bytes produced by earlier pieces
  std::vector<uint64_t> dropped;  // output offsets of dropped invisible characters
};
bool normalize_for_reading(std::string_view in, ReadingState& state, std::string& out);

// What normalize_unicode would return, without building the output.
bool unicode_would_change(std::string_view in);

// Builds the fold lookup tables (tens of milliseconds, once per process) so that no scan
// pays for them; Scanner::build calls it, off the event loop. Safe to call again.
void init_unicode_tables();

// Bit i set: p[i] is the lead byte of a sequence normalize_unicode might drop or fold,
// followed by a continuation byte (or is the last of the 64 bytes). p[0..64) must be
// readable. Cheap enough for every block of a body; fold_at confirms each candidate.
uint64_t fold_candidates(const char* p);

// Whether the UTF-8 sequence at s[i] is one normalize_unicode drops or folds; `cut` when
// it may be but runs past the end of `s`.
enum class FoldAt { no, yes, cut };
FoldAt fold_at(std::string_view s, size_t i);

// Index of the first byte >= 0x80 at or after `from`, or in.size() when the rest is
// ASCII (eight bytes per step: most text is ASCII and needs no normalizing at all).
size_t first_high_byte(std::string_view in, size_t from = 0);

}  // namespace bottle::dlp
