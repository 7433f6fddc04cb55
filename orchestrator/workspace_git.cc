#include "orchestrator/workspace_git.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <functional>

#include "common/ascii.h"
#include "orchestrator/preflight.h"
#include "orchestrator/process.h"
#include "orchestrator/state.h"
#include "orchestrator/workspace.h"

namespace bottle::orchestrator {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxRepos = 64;

// Files that make git read its config from somewhere else.
constexpr std::array<const char*, 2> kRedirects = {"commondir", "config.worktree"};

// Inside a repository's git directory: what decides which commands git runs.
constexpr std::array<const char*, 6> kGitDirControls = {"config", "config.worktree", "commondir",
                                                        "hooks",  "modules",         "worktrees"};

// `key` as `git config --list` prints it: section[.subsection].name, section and name
// lower-case.
bool runs_a_command(const std::string& key) {
  const size_t first = key.find('.'), last = key.rfind('.');
  if (first == std::string::npos) return false;
  const std::string section = key.substr(0, first), name = key.substr(last + 1);
  const bool sub = first != last;
  if (section == "alias" || section == "pager") return true;
  if (!sub) {
    static const std::array<const char*, 15> kCommands = {
        "core.fsmonitor",  "core.hookspath",
        "core.sshcommand", "core.editor",
        "core.pager",      "core.askpass",
        "core.gitproxy",   "core.alternaterefscommand",
        "diff.external",   "sequence.editor",
        "gpg.program",     "credential.helper",
        "include.path",    "uploadpack.packobjectshook",
        "diff.tool"};
    return std::find(kCommands.begin(), kCommands.end(), key) != kCommands.end();
  }
  static const std::array<std::pair<const char*, const char*>, 14> kPerName = {{
      {"filter", "clean"},
      {"filter", "smudge"},
      {"filter", "process"},
      {"diff", "textconv"},
      {"diff", "command"},
      {"merge", "driver"},
      {"gpg", "program"},
      {"credential", "helper"},
      {"includeif", "path"},
      {"difftool", "cmd"},
      {"mergetool", "cmd"},
      {"remote", "uploadpack"},
      {"remote", "receivepack"},
      {"browser", "cmd"},
  }};
  return std::any_of(kPerName.begin(), kPerName.end(),
                     [&](const auto& p) { return section == p.first && name == p.second; });
}

bool is_real(const std::string& path, bool want_dir) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return false;
  return want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
}

bool inside(const fs::path& path, const fs::path& root) {
  const std::string p = path.lexically_normal().string(), r = root.lexically_normal().string();
  return p == r || p.rfind(r + "/", 0) == 0;
}

std::string shorten(const std::string& value) {
  std::string v = printable(value);
  return v.size() > 100 ? v.substr(0, 97) + "..." : v;
}

// The git directory a `.git` entry stands for, when it lies in the workspace.
std::optional<fs::path> git_dir_of(const fs::path& ws, const std::string& rel) {
  const fs::path entry = ws / rel;
  if (is_real(entry, true)) return entry;
  auto text = read_regular_file(entry.string(), 4096);
  if (!text || text->rfind("gitdir: ", 0) != 0) return std::nullopt;
  std::string target = text->substr(8);
  while (!target.empty() && (target.back() == '\n' || target.back() == '\r')) target.pop_back();
  fs::path dir = fs::path(target).is_absolute() ? fs::path(target) : entry.parent_path() / target;
  std::error_code ec;
  dir = fs::weakly_canonical(dir, ec);
  if (ec || !inside(dir, ws) || !is_real(dir.string(), true)) return std::nullopt;
  return dir;
}

void scan_config(const fs::path& ws, const fs::path& file, std::vector<GitFinding>& out,
                 std::string* hooks_path) {
  if (!is_real(file.string(), false)) return;
  auto r =
      run_capture({"git", "config", "--file", file.string(), "--no-includes", "--null", "--list"});
  if (!r || r->exit_code != 0) return;
  const std::string where = fs::relative(file, ws).string();
  size_t pos = 0;
  while (pos < r->out.size()) {
    size_t end = r->out.find('\0', pos);
    if (end == std::string::npos) end = r->out.size();
    const std::string item = r->out.substr(pos, end - pos);
    pos = end + 1;
    const size_t nl = item.find('\n');
    const std::string key = item.substr(0, nl);
    const std::string value = nl == std::string::npos ? "" : item.substr(nl + 1);
    if (!runs_a_command(ascii_lower(key))) continue;
    out.push_back({where, printable(key) + " = " + shorten(value)});
    if (hooks_path && ascii_lower(key) == "core.hookspath") *hooks_path = value;
  }
}

void scan_hooks(const fs::path& ws, const fs::path& dir, std::vector<GitFinding>& out) {
  if (!is_real(dir.string(), true)) return;
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir, ec)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    if (n.size() > 7 && n.compare(n.size() - 7, 7, ".sample") == 0) continue;
    const fs::path p = dir / n;
    struct stat st;
    if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111)) continue;
    out.push_back({fs::relative(p, ws).string(), "hook " + printable(n)});
  }
}

