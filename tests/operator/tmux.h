// A terminal for tests: a tmux server of its own (socket in a temp dir) running one
// command in a window of a fixed size, read with capture-pane, typed into with send-keys.
#pragma once

#include <string>
#include <vector>

#include "orchestrator/process.h"
#include "tests/supervise/harness.h"

namespace bottle::supervise::testing {

class Tmux {
 public:
  Tmux(const std::string& dir, const std::string& command) : socket_(dir + "/tmux.sock") {
    auto r = tmux({"new-session", "-d", "-x", "150", "-y", "45", command});
    ok_ = r.exit_code == 0;
    error_ = r.err;
  }
  ~Tmux() { tmux({"kill-server"}); }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  // Whether the command still runs (tmux ends the session when it exits).
  bool alive() { return tmux({"has-session", "-t", "0"}).exit_code == 0; }
  std::string screen() { return tmux({"capture-pane", "-p", "-t", "0"}).out; }
  // With the escape sequences of colours and attributes.
  std::string screen_with_escapes() { return tmux({"capture-pane", "-p", "-e", "-t", "0"}).out; }
  std::string title() { return tmux({"display-message", "-p", "-t", "0", "#{pane_title}"}).out; }
  bool wait_for(const std::string& text) {
    return eventually([&] { return screen().find(text) != std::string::npos; });
  }
  void keys(const std::string& keys) { tmux({"send-keys", "-t", "0", keys}); }

 private:
  CaptureResult tmux(std::vector<std::string> args) {
    args.insert(args.begin(), {"tmux", "-S", socket_, "-f", "/dev/null"});
    auto r = orchestrator::run_capture(args);
    return r ? *r : CaptureResult{-1, "", r.error()};
  }
  std::string socket_;
  bool ok_ = false;
  std::string error_;
};

}  // namespace bottle::supervise::testing
