// Token-shaped runs in text an agent wrote: found (egress's block evidence) and masked
// (the vm backend's console log), one definition for both.
#pragma once

#include <string>
#include <string_view>

namespace bottle::log {

// True when `text` holds a run of 16 or more ASCII letters and digits that mixes both: the
// shape of an encoded value (hex, base32, base64, a token), not of a word or a name.
bool has_encoded_run(std::string_view text);

// `text` with every such run replaced by "********", the rest unchanged.
std::string mask_encoded_runs(std::string_view text);

}  // namespace bottle::log
