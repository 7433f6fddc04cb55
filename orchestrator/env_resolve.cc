#include "orchestrator/env_resolve.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace bottle::orchestrator {

EnvSources process_env_sources() {
  EnvSources s;
  s.host = [](const std::string& n) -> std::optional<std::string> {
    const char* v = std::getenv(n.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
  s.ask = [](const std::string& name) -> std::optional<std::string> {
    if (!::isatty(STDIN_FILENO)) return std::nullopt;
    std::fprintf(stderr, "bottle: value for %s (not echoed): ", name.c_str());
    std::fflush(stderr);
    termios old{};
    bool restore = ::tcgetattr(STDIN_FILENO, &old) == 0;
    if (restore) {
      termios quiet = old;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    std::string line;
    std::getline(std::cin, line);
    if (restore) ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fprintf(stderr, "\n");
    return line;
  };
  return s;
}

Result<std::vector<std::string>> resolve_env(const std::vector<PlanEnv>& env,
                                             const EnvSources& src) {
  std::vector<std::string> out;
  for (const auto& e : env) {
    switch (e.value.kind) {
      case EnvValue::Kind::literal:
        out.push_back(e.name + "=" + e.value.text);
        break;
      case EnvValue::Kind::host: {
        auto v = src.host ? src.host(e.value.text) : std::nullopt;
        if (!v) {
          return Error{"env " + e.name + ": host variable " + e.value.text +
                       " is not set (export it before starting the bottle)"};
        }
        out.push_back(e.name + "=" + *v);
        break;
      }
      case EnvValue::Kind::prompt: {
        auto v = src.ask ? src.ask(e.name) : std::nullopt;
        if (!v) {
          return Error{"env " + e.name +
                       " is \"?prompt\" but there is no terminal to ask on; "
                       "run `bottle start` interactively or set the value in the bottle"};
        }
        out.push_back(e.name + "=" + *v);
        break;
      }
    }
  }
  return out;
}

Result<std::vector<std::string>> resolve_token_slots(const Plan& plan, const EnvSources& src) {
  std::vector<std::string> out;
  for (const auto& t : plan.token_slots) {
    auto v = src.host ? src.host(t.host_env) : std::nullopt;
    if (!v || v->empty()) {
      return Error{"credential variable " + t.host_env +
                   " is not set in the host environment "
                   "(the bottle's routes inject it; export it first)"};
    }
    out.push_back(t.slot + "=" + *v);
  }
  return out;
}

}  // namespace bottle::orchestrator
