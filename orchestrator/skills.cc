#include "orchestrator/skills.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "orchestrator/process.h"
#include "orchestrator/state.h"

namespace bottle::orchestrator {

namespace {

constexpr int kMaxDepth = 16;

// O_PATH without following a final symlink: the descriptor names the link itself.
Result<UniqueFd> open_below(int dir, const std::string& name, const std::string& shown) {
  UniqueFd fd(::openat(dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return Error{shown + ": " + std::strerror(errno)};
  return fd;
}

Result<mode_t> kind_of(int fd, const std::string& shown) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Error{shown + ": " + std::strerror(errno)};
  if (S_ISLNK(st.st_mode)) return Error{shown + ": is a symbolic link"};
  return st.st_mode;
}

class SkillReader {
 public:
  explicit SkillReader(SkillContent& out) : out_(out) {}

  Status add(int fd, const std::string& rel, const std::string& shown, int depth) {
    auto mode = kind_of(fd, shown);
    if (!mode) return Error{mode.error()};
    if (++entries_ > kMaxSkillEntries)
      return Error{shown + ": more than " + std::to_string(kMaxSkillEntries) + " entries"};
    if (S_ISDIR(*mode)) return add_dir(fd, rel, shown, depth);
    if (!S_ISREG(*mode)) return Error{shown + ": not a regular file"};
    auto data = read_regular_fd(fd, shown, kMaxAgentFileBytes);
    if (!data) return Error{data.error()};
    bytes_ += data->size();
    if (bytes_ > kMaxSkillBytes)
      return Error{shown + ": the skill is larger than " + std::to_string(kMaxSkillBytes >> 20) +
                   " MiB"};
    out_.files.push_back({rel, std::move(*data), (*mode & S_IXUSR) != 0});
    return OkStatus();
  }

 private:
  Status add_dir(int fd, const std::string& rel, const std::string& shown, int depth) {
    if (depth > kMaxDepth)
      return Error{shown + ": nested deeper than " + std::to_string(kMaxDepth) + " directories"};
    if (!rel.empty()) out_.dirs.push_back(rel);
    // An O_PATH descriptor cannot be listed; "." below it opens the same directory.
    int list_fd = ::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (list_fd < 0) return Error{shown + ": " + std::strerror(errno)};
    DIR* d = ::fdopendir(list_fd);
    if (!d) {
      ::close(list_fd);
      return Error{shown + ": " + std::strerror(errno)};
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
      if (names.size() > kMaxSkillEntries) break;
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      const std::string child_shown = shown + "/" + n;
      auto child = open_below(fd, n, child_shown);
      if (!child) return Error{child.error()};
      if (auto st = add(child->get(), rel.empty() ? n : rel + "/" + n, child_shown, depth + 1); !st)
        return st;
    }
    return OkStatus();
  }

  SkillContent& out_;
  size_t entries_ = 0;
  size_t bytes_ = 0;
};

}  // namespace

Result<SkillContent> read_skill(const std::string& root, const std::string& relative) {
  // The manifest root itself is where the agent file was found; below it nothing is
  // followed, so no link in a project tree can point the copy at a host file.
  UniqueFd dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return Error{root + ": " + std::strerror(errno)};
  std::vector<std::string> parts;
  std::istringstream in(relative);
  for (std::string part; std::getline(in, part, '/');) {
    if (part.empty() || part == ".") continue;
    if (part == "..") return Error{root + "/" + relative + ": '..' leaves the manifest directory"};
    parts.push_back(part);
  }
  if (parts.empty()) return Error{root + "/" + relative + ": not a skill path"};
  std::string shown = root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    shown += "/" + parts[i];
    auto next = open_below(dir.get(), parts[i], shown);
    if (!next) return Error{next.error()};
    auto mode = kind_of(next->get(), shown);
    if (!mode) return Error{mode.error()};
    if (!S_ISDIR(*mode)) return Error{shown + ": not a directory"};
    dir = std::move(*next);
  }
  shown += "/" + parts.back();
  auto leaf = open_below(dir.get(), parts.back(), shown);
  if (!leaf) return Error{leaf.error()};
  SkillContent out;
  SkillReader reader(out);
  if (auto st = reader.add(leaf->get(), "", shown, 0); !st) return Error{st.error()};
  return out;
}

Result<std::vector<SkillContent>> read_skills(const Plan& plan) {
  std::vector<SkillContent> out;
  for (const auto& s : plan.skills) {
    auto skill = read_skill(s.root, s.relative);
    if (!skill)
      return Error{"skill " + s.relative + ": " + skill.error() + " (agent " + plan.agent_path +
                   ")"};
    out.push_back(std::move(*skill));
  }
  return out;
}

Status write_skill(const SkillContent& skill, const std::string& destination) {
  if (skill.files.size() == 1 && skill.files[0].path.empty()) {
    const auto& f = skill.files[0];
    return write_file_atomic(destination, f.data, f.executable ? 0755 : 0644);
  }
  if (auto st = make_dir(destination, 0755); !st) return st;
  for (const auto& d : skill.dirs) {
    if (auto st = make_dir(destination + "/" + d, 0755); !st) return st;
  }
  for (const auto& f : skill.files) {
    if (auto st = write_file_atomic(destination + "/" + f.path, f.data, f.executable ? 0755 : 0644);
        !st)
      return st;
  }
  return OkStatus();
}

}  // namespace bottle::orchestrator
