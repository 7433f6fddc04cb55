#include "gitgate/push_scan.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "gitgate/pack_reader.h"
#include "gitgate/subprocess.h"

namespace bottle::gitgate {
namespace {

bool is_hex_id(std::string_view s) {
  return (s.size() == 40 || s.size() == 64) && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// An object size as cat-file prints it: decimal digits, at most 15 of them.
std::optional<uint64_t> object_size(std::string_view text) {
  if (text.empty() || text.size() > 15 || text.find_first_not_of("0123456789") != text.npos)
    return std::nullopt;
  uint64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

// Buffered reads of cat-file's output: header lines and exact-size contents.
class BatchReader {
 public:
  explicit BatchReader(int fd) : fd_(fd) {}

  bool line(std::string& out) {
    while (true) {
      size_t nl = buf_.find('\n', pos_);
      if (nl != std::string::npos) {
        out.assign(buf_, pos_, nl - pos_);
        pos_ = nl + 1;
        return true;
      }
      if (!fill()) return false;
    }
  }

  // Reads `n` bytes; the first `keep` of them are appended to `out`, the rest dropped.
  bool bytes(uint64_t n, size_t keep, std::string& out) {
    while (n > 0) {
      if (pos_ == buf_.size() && !fill()) return false;
      size_t take = static_cast<size_t>(std::min<uint64_t>(n, buf_.size() - pos_));
      if (out.size() < keep) out.append(buf_, pos_, std::min(take, keep - out.size()));
      pos_ += take;
      n -= take;
    }
    return true;
  }

 private:
  bool fill() {
    if (pos_ > 0) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    char chunk[1 << 16];
    while (true) {
      ssize_t r = ::read(fd_, chunk, sizeof chunk);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      buf_.append(chunk, static_cast<size_t>(r));
      return true;
    }
  }

  int fd_;
  std::string buf_;
  size_t pos_ = 0;
};

uint64_t line_of(std::string_view text, uint64_t offset) {
  offset = std::min<uint64_t>(offset, text.size());
  return 1 + static_cast<uint64_t>(std::count(
                 text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

// "dir/name" for every entry of a raw tree object, one per line.
std::string tree_names(std::string_view tree, std::string_view dir, size_t hash_bytes) {
  std::string out;
  size_t p = 0;
  while (p < tree.size()) {
    size_t space = tree.find(' ', p);
    size_t nul = tree.find('\0', space == std::string_view::npos ? p : space);
    if (space == std::string_view::npos || nul == std::string_view::npos) break;
    if (!dir.empty()) out.append(dir).push_back('/');
    out.append(tree.substr(space + 1, nul - space - 1)).push_back('\n');
    p = nul + 1 + hash_bytes;
  }
  return out;
}

// Findings of one share of the objects, each tagged with the position of its object in
// rev-list's order, so that merged shares report in the order a single reader would.
class ScanCollector {
 public:
  ScanCollector(const dlp::Scanner& scanner, PushScan& out,
                std::vector<std::pair<size_t, PushFinding>>& found)
      : scanner_(scanner), out_(out), found_(found) {}

  // A path that is itself secret-bearing is named by what it is, never by its text.
  std::string display_path(const std::string& path) {
    if (path.empty()) return "(no path)";
    return scanner_.scan(path, dlp::Direction::outbound, "path").empty() ? path : "a path name";
  }

  void scan(size_t order, std::string_view text,
            const std::function<std::string(uint64_t offset)>& where) {
    out_.bytes += text.size();
    for (const auto& f : scanner_.scan(text, dlp::Direction::outbound, "push"))
      found_.emplace_back(order, PushFinding{f.detector, where(f.offset), f.blocking});
  }

 private:
  const dlp::Scanner& scanner_;
  PushScan& out_;  // counts only: findings go to found_
  std::vector<std::pair<size_t, PushFinding>>& found_;
};

// One `git cat-file --batch` over some of rev-list's lines (`input`; their positions in
// rev-list's output are `order`), scanning what it reads. Findings and unscanned notes
// carry their objects' positions.
struct Share {
  std::string input;
  std::vector<size_t> order;
  PushScan scan;  // counts
  std::vector<std::pair<size_t, PushFinding>> findings;
  std::vector<std::pair<size_t, std::string>> unscanned;
  std::optional<Error> error;
};

// One object read, by either reader: what it is and where it came from.
struct ObjectInfo {
  size_t order;           // its line in rev-list's output
  std::string_view type;  // "blob", "tree", "commit", "tag"
  std::string_view id;    // hex
  const std::string& path;
  uint64_t size;  // whole size; `content` may hold only the first blob_cap bytes
};

// Scans one object's content: a text blob (path:line findings, the cap), a tree's names,
// a commit's or tag's text.
void scan_object(ScanCollector& collect, Share& share, const ObjectInfo& object,
                 std::string_view content, uint64_t blob_cap, size_t hash_bytes) {
  PushScan& out = share.scan;
  ++out.objects;
  const std::string& path = object.path;
  if (object.type == "blob") {
    content = content.substr(0, static_cast<size_t>(std::min<uint64_t>(object.size, blob_cap)));
    if (looks_binary(content)) {
      ++out.binary_blobs;
      return;
    }
    ++out.blobs;
    if (object.size > blob_cap) {
      share.unscanned.emplace_back(object.order,
                                   collect.display_path(path) + ": " + std::to_string(object.size) +
                                       " bytes, first " + std::to_string(blob_cap) + " scanned");
    }
    collect.scan(object.order, content, [&](uint64_t off) {
      return collect.display_path(path) + ":" + std::to_string(line_of(content, off));
    });
  } else if (object.type == "tree") {
    collect.scan(object.order, tree_names(content, path, hash_bytes),
                 [](uint64_t) { return std::string("a path name"); });
  } else if (object.type == "commit" || object.type == "tag") {
    std::string where = std::string(object.type) + " " + std::string(object.id.substr(0, 12));
    collect.scan(object.order, content, [&](uint64_t) { return where; });
  }
}

// `git cat-file <mode> --buffer` in the quarantine, ids on stdin.
SpawnSpec cat_file(const QuarantineGit& git, const char* mode) {
  SpawnSpec spec;
  spec.env = git.env;
  spec.argv = {git.git, "-C", git.repo_dir, "cat-file", mode, "--buffer"};
  return spec;
}

void read_share(const QuarantineGit& git, const dlp::Scanner& scanner, uint64_t blob_cap,
                size_t hash_bytes, Share& share) {
  if (share.order.empty()) return;  // every family went to other readers
  SpawnSpec batch = cat_file(git, "--batch=%(objectname) %(objecttype) %(objectsize) %(rest)");
  batch.input = std::move(share.input);
  batch.live = SpawnSpec::Live::stdout_pipe;
  auto cat = Subprocess::start(batch);
  if (!cat) {
    share.error = Error{cat.error()};
    return;
  }
  ScanCollector collect(scanner, share.scan, share.findings);
  BatchReader reader(cat->stream_fd());
  std::string header, content;
  // cat-file answers every input line with exactly one header, in input order.
  for (size_t n = 0; reader.line(header); ++n) {
    const size_t order = n < share.order.size() ? share.order[n] : share.order.size();
    // "<id> <type> <size> <path>", or "<input> missing" for a line rev-list split oddly
    // (a path with a newline): that line names no object of its own.
    size_t s1 = header.find(' ');
    size_t s2 = s1 == std::string::npos ? s1 : header.find(' ', s1 + 1);
    size_t s3 = s2 == std::string::npos ? s2 : header.find(' ', s2 + 1);
    if (s3 == std::string::npos || !is_hex_id(header.substr(0, s1))) continue;
    const std::string_view type = std::string_view(header).substr(s1 + 1, s2 - s1 - 1);
    const auto parsed_size = object_size(std::string_view(header).substr(s2 + 1, s3 - s2 - 1));
    if (!parsed_size) continue;
    const uint64_t size = *parsed_size;
    const std::string path = header.substr(s3 + 1);
    content.clear();
    const size_t keep =
        type == "blob" ? static_cast<size_t>(std::min<uint64_t>(size, blob_cap)) : size;
    if (!reader.bytes(size + 1, keep, content)) {
      share.error = Error{"git cat-file: output ended early"};
      return;
    }
    scan_object(collect, share, {order, type, std::string_view(header).substr(0, s1), path, size},
                content, blob_cap, hash_bytes);
  }
  int status = cat->wait(60'000);
  if (status != 0) share.error = Error{"git cat-file: " + tail_lines(cat->captured_stderr(), 3)};
}

// How many cat-file readers a push gets: git's inflating and un-deltifying is the scan's
// bottleneck (about twice the DLP stage's CPU), so a large push is spread over the cores.
size_t share_count(size_t lines) {
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  return std::clamp<size_t>(std::min(cores, lines / 64), 1, 4);
}

// Which share reads each of rev-list's lines. A delta is inflated from its base, so two
// readers given objects of one delta family would each rebuild the family's bases (a
// round-robin split of a delta-heavy push cost 45% more git CPU than one reader). So
// whole families, found by `cat-file --batch-check`'s %(deltabase), go to one share, the
// largest first to the lightest share; each share keeps rev-list's order. If the check
// fails, the split falls back to round-robin: the readers will then report the error.
std::vector<size_t> assign_shares(const QuarantineGit& git,
                                  const std::vector<std::string_view>& lines, size_t shares) {
  std::vector<size_t> owner(lines.size());
  for (size_t n = 0; n < lines.size(); ++n) owner[n] = n % shares;
  if (shares < 2) return owner;
  SpawnSpec check = cat_file(git, "--batch-check=%(objectname) %(objectsize) %(deltabase)");
  for (auto line : lines) {
    check.input.append(line.substr(0, line.find_first_of(" \n")));
    check.input.push_back('\n');
  }
  auto info = run_command(check, 10 * 60 * 1000);
  if (!info || !info->ok()) return owner;

  // Union-find over object ids: the listed objects first (index = line), then bases that
  // only the mirror has.
  std::unordered_map<std::string_view, size_t> index;
  std::vector<size_t> parent(lines.size());
  std::vector<uint64_t> size(lines.size(), 0);
  for (size_t n = 0; n < lines.size(); ++n) {
    parent[n] = n;
    index.emplace(lines[n].substr(0, lines[n].find_first_of(" \n")), n);
  }
  auto root = [&](size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  const std::string_view out = info->out;
  size_t n = 0;
  for (size_t p = 0; p < out.size() && n < lines.size(); ++n) {
    size_t nl = out.find('\n', p);
    if (nl == std::string_view::npos) nl = out.size();
    const std::string_view row = out.substr(p, nl - p);
    p = nl + 1;
    // "<id> <size> <base>"; a line that named no object reads "<input> missing".
    size_t s1 = row.find(' '), s2 = s1 == row.npos ? s1 : row.find(' ', s1 + 1);
    if (s2 == row.npos) continue;
    size[n] = object_size(row.substr(s1 + 1, s2 - s1 - 1)).value_or(0);
    const std::string_view base = row.substr(s2 + 1);
    if (base.find_first_not_of('0') == std::string_view::npos) continue;
    auto [it, added] = index.emplace(base, parent.size());
    if (added) {
      parent.push_back(parent.size());
      size.push_back(0);
    }
    parent[root(n)] = root(it->second);
  }
  if (n != lines.size()) return owner;

  std::unordered_map<size_t, uint64_t> family_bytes;
  for (size_t i = 0; i < lines.size(); ++i) family_bytes[root(i)] += size[i] + 1;
  std::vector<std::pair<uint64_t, size_t>> families;  // (bytes, root)
  for (auto [r, bytes] : family_bytes) families.emplace_back(bytes, r);
  std::sort(families.begin(), families.end(), std::greater<>());
  std::vector<uint64_t> load(shares, 0);
  std::unordered_map<size_t, size_t> share_of;
  for (auto [bytes, r] : families) {
    const size_t lightest =
        static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[lightest] += bytes;
    share_of[r] = lightest;
  }
  for (size_t i = 0; i < lines.size(); ++i) owner[i] = share_of[root(i)];
  return owner;
}

// Reads rev-list's lines at positions `subset` with `git cat-file --batch`, split over
// readers by delta family; appends one Share per reader to `shares`.
void read_with_cat_file(const QuarantineGit& git, const dlp::Scanner& scanner, uint64_t blob_cap,
                        size_t hash_bytes, const std::vector<std::string_view>& lines,
                        const std::vector<size_t>& subset, std::vector<Share>& shares) {
  if (subset.empty()) return;
  std::vector<std::string_view> picked;
  for (size_t n : subset) picked.push_back(lines[n]);
  std::vector<Share> mine(share_count(picked.size()));
  const std::vector<size_t> owner = assign_shares(git, picked, mine.size());
  for (size_t k = 0; k < picked.size(); ++k) {
    Share& share = mine[owner[k]];
    share.input.append(picked[k]);
    share.order.push_back(subset[k]);
  }
  {
    std::vector<std::jthread> helpers;
    for (size_t i = 1; i < mine.size(); ++i) {
      helpers.emplace_back([&, i] { read_share(git, scanner, blob_cap, hash_bytes, mine[i]); });
    }
    read_share(git, scanner, blob_cap, hash_bytes, mine[0]);
  }
  for (auto& share : mine) shares.push_back(std::move(share));
}

// Objects (and delta bases) above this are left to cat-file, which git reads in a stream.
constexpr uint64_t kMaxInProcess = 64 << 20;

// A pack of the object directory the push landed in, mapped.
struct OpenPack {
  MappedFile idx, pack;
  Pack parsed;
};

// The packs of the quarantine (GIT_OBJECT_DIRECTORY), or of the repository itself when
// there is none. One that does not open or parse is left out: its objects go to cat-file.
std::vector<std::unique_ptr<OpenPack>> open_packs(const QuarantineGit& git, size_t hash_bytes) {
  std::string dir = git.repo_dir + "/objects";
  for (const auto& var : git.env) {
    if (var.starts_with("GIT_OBJECT_DIRECTORY=")) dir = var.substr(var.find('=') + 1);
  }
  std::vector<std::unique_ptr<OpenPack>> packs;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir + "/pack", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().extension() != ".idx") continue;
    auto idx = MappedFile::open(it->path());
    auto pack = MappedFile::open(std::filesystem::path(it->path()).replace_extension(".pack"));
    if (!idx || !pack) continue;
    auto parsed = Pack::parse(idx->bytes(), pack->bytes(), hash_bytes);
    if (!parsed) continue;
    packs.push_back(
        std::make_unique<OpenPack>(OpenPack{std::move(*idx), std::move(*pack), *parsed}));
  }
  return packs;
}

std::optional<std::string> raw_id(std::string_view hex, size_t hash_bytes) {
  if (hex.size() != 2 * hash_bytes || !is_hex_id(hex)) return std::nullopt;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string raw(hash_bytes, '\0');
  for (size_t i = 0; i < hash_bytes; ++i)
    raw[i] = static_cast<char>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  return raw;
}

// What cat-file's %(rest) is for a rev-list line: after the id and its whitespace.
std::string rest_of(std::string_view line) {
  if (line.ends_with('\n')) line.remove_suffix(1);
  const size_t gap = line.find_first_of(" \t");
  if (gap == std::string_view::npos) return "";
  const size_t rest = line.find_first_not_of(" \t\n\v\f\r", gap);
  return rest == std::string_view::npos ? "" : std::string(line.substr(rest));
}

struct PackItem {
  size_t line;  // position in rev-list's output
  size_t pack;
  uint64_t offset;
};

// Reads `items` from the packs in process and scans them; the positions of those it
// cannot read go to `fallback`, for cat-file.
void read_packed(const std::vector<std::unique_ptr<OpenPack>>& packs, std::vector<PackItem> items,
                 const std::vector<std::string_view>& lines, const dlp::Scanner& scanner,
                 uint64_t blob_cap, size_t hash_bytes, Share& share,
                 std::vector<size_t>& fallback) {
  // In pack order: a base is written before its deltas, so the cache holds it for them.
  std::sort(items.begin(), items.end(), [](const PackItem& a, const PackItem& b) {
    return std::tie(a.pack, a.offset) < std::tie(b.pack, b.offset);
  });
  std::vector<std::unique_ptr<PackReader>> readers(packs.size());
  ScanCollector collect(scanner, share.scan, share.findings);
  for (const auto& item : items) {
    auto& reader = readers[item.pack];
    if (!reader) reader = std::make_unique<PackReader>(packs[item.pack]->parsed, kMaxInProcess);
    auto object = reader->read(item.offset);
    if (!object) {
      fallback.push_back(item.line);
      continue;
    }
    const std::string_view line = lines[item.line];
    const std::string path = rest_of(line);
    scan_object(
        collect, share,
        {item.line, type_name(object->type), line.substr(0, 2 * hash_bytes), path, object->size},
        object->view(), blob_cap, hash_bytes);
    ++share.scan.from_pack;
  }
}

// The objects of rev-list's `lines` that the push's packs hold are read in process, one
// thread per core, whole delta families to one thread (each thread has its own base
// cache); the positions of the rest are returned, for cat-file.
std::vector<size_t> scan_packed(const QuarantineGit& git, const dlp::Scanner& scanner,
                                uint64_t blob_cap, size_t hash_bytes,
                                const std::vector<std::string_view>& lines,
                                std::vector<Share>& shares) {
  std::vector<size_t> fallback;
  const auto packs = open_packs(git, hash_bytes);
  // Families: (pack, offset of the chain's whole object) -> bytes and members.
  std::map<std::pair<size_t, uint64_t>, std::pair<uint64_t, std::vector<PackItem>>> families;
  for (size_t n = 0; n < lines.size(); ++n) {
    const auto id = raw_id(lines[n].substr(0, lines[n].find_first_of(" \n")), hash_bytes);
    std::optional<PackItem> item;
    for (size_t p = 0; id && !item && p < packs.size(); ++p) {
      if (auto offset = packs[p]->parsed.find(*id)) item = PackItem{n, p, *offset};
    }
    const Pack* pack = item ? &packs[item->pack]->parsed : nullptr;
    auto root = pack ? pack->chain_root(item->offset) : Result<uint64_t>(Error{});
    auto entry = pack ? pack->entry(item->offset) : Result<PackEntry>(Error{});
    if (!root || !entry) {
      fallback.push_back(n);
      continue;
    }
    auto& family = families[{item->pack, *root}];
    family.first += entry->size + 1;
    family.second.push_back(*item);
  }
  if (families.empty()) return fallback;

  std::vector<std::pair<uint64_t, const std::vector<PackItem>*>> by_size;
  for (const auto& [root, family] : families) by_size.emplace_back(family.first, &family.second);
  std::stable_sort(by_size.begin(), by_size.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  const size_t threads = share_count(lines.size() - fallback.size());
  std::vector<std::vector<PackItem>> work(threads);
  std::vector<uint64_t> load(threads, 0);
  for (const auto& [bytes, members] : by_size) {
    const size_t lightest =
        static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[lightest] += bytes;
    work[lightest].insert(work[lightest].end(), members->begin(), members->end());
  }
  std::vector<Share> done(threads);
  std::vector<std::vector<size_t>> missed(threads);
  {
    std::vector<std::jthread> helpers;
    for (size_t i = 1; i < threads; ++i) {
      helpers.emplace_back([&, i] {
        read_packed(packs, std::move(work[i]), lines, scanner, blob_cap, hash_bytes, done[i],
                    missed[i]);
      });
    }
    read_packed(packs, std::move(work[0]), lines, scanner, blob_cap, hash_bytes, done[0],
                missed[0]);
  }
  for (size_t i = 0; i < threads; ++i) {
    shares.push_back(std::move(done[i]));
    fallback.insert(fallback.end(), missed[i].begin(), missed[i].end());
  }
  std::sort(fallback.begin(), fallback.end());
  return fallback;
}

}  // namespace

Result<RefUpdate> parse_ref_update(std::string_view line) {
  size_t a = line.find(' ');
  size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
  if (b == std::string_view::npos) return Error{"expected '<old> <new> <ref>'"};
  RefUpdate u{std::string(line.substr(0, a)), std::string(line.substr(a + 1, b - a - 1)),
              std::string(line.substr(b + 1))};
  if (!is_hex_id(u.old_id) || !is_hex_id(u.new_id) || u.old_id.size() != u.new_id.size()) {
    return Error{"bad object id"};
  }
  if (!u.ref.starts_with("refs/") || u.ref.find_first_of(" \t\n\r") != std::string::npos)
    return Error{"bad ref name"};
  return u;
}

bool looks_binary(std::string_view head) {
  return head.substr(0, 8000).find('\0') != std::string_view::npos;
}

Result<PushScan> scan_push(const QuarantineGit& git, const std::vector<RefUpdate>& updates,
                           const dlp::Scanner& scanner, uint64_t blob_cap) {
  PushScan out;
  std::set<std::string> seen;
  auto add = [&](PushFinding f) {
    if (seen.insert(f.detector + "\n" + f.where).second) out.findings.push_back(std::move(f));
  };
  std::vector<std::string> tips;
  for (const auto& u : updates) {
    for (const auto& f : scanner.scan(u.ref, dlp::Direction::outbound, "ref"))
      add({f.detector, "a ref name", f.blocking});
    if (!u.deletes() && std::find(tips.begin(), tips.end(), u.new_id) == tips.end())
      tips.push_back(u.new_id);
  }
  if (tips.empty()) return out;

  SpawnSpec list;
  list.env = git.env;
  list.argv = {git.git, "-C", git.repo_dir, "rev-list", "--objects"};
  list.argv.insert(list.argv.end(), tips.begin(), tips.end());
  list.argv.insert(list.argv.end(), {"--not", "--all"});
  auto objects = run_command(list, 10 * 60 * 1000);
  if (!objects) return Error{objects.error()};
  if (!objects->ok()) return Error{"git rev-list: " + tail_lines(objects->err, 3)};
  if (objects->out.empty()) return out;

  const std::string_view listing = objects->out;
  std::vector<std::string_view> lines;
  for (size_t p = 0; p < listing.size();) {
    size_t nl = listing.find('\n', p);
    size_t e = nl == std::string_view::npos ? listing.size() : nl + 1;
    lines.push_back(listing.substr(p, e - p));
    p = e;
  }
  const size_t hash_bytes = tips.front().size() / 2;
  std::vector<Share> shares;
  const std::vector<size_t> rest = scan_packed(git, scanner, blob_cap, hash_bytes, lines, shares);
  read_with_cat_file(git, scanner, blob_cap, hash_bytes, lines, rest, shares);

  // Merged in rev-list order; one finding per (detector, where).
  std::vector<std::pair<size_t, PushFinding>> found;
  std::vector<std::pair<size_t, std::string>> unscanned;
  for (auto& share : shares) {
    if (share.error) return *share.error;
    out.objects += share.scan.objects;
    out.blobs += share.scan.blobs;
    out.binary_blobs += share.scan.binary_blobs;
    out.bytes += share.scan.bytes;
    out.from_pack += share.scan.from_pack;
    for (auto& f : share.findings) found.push_back(std::move(f));
    for (auto& u : share.unscanned) unscanned.push_back(std::move(u));
  }
  auto by_order = [](const auto& a, const auto& b) { return a.first < b.first; };
  std::stable_sort(found.begin(), found.end(), by_order);
  std::stable_sort(unscanned.begin(), unscanned.end(), by_order);
  for (auto& [order, finding] : found) add(std::move(finding));
  for (auto& [order, text] : unscanned) out.unscanned.push_back(std::move(text));
  return out;
}

}  // namespace bottle::gitgate
