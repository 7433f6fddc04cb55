#include "orchestrator/cli_usage.h"

#include <vector>

#include "common/strict_yaml.h"  // did_you_mean

namespace bottle::orchestrator {
namespace {

std::string names_of(const std::vector<const CLI::App*>& subs) {
  std::string all;
  for (const CLI::App* s : subs) all += (all.empty() ? "" : ", ") + s->get_name();
  return all;
}

}  // namespace

std::optional<std::string> subcommand_problem(const CLI::App& app, int argc, char** argv) {
  const CLI::App* current = &app;
  std::string path;
  for (int i = 1;; ++i) {
    auto subs = current->get_subcommands([](const CLI::App*) { return true; });
    if (subs.empty()) return std::nullopt;
    if (i >= argc) {
      if (current->get_require_subcommand_min() == 0) return std::nullopt;
      return (path.empty() ? std::string("a command is required")
                           : "'" + path + "' needs a command") +
             " (" + names_of(subs) + ")";
    }
    const std::string word = argv[i];
    if (word.empty() || word[0] == '-') return std::nullopt;
    std::vector<std::string> names;
    const CLI::App* next = nullptr;
    for (const CLI::App* s : subs) {
      names.push_back(s->get_name());
      if (s->get_name() == word) next = s;
    }
    path += (path.empty() ? "" : " ") + word;
    if (!next) {
      // A suggestion that does not even start like the word is a guess, not a typo.
      std::string dm = did_you_mean(word, names);
      if (!dm.empty() && dm[0] == word[0])
        return "unknown command '" + path + "' (did you mean '" + dm + "'?)";
      return "unknown command '" + path + "' (commands: " + names_of(subs) + ")";
    }
    current = next;
  }
}

}  // namespace bottle::orchestrator
