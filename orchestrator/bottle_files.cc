#include "orchestrator/bottle_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/files.h"
#include "common/tls/ca.h"
#include "orchestrator/render.h"
#include "orchestrator/state.h"

namespace bottle::orchestrator {

namespace fs = std::filesystem;

namespace {

std::string system_ca_bundle() {
  for (const char* p : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"}) {
    if (!fs::exists(p)) continue;
    auto text = read_text_file(p);
    return text ? *text : "";
  }
  return "";
}

}  // namespace

Status write_bottle_files(const Plan& plan, const std::string& dir, const std::string& slug,
                          const std::vector<SkillContent>& skills) {
  auto ca = tls::mint_ca("bot-bottle " + slug, 30);
  if (!ca) return Error{"minting the bottle CA: " + ca.error()};
  if (auto st = tls::write_private_file(dir + "/ca/ca-key.pem", ca->key_pem, 0600); !st) return st;
  if (auto st = write_file_atomic(dir + "/ca/ca.pem", ca->cert_pem, 0644); !st) return st;
  const std::string a = dir + "/agent";
  if (auto st = write_file_atomic(a + "/bottle-ca.pem", ca->cert_pem, 0644); !st) return st;
  if (auto st =
          write_file_atomic(a + "/ca-bundle.pem", system_ca_bundle() + "\n" + ca->cert_pem, 0644);
      !st)
    return st;
  if (auto st = write_file_atomic(a + "/gitconfig", plan.gitconfig, 0644); !st) return st;
  if (auto st = write_file_atomic(a + "/prompt.md", plan.prompt, 0600); !st) return st;
  // Skills are copies (read and checked before anything was created), so the agent
  // never writes into the operator's manifest tree.
  for (size_t i = 0; i < plan.skills.size() && i < skills.size(); ++i) {
    if (auto st = make_dir(a + "/skills", 0755); !st) return st;
    const std::string name = fs::path(plan.skills[i].destination).filename().string();
    if (auto st = write_skill(skills[i], a + "/skills/" + name); !st) return st;
  }
  return write_file_atomic(dir + "/routes/routes.yaml", render_routes_yaml(plan), 0600);
}

Status chown_tree(const std::string& path, uid_t uid, gid_t gid) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(path, ec))) {
    if (::lchown(path.c_str(), uid, gid) != 0) return Error{path + ": chown: " + std::strerror(errno)};
    return OkStatus();
  }
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (::lchown(it->path().c_str(), uid, gid) != 0)
      return Error{it->path().string() + ": chown: " + std::strerror(errno)};
  }
  if (ec) return Error{path + ": " + ec.message()};
  if (::lchown(path.c_str(), uid, gid) != 0) return Error{path + ": chown: " + std::strerror(errno)};
  return OkStatus();
}

Status share_tree_read_only(const std::string& path) {
  std::error_code ec;
  auto share = [](const fs::path& p) -> Status {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return Error{p.string() + ": " + std::strerror(errno)};
    if (S_ISLNK(st.st_mode)) return OkStatus();
    const mode_t add = S_ISDIR(st.st_mode) ? 0555 : 0444;
    if (::chmod(p.c_str(), (st.st_mode & 07777) | add) != 0)
      return Error{p.string() + ": chmod: " + std::strerror(errno)};
    return OkStatus();
  };
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (auto st = share(it->path()); !st) return st;
  }
  if (ec) return Error{path + ": " + ec.message()};
  return share(path);
}

}  // namespace bottle::orchestrator
