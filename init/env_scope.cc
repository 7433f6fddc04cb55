#include "init/env_scope.h"

namespace bottle::init {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.starts_with(prefix);
}

bool is_proxy_var(std::string_view name) {
  for (std::string_view p : {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy",
                             "https_proxy", "all_proxy", "no_proxy"}) {
    if (name == p) return true;
  }
  return false;
}

bool is_git_key_var(std::string_view name) {
  if (starts_with(name, "GIT_SSH_KEY") || starts_with(name, "GIT_KEY_") || name == "SSH_AUTH_SOCK")
    return true;
  return starts_with(name, "GITGATE_") && name.substr(8).find("KEY") != std::string_view::npos;
}

}  // namespace

bool env_allowed(std::string_view name, const std::vector<std::string>& allow) {
  for (std::string_view pattern : allow) {
    if (!pattern.empty() && pattern.back() == '*') {
      if (starts_with(name, pattern.substr(0, pattern.size() - 1))) return true;
    } else if (name == pattern) {
      return true;
    }
  }
  return false;
}

bool env_forbidden(std::string_view daemon, std::string_view name) {
  if (is_proxy_var(name)) return true;
  if (starts_with(name, "LISTEN_")) {
    if (name == "LISTEN_FDS" || name == "LISTEN_PID" || name == "LISTEN_FDNAMES") return true;
  }
  if (starts_with(name, "EGRESS_TOKEN_") && daemon != "egress") return true;
  if (is_git_key_var(name) && daemon != "gitgate") return true;
  return false;
}

std::vector<std::string> scoped_env(std::string_view daemon, const std::vector<std::string>& allow,
                                    const std::vector<std::string>& parent) {
  std::vector<std::string> out;
  for (const auto& entry : parent) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    const std::string_view name(entry.data(), eq);
    if (env_allowed(name, allow) && !env_forbidden(daemon, name)) out.push_back(entry);
  }
  return out;
}

}  // namespace bottle::init
