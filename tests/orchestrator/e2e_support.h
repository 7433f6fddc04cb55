// Shared pieces of the CLI and end-to-end tests: the `bottle` binary under test, a
// throwaway BOTTLE_HOME, and a loopback upstream that echoes the Authorization header.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "orchestrator/process.h"

namespace bottle::orchestrator::testing {

inline std::string bottle_binary() {
  return BOTTLE_BINARY;
}

// Runs `bottle args...` with BOTTLE_HOME=home (and any extra "K=V" env), in `cwd` when
// given (project agents are found under <cwd>/.bot-bottle).
inline CaptureResult run_bottle(const std::string& home, const std::vector<std::string>& args,
                                const std::vector<std::string>& extra_env = {},
                                const std::string& cwd = "") {
  std::vector<std::string> argv = {"env", "BOTTLE_HOME=" + home};
  if (!cwd.empty()) argv.insert(argv.begin() + 1, {"-C", cwd});
  argv.insert(argv.end(), extra_env.begin(), extra_env.end());
  argv.push_back(bottle_binary());
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_capture(argv);
  return r ? *r : CaptureResult{-1, "", r.error()};
}

// The Python echo upstream from examples/, on 127.0.0.1:<any free port>.
class EchoUpstream {
 public:
  // With a certificate and key the upstream speaks HTTPS.
  explicit EchoUpstream(const std::string& cert = "", const std::string& key = "");
  ~EchoUpstream();
  EchoUpstream(const EchoUpstream&) = delete;
  EchoUpstream& operator=(const EchoUpstream&) = delete;
  int port() const { return port_; }
  bool ok() const { return port_ > 0; }

 private:
  ChildProcess child_;
  int port_ = 0;
};

}  // namespace bottle::orchestrator::testing