// core.hooksPath, relative to the worktree (the directory holding `.git`).
std::optional<fs::path> hooks_dir_in_workspace(const fs::path& ws, const fs::path& worktree,
                                               const std::string& hooks_path) {
  if (hooks_path.empty()) return std::nullopt;
  fs::path p = fs::path(hooks_path).is_absolute() ? fs::path(hooks_path) : worktree / hooks_path;
  std::error_code ec;
  p = fs::weakly_canonical(p, ec);
  if (ec || !inside(p, ws) || p == ws) return std::nullopt;
  return p;
}

// Calls `fn(ws, rel)` for every `.git` entry of the workspace (ws canonical).
void for_each_repo(const std::string& workspace,
                   const std::function<void(const fs::path&, const std::string&)>& fn) {
  std::error_code ec;
  const fs::path ws = fs::weakly_canonical(workspace, ec);
  if (ec) return;
  for (const auto& rel : find_git_entries(ws.string(), kMaxRepos)) fn(ws, rel);
}

}  // namespace

std::vector<GitFinding> scan_workspace_git(const std::string& workspace) {
  std::vector<GitFinding> out;
  for_each_repo(workspace, [&](const fs::path& ws, const std::string& rel) {
    auto dir = git_dir_of(ws, rel);
    if (!dir) return;
    const fs::path worktree = (ws / rel).parent_path();
    std::string hooks_path;
    scan_config(ws, *dir / "config", out, &hooks_path);
    scan_config(ws, *dir / "config.worktree", out, &hooks_path);
    // A main repository's commondir moves its config and hooks somewhere else.
    if (is_real((ws / rel).string(), true) && is_real((*dir / "commondir").string(), false)) {
      auto target = read_regular_file((*dir / "commondir").string(), 4096);
      out.push_back({fs::relative(*dir / "commondir", ws).string(),
                     "commondir -> " + shorten(target ? *target : "?")});
    }
    scan_hooks(ws, *dir / "hooks", out);
    if (auto hooks = hooks_dir_in_workspace(ws, worktree, hooks_path)) scan_hooks(ws, *hooks, out);
  });
  return out;
}

std::vector<GitFinding> added_findings(const std::vector<GitFinding>& before,
                                       const std::vector<GitFinding>& after) {
  std::vector<GitFinding> added;
  for (const auto& f : after) {
    if (std::find(before.begin(), before.end(), f) == before.end()) added.push_back(f);
  }
  return added;
}

GitDirWatch GitDirWatch::start(const std::string& workspace, const std::vector<GitBind>& binds) {
  GitDirWatch w;
  w.inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!w.inotify_) return w;
  for (const auto& b : binds) {
    if (b.read_only) continue;  // pinned .git directories are the read-write binds
    const std::string dir = workspace + "/" + b.path;
    UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    int wd = ::inotify_add_watch(w.inotify_.get(), dir.c_str(),
                                 IN_CREATE | IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW);
    if (fd && wd >= 0) w.dirs_.push_back({wd, std::move(fd), b.path});
  }
  return w;
}

std::vector<std::string> GitDirWatch::on_readable() {
  std::vector<std::string> removed;
  alignas(inotify_event) char buf[4096];
  for (;;) {
    ssize_t n = ::read(inotify_.get(), buf, sizeof buf);
    if (n <= 0) return removed;
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->len == 0) continue;
      const std::string name = ev->name;
      if (std::find(kRedirects.begin(), kRedirects.end(), name) == kRedirects.end()) continue;
      for (const auto& d : dirs_) {
        if (d.wd == ev->wd && ::unlinkat(d.fd.get(), name.c_str(), 0) == 0)
          removed.push_back(d.rel + "/" + name);
      }
    }
  }
}

bool remove_redirect(const std::string& workspace, const GitFinding& f) {
  const std::string name = fs::path(f.where).filename();
  if (std::find(kRedirects.begin(), kRedirects.end(), name) == kRedirects.end()) return false;
  return ::unlink((workspace + "/" + f.where).c_str()) == 0;
}

std::vector<GitBind> git_protection(const std::string& workspace) {
  std::vector<GitBind> binds;
  for_each_repo(workspace, [&](const fs::path& ws, const std::string& rel) {
    const fs::path entry = ws / rel;
    if (!is_real(entry.string(), true)) {
      // A gitfile points git elsewhere: the agent must not repoint it.
      if (is_real(entry.string(), false)) binds.push_back({rel, true});
      return;
    }
    // Pinned read-write: a mount point cannot be renamed away and replaced.
    binds.push_back({rel, false});
    for (const char* control : kGitDirControls) {
      const std::string path = rel + "/" + control;
      if (is_real((ws / path).string(), true) || is_real((ws / path).string(), false))
        binds.push_back({path, true});
    }
    std::vector<GitFinding> ignored;
    std::string hooks_path;
    scan_config(ws, entry / "config", ignored, &hooks_path);
    if (auto hooks = hooks_dir_in_workspace(ws, entry.parent_path(), hooks_path);
        hooks && is_real(hooks->string(), true))
      binds.push_back({fs::relative(*hooks, ws).string(), true});
  });
  return binds;
}

}  // namespace bottle::orchestrator
