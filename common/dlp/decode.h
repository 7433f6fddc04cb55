// Text decoders behind the scanner's normalized views. Each is total (any input is
// accepted), never allocates more than the input size, and reports whether it changed
// anything so the scanner can skip identical views.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bottle::dlp {

// One round of %XX decoding ('+' is left alone: it is also a base64 character).
// Returns false when the input has no valid %XX escape.
bool percent_decode(std::string_view in, std::string& out);

// Base64 in either alphabet (+/ or -_), padding optional. Decodes the longest valid
// prefix of whole characters; returns false when fewer than 4 characters decode.
bool base64_decode(std::string_view in, std::string& out);

// Hex pairs in either case; returns false on odd length or a non-hex character.
bool hex_decode(std::string_view in, std::string& out);

// Strips zero-width, bidi-control and soft-hyphen characters and folds common
// confusables (fullwidth ASCII, Cyrillic/Greek look-alikes, mathematical alphanumerics)
// to ASCII. Invalid UTF-8 passes through byte by byte. Returns false when nothing changed.
bool normalize_unicode(std::string_view in, std::string& out);

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
