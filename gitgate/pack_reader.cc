#include "gitgate/pack_reader.h"

#include <fcntl.h>
#include <libdeflate.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include "common/unique_fd.h"

namespace bottle::gitgate {
namespace {

constexpr size_t kIdxHeader = 8 + 256 * 4;  // magic, version, fan-out
// git writes chains of at most 4095 (pack.depth caps at 4095); a deeper or cyclic one
// (ref-deltas can point at each other) is refused.
constexpr int kMaxChain = 10000;

uint32_t be32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}

uint64_t be64(const char* p) {
  return (uint64_t{be32(p)} << 32) | be32(p + 4);
}

// A delta's size varint: 7 bits a byte, least significant first.
std::optional<uint64_t> delta_varint(std::string_view d, size_t& p) {
  uint64_t v = 0;
  for (unsigned shift = 0; p < d.size() && shift < 64; shift += 7) {
    const auto c = static_cast<unsigned char>(d[p++]);
    v |= uint64_t{c & 0x7fu} << shift;
    if (!(c & 0x80)) return v;
  }
  return std::nullopt;
}

std::shared_ptr<char[]> buffer(size_t n) {
  // Not zero-filled: every byte is written before it is read.
  return std::shared_ptr<char[]>(new char[n == 0 ? 1 : n]);
}

}  // namespace

std::string_view type_name(ObjectType type) {
  switch (type) {
    case ObjectType::commit:
      return "commit";
    case ObjectType::tree:
      return "tree";
    case ObjectType::blob:
      return "blob";
    case ObjectType::tag:
      return "tag";
  }
  return "?";
}

Result<Pack> Pack::parse(std::string_view idx, std::string_view pack, size_t hash_bytes) {
  if (hash_bytes != 20 && hash_bytes != 32) return Error{"pack: unknown hash size"};
  if (idx.size() < kIdxHeader || idx.substr(0, 4) != "\377tOc" || be32(idx.data() + 4) != 2)
    return Error{"pack index: not a version 2 index"};
  uint32_t prev = 0;
  for (size_t i = 0; i < 256; ++i) {
    const uint32_t n = be32(idx.data() + 8 + 4 * i);
    if (n < prev) return Error{"pack index: fan-out not sorted"};
    prev = n;
  }
  const uint64_t count = prev;
  // ids, crcs, 4-byte offsets, then large offsets, the pack's hash and the index's hash.
  const uint64_t fixed = kIdxHeader + count * (hash_bytes + 8) + 2 * hash_bytes;
  if (idx.size() < fixed || (idx.size() - fixed) % 8 != 0)
    return Error{"pack index: size does not match its object count"};
  if (pack.size() < 12 + hash_bytes || pack.substr(0, 4) != "PACK")
    return Error{"pack: no pack header"};
  const uint32_t version = be32(pack.data() + 4);
  if (version != 2 && version != 3) return Error{"pack: unknown version"};
  if (be32(pack.data() + 8) != count) return Error{"pack: object count differs from its index"};
  if (idx.substr(idx.size() - 2 * hash_bytes, hash_bytes) != pack.substr(pack.size() - hash_bytes))
    return Error{"pack: index belongs to another pack"};
  return Pack(idx, pack, hash_bytes, static_cast<uint32_t>(count));
}

std::optional<uint64_t> Pack::offset_at(uint32_t i) const {
  const size_t offsets = kIdxHeader + size_t{count_} * (hash_bytes_ + 4);
  uint64_t off = be32(idx_.data() + offsets + 4 * size_t{i});
  if (off & 0x80000000u) {
    const uint64_t large = offsets + 4 * uint64_t{count_} + 8 * (off & 0x7fffffffu);
    if (large + 8 > idx_.size() - 2 * hash_bytes_) return std::nullopt;
    off = be64(idx_.data() + large);
  }
  if (off < 12 || off >= end()) return std::nullopt;
  return off;
}

