// Objects read straight from a git pack and its version-2 .idx, in process: the push
// scan's fast path (push_scan.cc). A push over receive.unpackLimit stays one pack in the
// quarantine, completed and checked by `git index-pack`; reading it here skips a `git
// cat-file` per core, the pipe between us, and zlib (libdeflate inflates about twice as
// fast). Anything this reader does not handle (loose objects, a base outside the pack, an
// object over the size limit, damage) is an error for that object, and the caller reads
// it with `git cat-file` instead, which then decides.
//
// The agent writes the pack, so every offset, length, varint and delta instruction is
// checked against the buffers; nothing is trusted beyond the buffer bounds (fuzzed:
// fuzz/gitgate/fuzz_gitgate_pack.cc).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"

struct libdeflate_decompressor;

namespace bottle::gitgate {

enum class ObjectType : uint8_t { commit = 1, tree = 2, blob = 3, tag = 4 };
std::string_view type_name(ObjectType type);

// One object's entry in the pack: what it is and where its compressed data starts.
struct PackEntry {
  uint8_t kind = 0;   // 1-4 an object type, 6 ofs-delta, 7 ref-delta
  uint64_t size = 0;  // inflated size (of the delta itself for deltas)
  uint64_t data = 0;  // offset of the zlib stream
  uint64_t base = 0;  // deltas: the base's offset in this pack
};

// A pack and its index, over buffers the caller keeps alive (mapped files, or a fuzzer's
// bytes). `hash_bytes` is 20 (SHA-1) or 32 (SHA-256).
class Pack {
 public:
  static Result<Pack> parse(std::string_view idx, std::string_view pack, size_t hash_bytes);

  // The offset of the object with this raw (binary) id, if the index lists it.
  std::optional<uint64_t> find(std::string_view raw_id) const;
  Result<PackEntry> entry(uint64_t offset) const;
  // The offset of the whole object at the bottom of a delta chain (families share it).
  Result<uint64_t> chain_root(uint64_t offset) const;
  std::string_view data() const { return pack_; }
  uint64_t end() const { return pack_.size() - hash_bytes_; }  // before the trailer

 private:
  Pack(std::string_view idx, std::string_view pack, size_t hash_bytes, uint32_t count)
      : idx_(idx), pack_(pack), hash_bytes_(hash_bytes), count_(count) {}
  std::optional<uint64_t> offset_at(uint32_t i) const;

  std::string_view idx_, pack_;
  size_t hash_bytes_;
  uint32_t count_;
};

// An object's full content; shared with the reader's base cache.
struct PackObject {
  ObjectType type = ObjectType::blob;
  std::shared_ptr<const char[]> bytes;
  size_t size = 0;
  std::string_view view() const { return {bytes.get(), size}; }
};

// Reads whole objects from one pack, resolving ofs/ref deltas, with a cache of recent
// bases. One per thread: the inflater and cache are not shared.
class PackReader {
 public:
  // Objects (and every delta base on the way) larger than `max_object` are refused.
  PackReader(const Pack& pack, uint64_t max_object, size_t cache_bytes = 32 << 20);
  ~PackReader();
  PackReader(const PackReader&) = delete;
  PackReader& operator=(const PackReader&) = delete;

  Result<PackObject> read(uint64_t offset);

 private:
  Result<PackObject> inflate(const PackEntry& e);
  void remember(uint64_t offset, const PackObject& object);

  const Pack& pack_;
  uint64_t max_object_;
  size_t cache_limit_, cache_used_ = 0;
  libdeflate_decompressor* inflater_;
  std::unordered_map<uint64_t, PackObject> cache_;
  std::deque<uint64_t> cache_order_;  // insertion order, for eviction
};

// Applies a git delta to `base`: the result (type left to the caller), at most
// `max_size` bytes.
Result<PackObject> apply_delta(std::string_view base, std::string_view delta, uint64_t max_size);

// A file mapped read-only for as long as this lives.
class MappedFile {
 public:
  static Result<MappedFile> open(const std::string& path);
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&&) = delete;
  MappedFile(const MappedFile&) = delete;
  ~MappedFile();
  std::string_view bytes() const { return {static_cast<const char*>(addr_), size_}; }

 private:
  MappedFile(void* addr, size_t size) : addr_(addr), size_(size) {}
  void* addr_;
  size_t size_;
};

}  // namespace bottle::gitgate
