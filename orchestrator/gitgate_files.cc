#include "orchestrator/gitgate_files.h"

#include <cstdlib>

#include "common/files.h"
#include "orchestrator/render.h"
#include "orchestrator/state.h"

namespace bottle::orchestrator {

std::string expand_home(const std::string& path) {
  if (path != "~" && !path.starts_with("~/")) return path;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + path.substr(1);
}

Status write_gitgate_files(const Plan& plan, const std::string& gate_dir,
                           const std::string& config_path, GitgateLayout layout) {
  const std::string keys = gate_dir + "/keys";
  layout.keys_dir = keys;
  for (const auto& dir : {gate_dir, keys}) {
    if (auto st = make_dir(dir, 0700); !st) return st;
  }
  for (const auto& repo : plan.repos) {
    const std::string source = expand_home(repo.fields["key"]["path"].Scalar());
    auto key = bottle::read_text_file(source);
    if (!key) return Error{repo.origin + ": repo '" + repo.name + "': key: " + key.error()};
    if (auto st = bottle::write_file_atomic(keys + "/" + repo.name, *key, 0600); !st) return st;
  }
  return bottle::write_file_atomic(config_path, render_gitgate_yaml(plan, layout), 0600);
}

}  // namespace bottle::orchestrator
