// Usage errors CLI11 words badly. `bottle bogus` would say "A subcommand is required";
// the operator needs to hear which word was not understood, and what was meant.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace bottle::orchestrator {

// Follows the words of argv through the subcommand tree; the first word that stands where
// a subcommand is expected and names none gives "unknown command 'bogus' (did you mean
// 'list'?)" (for a nested one, "unknown command 'proposals bogus' ..."). Stops at the
// first option or at a subcommand that has none of its own. Words that end where a
// command is required give "a command is required (start, run, ...)".
std::optional<std::string> subcommand_problem(const CLI::App& app, int argc, char** argv);

}  // namespace bottle::orchestrator
