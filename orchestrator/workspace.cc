#include "orchestrator/workspace.h"

#include <acl/libacl.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

#include "orchestrator/process.h"

namespace bottle::orchestrator {

namespace {

// One directory or regular file met by walk(): `at` reaches it without re-walking the
// path (through the open parent directory), `rel` names it for messages.
struct Entry {
  std::string at;
  std::string rel;
  struct stat st;
};

// Depth-first over `root` and everything below it on the same filesystem. Symlinks,
// devices, FIFOs and sockets are never visited, mount points never crossed. `visit`
// returns false to stop the walk from descending into a directory.
void walk(const std::string& root, const std::function<bool(const Entry&)>& visit) {
  UniqueFd top(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct stat root_st;
  if (!top || ::fstat(top.get(), &root_st) != 0) return;
  visit({root, "", root_st});
  std::function<void(int, const std::string&)> descend = [&](int dir, const std::string& rel) {
    std::vector<std::string> names;
    int list = ::dup(dir);
    if (list < 0) return;
    ::lseek(list, 0, SEEK_SET);
    DIR* d = ::fdopendir(list);
    if (!d) {
      ::close(list);
      return;
    }
    while (dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        names.emplace_back(e->d_name);
    }
    ::closedir(d);
    const std::string via = "/proc/self/fd/" + std::to_string(dir) + "/";
    for (const auto& n : names) {
      struct stat st;
      if (::fstatat(dir, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (st.st_dev != root_st.st_dev) continue;
      const std::string child_rel = rel.empty() ? n : rel + "/" + n;
      if (S_ISREG(st.st_mode)) {
        visit({via + n, child_rel, st});
      } else if (S_ISDIR(st.st_mode)) {
        if (!visit({via + n, child_rel, st})) continue;
        UniqueFd sub(::openat(dir, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (sub) descend(sub.get(), child_rel);
      }
    }
  };
  descend(top.get(), "");
}

struct Acl {
  acl_t acl = nullptr;
  ~Acl() {
    if (acl) acl_free(acl);
  }
};

bool names_uid(acl_entry_t e, uid_t uid) {
  acl_tag_t tag;
  if (acl_get_tag_type(e, &tag) != 0 || tag != ACL_USER) return false;
  auto* q = static_cast<uid_t*>(acl_get_qualifier(e));
  bool match = q && *q == uid;
  if (q) acl_free(q);
  return match;
}

bool grant_one(const Entry& e, uid_t uid) {
  Acl a{acl_get_file(e.at.c_str(), ACL_TYPE_ACCESS)};
  if (!a.acl) return false;
  acl_entry_t entry = nullptr;
  for (int which = ACL_FIRST_ENTRY; acl_get_entry(a.acl, which, &entry) == 1;
       which = ACL_NEXT_ENTRY) {
    if (names_uid(entry, uid)) break;
    entry = nullptr;
  }
  if (!entry && (acl_create_entry(&a.acl, &entry) != 0 || acl_set_tag_type(entry, ACL_USER) != 0 ||
                 acl_set_qualifier(entry, &uid) != 0))
    return false;
  acl_permset_t perms;
  if (acl_get_permset(entry, &perms) != 0) return false;
  acl_clear_perms(perms);
  acl_add_perm(perms, ACL_READ);
  acl_add_perm(perms, ACL_WRITE);
  if (S_ISDIR(e.st.st_mode) || (e.st.st_mode & S_IXUSR)) acl_add_perm(perms, ACL_EXECUTE);
  return acl_set_permset(entry, perms) == 0 && acl_calc_mask(&a.acl) == 0 &&
         acl_set_file(e.at.c_str(), ACL_TYPE_ACCESS, a.acl) == 0;
}

// Returns true when an entry naming `uid` was found (and removal was attempted).
bool revoke_one(const Entry& e, uid_t uid, bool& ok) {
  Acl a{acl_get_file(e.at.c_str(), ACL_TYPE_ACCESS)};
  if (!a.acl) return false;
  bool found = false, named_left = false;
  acl_entry_t entry, mask = nullptr;
  for (int which = ACL_FIRST_ENTRY; acl_get_entry(a.acl, which, &entry) == 1;
       which = ACL_NEXT_ENTRY) {
    acl_tag_t tag;
    acl_get_tag_type(entry, &tag);
    if (names_uid(entry, uid)) {
      found = true;
    } else if (tag == ACL_USER || tag == ACL_GROUP) {
      named_left = true;
    } else if (tag == ACL_MASK) {
      mask = entry;
    }
  }
  if (!found) return false;
  // Deleting entries invalidates the iteration, so find and delete one at a time.
  for (bool again = true; again;) {
    again = false;
    for (int which = ACL_FIRST_ENTRY; acl_get_entry(a.acl, which, &entry) == 1;
         which = ACL_NEXT_ENTRY) {
      if (names_uid(entry, uid)) {
        acl_delete_entry(a.acl, entry);
        again = true;
        break;
      }
    }
  }
  // With no named entry left the mask goes too: the ACL is the mode bits again, and the
  // kernel drops the extended attribute.
  if (!named_left && mask) {
    for (int which = ACL_FIRST_ENTRY; acl_get_entry(a.acl, which, &entry) == 1;
         which = ACL_NEXT_ENTRY) {
      acl_tag_t tag;
      if (acl_get_tag_type(entry, &tag) == 0 && tag == ACL_MASK) {
        acl_delete_entry(a.acl, entry);
        break;
      }
    }
  } else if (acl_calc_mask(&a.acl) != 0) {
    ok = false;
    return true;
  }
  ok = acl_set_file(e.at.c_str(), ACL_TYPE_ACCESS, a.acl) == 0;
  return true;
}

}  // namespace

Result<WalkCount> grant_workspace(const std::string& workspace, uid_t uid) {
  WalkCount n;
  std::string root_error;
  walk(workspace, [&](const Entry& e) {
    if (!S_ISDIR(e.st.st_mode) && e.st.st_nlink > 1) return true;
    if (grant_one(e, uid)) {
      ++n.changed;
    } else {
      if (e.rel.empty()) root_error = std::strerror(errno);
      ++n.failed;
    }
    return true;
  });
  if (n.changed == 0 || !root_error.empty()) {
    return Error{"workspace " + workspace + ": cannot give uid " + std::to_string(uid) +
                 " access with a POSIX ACL (" + (root_error.empty() ? "?" : root_error) +
                 "); use a filesystem with ACL support, or run bottle with sudo from the "
                 "account that owns the workspace"};
  }
  return n;
}

AfterRun finish_workspace(const std::string& workspace, uid_t uid, time_t since, bool revoke) {
  AfterRun r;
  walk(workspace, [&](const Entry& e) {
    const mode_t setid = S_ISUID | S_ISGID;
    if (S_ISREG(e.st.st_mode) && e.st.st_uid == uid && (e.st.st_mode & setid) &&
        e.st.st_ctime >= since && ::chmod(e.at.c_str(), e.st.st_mode & 07777 & ~setid) == 0)
      r.setid_cleared.push_back(e.rel);
    bool ok = true;
    if (revoke && revoke_one(e, uid, ok)) ++(ok ? r.revoked.changed : r.revoked.failed);
    return true;
  });
  return r;
}

std::vector<std::string> find_git_entries(const std::string& workspace, size_t limit) {
  std::vector<std::string> found;
  walk(workspace, [&](const Entry& e) {
    const size_t slash = e.rel.rfind('/');
    const bool is_git =
        e.rel.compare(slash == std::string::npos ? 0 : slash + 1, std::string::npos, ".git") == 0;
    if (is_git && found.size() < limit) found.push_back(e.rel);
    return !is_git && found.size() < limit;
  });
  // The walk is depth-first in directory order: put the workspace's own repo first.
  auto top = std::find(found.begin(), found.end(), ".git");
  if (top != found.end()) std::rotate(found.begin(), top, top + 1);
  return found;
}

}  // namespace bottle::orchestrator