std::optional<uint64_t> Pack::find(std::string_view raw_id) const {
  if (raw_id.size() != hash_bytes_) return std::nullopt;
  const auto first = static_cast<unsigned char>(raw_id[0]);
  uint32_t lo = first == 0 ? 0 : be32(idx_.data() + 8 + 4 * (first - 1));
  uint32_t hi = be32(idx_.data() + 8 + 4 * first);
  const char* ids = idx_.data() + kIdxHeader;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    const int c = std::memcmp(ids + size_t{mid} * hash_bytes_, raw_id.data(), hash_bytes_);
    if (c == 0) return offset_at(mid);
    if (c < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return std::nullopt;
}

Result<PackEntry> Pack::entry(uint64_t offset) const {
  const uint64_t limit = end();
  if (offset < 12 || offset >= limit) return Error{"pack: object offset out of range"};
  uint64_t p = offset;
  auto c = static_cast<unsigned char>(pack_[p++]);
  PackEntry e;
  e.kind = (c >> 4) & 7;
  e.size = c & 15;
  for (unsigned shift = 4; c & 0x80; shift += 7) {
    if (p >= limit || shift > 57) return Error{"pack: bad object header"};
    c = static_cast<unsigned char>(pack_[p++]);
    e.size |= uint64_t{c & 0x7fu} << shift;
  }
  if (e.kind == 6) {  // base at a distance before this object
    if (p >= limit) return Error{"pack: bad delta base offset"};
    c = static_cast<unsigned char>(pack_[p++]);
    uint64_t back = c & 0x7f;
    while (c & 0x80) {
      if (p >= limit || back >= (uint64_t{1} << 56)) return Error{"pack: bad delta base offset"};
      c = static_cast<unsigned char>(pack_[p++]);
      back = ((back + 1) << 7) | (c & 0x7f);
    }
    if (back == 0 || back > offset - 12) return Error{"pack: delta base offset out of range"};
    e.base = offset - back;
  } else if (e.kind == 7) {  // base named by id
    if (limit - p < hash_bytes_) return Error{"pack: truncated delta base id"};
    auto base = find(pack_.substr(p, hash_bytes_));
    if (!base) return Error{"pack: delta base not in this pack"};
    e.base = *base;
    p += hash_bytes_;
  } else if (e.kind < 1 || e.kind > 4) {
    return Error{"pack: unknown object type"};
  }
  if (p >= limit) return Error{"pack: object data missing"};
  e.data = p;
  return e;
}

Result<uint64_t> Pack::chain_root(uint64_t offset) const {
  for (int depth = 0; depth < kMaxChain; ++depth) {
    auto e = entry(offset);
    if (!e) return e.failure();
    if (e->kind < 6) return offset;
    offset = e->base;
  }
  return Error{"pack: delta chain too deep"};
}

Result<PackObject> apply_delta(std::string_view base, std::string_view delta, uint64_t max_size) {
  size_t p = 0;
  const auto from = delta_varint(delta, p);
  const auto to = delta_varint(delta, p);
  if (!from || !to) return Error{"delta: bad header"};
  if (*from != base.size()) return Error{"delta: base size differs"};
  if (*to > max_size) return Error{"delta: result over the size limit", ErrorCode::too_large};
  PackObject out;
  auto bytes = buffer(static_cast<size_t>(*to));
  const size_t want = static_cast<size_t>(*to);
  size_t o = 0;
  while (p < delta.size()) {
    const auto op = static_cast<unsigned char>(delta[p++]);
    if (op & 0x80) {  // copy from the base: offset and length bytes as the op's bits say
      uint64_t off = 0, len = 0;
      for (unsigned i = 0; i < 4; ++i) {
        if (!(op & (1u << i))) continue;
        if (p >= delta.size()) return Error{"delta: truncated copy"};
        off |= uint64_t{static_cast<unsigned char>(delta[p++])} << (8 * i);
      }
      for (unsigned i = 0; i < 3; ++i) {
        if (!(op & (0x10u << i))) continue;
        if (p >= delta.size()) return Error{"delta: truncated copy"};
        len |= uint64_t{static_cast<unsigned char>(delta[p++])} << (8 * i);
      }
      if (len == 0) len = 0x10000;
      if (off + len > base.size() || len > want - o) return Error{"delta: copy out of range"};
      std::memcpy(bytes.get() + o, base.data() + off, len);
      o += len;
    } else if (op != 0) {  // insert the next `op` bytes
      if (op > delta.size() - p || op > want - o) return Error{"delta: insert out of range"};
      std::memcpy(bytes.get() + o, delta.data() + p, op);
      p += op;
      o += op;
    } else {
      return Error{"delta: reserved opcode 0"};
    }
  }
  if (o != want) return Error{"delta: result shorter than declared"};
  out.bytes = std::move(bytes);
  out.size = want;
  return out;
}

PackReader::PackReader(const Pack& pack, uint64_t max_object, size_t cache_bytes)
    : pack_(pack),
      max_object_(max_object),
      cache_limit_(cache_bytes),
      inflater_(libdeflate_alloc_decompressor()) {
  if (!inflater_) throw std::bad_alloc();
}

PackReader::~PackReader() {
  libdeflate_free_decompressor(inflater_);
}

Result<PackObject> PackReader::inflate(const PackEntry& e) {
  if (e.size > max_object_) return Error{"pack: object over the size limit", ErrorCode::too_large};
  PackObject out;
  auto bytes = buffer(static_cast<size_t>(e.size));
  size_t got = 0;
  const std::string_view in = pack_.data().substr(e.data, pack_.end() - e.data);
  if (libdeflate_zlib_decompress(inflater_, in.data(), in.size(), bytes.get(),
                                 static_cast<size_t>(e.size), &got) != LIBDEFLATE_SUCCESS ||
      got != e.size) {
    return Error{"pack: corrupt compressed data"};
  }
  out.bytes = std::move(bytes);
  out.size = got;
  return out;
}

void PackReader::remember(uint64_t offset, const PackObject& object) {
  if (object.size > cache_limit_ / 4 || cache_.count(offset)) return;
  while (cache_used_ + object.size > cache_limit_ && !cache_order_.empty()) {
    auto it = cache_.find(cache_order_.front());
    cache_used_ -= it->second.size;
    cache_.erase(it);
    cache_order_.pop_front();
  }
  cache_.emplace(offset, object);
  cache_order_.push_back(offset);
  cache_used_ += object.size;
}

Result<PackObject> PackReader::read(uint64_t offset) {
  // Down the chain to a cached object or a whole one, then the deltas back up.
  std::vector<std::pair<uint64_t, PackEntry>> deltas;
  PackObject base;
  for (uint64_t at = offset;;) {
    if (auto hit = cache_.find(at); hit != cache_.end()) {
      base = hit->second;
      break;
    }
    if (deltas.size() >= kMaxChain) return Error{"pack: delta chain too deep"};
    auto e = pack_.entry(at);
    if (!e) return e.failure();
    if (e->kind < 6) {
      auto whole = inflate(*e);
      if (!whole) return whole.failure();
      base = std::move(*whole);
      base.type = static_cast<ObjectType>(e->kind);
      remember(at, base);
      break;
    }
    deltas.emplace_back(at, *e);
    at = e->base;
  }
  for (auto it = deltas.rbegin(); it != deltas.rend(); ++it) {
    auto delta = inflate(it->second);
    if (!delta) return delta.failure();
    auto next = apply_delta(base.view(), delta->view(), max_object_);
    if (!next) return next.failure();
    next->type = base.type;
    base = std::move(*next);
    remember(it->first, base);
  }
  return base;
}

Result<MappedFile> MappedFile::open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error{path + ": " + std::strerror(errno)};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
    return Error{path + ": not a readable file"};
  const auto size = static_cast<size_t>(st.st_size);
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (addr == MAP_FAILED) return Error{path + ": mmap: " + std::strerror(errno)};
  return MappedFile(addr, size);
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : addr_(std::exchange(o.addr_, nullptr)), size_(std::exchange(o.size_, 0)) {}

MappedFile::~MappedFile() {
  if (addr_) ::munmap(addr_, size_);
}

}  // namespace bottle::gitgate
