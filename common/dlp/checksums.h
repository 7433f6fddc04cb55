// Validators that turn a pattern hit into a finding: checksums and randomness tests.
// Each takes the candidate text only (no context) and is a pure function.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/sha256.h"  // bottle::sha256, used by the Base58Check and BIP-39 checks

namespace bottle::dlp {

// Shannon entropy in bits per byte.
double shannon_entropy(std::string_view s);

// GitHub/npm token format: prefix_ + 30 random base62 chars + 6-char base62 CRC32 of those 30.
bool github_token_checksum_ok(std::string_view token);
// Base62 (0-9A-Za-z) of `value`, left-padded with '0' to `width`: builds valid test tokens.
std::string base62_fixed(uint32_t value, size_t width);

// Card number: 13..19 digits (separators ' ' and '-' ignored) passing Luhn.
bool luhn_ok(std::string_view digits_with_separators);
// IBAN: known country length and mod-97 == 1 (spaces ignored).
bool iban_ok(std::string_view iban);

// Bitcoin's base58 alphabet (no 0, O, I, l).
inline constexpr std::string_view kBase58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
// Base58 decode; false on a character outside the alphabet.
bool base58_decode(std::string_view in, std::string& out);
// Base58Check: decodes and verifies the 4-byte double-SHA-256 checksum.
bool base58check_ok(std::string_view in);

// A run of 12/15/18/21/24 BIP-39 words (single spaces) whose checksum bits match.
bool bip39_mnemonic_ok(std::string_view words);

}  // namespace bottle::dlp
