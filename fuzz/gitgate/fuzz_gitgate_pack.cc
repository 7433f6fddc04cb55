// Fuzzes the in-process pack reader (gitgate/pack_reader.h), which reads what the agent
// pushed: the input is a pack's object stream plus where its objects start, wrapped here
// in a valid pack header, trailer and version-2 index (so the fuzzer spends its time in
// object headers, zlib streams, delta chains and delta instructions, not in checksums).
// Input: byte 0 = n (objects, at most 32), then n big-endian 16-bit offsets into the
// stream, then the stream. Object i's id is 20 bytes of value i, so a ref-delta can name
// a base as "i" x 20. The raw input is also parsed as an index and a pack, and run as a
// delta against a fixed base.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gitgate/pack_reader.h"

using namespace bottle::gitgate;

namespace {

void put32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>(v >> shift));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)Pack::parse(input.substr(0, size / 2), input.substr(size / 2), 20);
  (void)apply_delta("0123456789abcdef", input, 1 << 16);
  if (size < 1) return 0;
  const size_t n = static_cast<unsigned char>(input[0]) % 33;
  if (size < 1 + 2 * n) return 0;
  std::vector<uint32_t> offsets;
  for (size_t i = 0; i < n; ++i) {
    offsets.push_back(12 +
                      (static_cast<uint32_t>(static_cast<unsigned char>(input[1 + 2 * i])) << 8 |
                       static_cast<unsigned char>(input[2 + 2 * i])));
  }
  std::string pack = "PACK";
  put32(pack, 2);
  put32(pack, static_cast<uint32_t>(n));
  pack.append(input.substr(1 + 2 * n));
  const std::string trailer(20, '\x7e');
  pack += trailer;
  std::string idx = "\377tOc";
  put32(idx, 2);
  for (size_t b = 0; b < 256; ++b) put32(idx, static_cast<uint32_t>(b < n ? b + 1 : n));
  for (size_t i = 0; i < n; ++i) idx.append(20, static_cast<char>(i));
  for (size_t i = 0; i < n; ++i) put32(idx, 0);  // crc32s: not read
  for (uint32_t off : offsets) put32(idx, off);
  idx += trailer;
  idx.append(20, '\0');
  auto parsed = Pack::parse(idx, pack, 20);
  if (!parsed) return 0;
  PackReader reader(*parsed, 1 << 20, 1 << 16);
  for (size_t i = 0; i < n; ++i) {
    auto offset = parsed->find(std::string(20, static_cast<char>(i)));
    if (!offset) continue;
    (void)parsed->entry(*offset);
    (void)parsed->chain_root(*offset);
    auto object = reader.read(*offset);
    if (object) (void)type_name(object->type);
  }
  return 0;
}
