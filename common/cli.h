// Command-line parsing with the exit conventions every binary shares (SPEC §3): --help
// and --version print and exit 0; a usage error prints one line,
// "<program>: usage: <what> (see --help)", and exits 2.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <optional>
#include <string>

namespace bottle {

// Returns the exit code when the program should stop now, nullopt when it goes on.
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                             const std::string& program) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --help-all, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: usage: %s (see %s --help)\n", program.c_str(), e.what(),
                 program.c_str());
    return 2;
  }
  return std::nullopt;
}

}  // namespace bottle
