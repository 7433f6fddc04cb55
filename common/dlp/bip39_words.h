// The BIP-39 English mnemonic word list, for the seed-phrase detector.
#pragma once

#include <array>
#include <string_view>

namespace bottle::dlp {

const std::array<std::string_view, 2048>& bip39_words();
// Index of `word` in the list (0..2047), or -1 when it is not a BIP-39 word.
int bip39_index(std::string_view word);

}  // namespace bottle::dlp
