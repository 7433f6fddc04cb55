// One non-blocking readiness check (tcp connect, or HTTP GET expecting 2xx), driven by
// init's poll loop so a slow daemon never stalls log relaying or signal handling.
#pragma once

#include <poll.h>

#include <string>

#include "init/config.h"
#include "common/unique_fd.h"

namespace bottle::init {

class ReadinessCheck {
 public:
  enum class Outcome { pending, ready, failed };

  // Starts connecting; failed() right away if the socket cannot be created.
  explicit ReadinessCheck(const ReadyProbe& probe);

  int fd() const { return fd_.get(); }
  short events() const { return connected_ ? POLLIN : POLLOUT; }
  Outcome outcome() const { return outcome_; }
  // Advances on a poll event for fd().
  Outcome on_event(short revents);

 private:
  Outcome finish(Outcome o);

  ReadyProbe probe_;
  UniqueFd fd_;
  bool connected_ = false;
  bool sent_ = false;
  std::string response_;
  Outcome outcome_ = Outcome::pending;
};

}  // namespace bottle::init
