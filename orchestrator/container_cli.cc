#include "orchestrator/container_cli.h"

#include <cstdlib>
#include <filesystem>

namespace bottle::orchestrator {

namespace {

const char* variable(CliWait wait) {
  return wait == CliWait::quick ? "BOTTLE_CLI_TIMEOUT" : "BOTTLE_CLI_SLOW_TIMEOUT";
}

}  // namespace

std::chrono::milliseconds cli_timeout(CliWait wait) {
  const double fallback = wait == CliWait::quick ? 60 : 900;
  const char* env = std::getenv(variable(wait));
  const double seconds = env && *env && std::atof(env) > 0 ? std::atof(env) : fallback;
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

std::string cli_command_name(const std::vector<std::string>& argv) {
  if (argv.empty()) return "";
  std::string name = std::filesystem::path(argv[0]).filename().string();
  // Skip global options with a value (`-p P -f F`, `--namespace NS`), stop at the first
  // other flag or after two words.
  int words = 0;
  for (size_t i = 1; i < argv.size() && words < 2; ++i) {
    const std::string& a = argv[i];
    if (a == "-p" || a == "-f" || a == "--namespace") {
      ++i;
      continue;
    }
    if (a.empty() || a[0] == '-') break;
    name += " " + a;
    ++words;
  }
  return name;
}

Result<CaptureResult> run_cli(const std::vector<std::string>& argv, CliWait wait,
                              const std::string& stdin_data,
                              const std::vector<std::string>& add_env) {
  const auto bound = cli_timeout(wait);
  auto r = run_capture(argv, stdin_data, add_env, bound);
  if (!r && r.error().rfind("timed out", 0) == 0) {
    return Error{"`" + cli_command_name(argv) + "` timed out after " + seconds_text(bound) +
                 " (" + variable(wait) + ")"};
  }
  return r;
}

}  // namespace bottle::orchestrator
