// Listening sockets for every daemon (SPEC §2): `--listen host:port`, `--listen [v6]:port`,
// `--listen fd:N` (a socket the parent already bound, e.g. inside the agent's network
// namespace), and the systemd LISTEN_FDS / LISTEN_PID / LISTEN_FDNAMES convention.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace bottle {

struct ListenSpec {
  enum class Kind { address, fd };
  Kind kind = Kind::address;
  std::string host;   // address form: literal IPv4/IPv6 (no brackets), or "localhost"
  uint16_t port = 0;  // address form
  int fd = -1;        // fd form
  std::string to_string() const;
};

// Parses "127.0.0.1:9099", "[::1]:9099", "localhost:9099" or "fd:3".
Result<ListenSpec> parse_listen_spec(std::string_view text);

// Returns a listening, non-blocking, close-on-exec socket: binds the address (with
// SO_REUSEADDR, and SO_REUSEPORT when `reuseport`), or validates and adopts the fd.
// Errors name the address and the reason ("127.0.0.1:9099: address already in use").
Result<int> open_listener(const ListenSpec& spec, bool reuseport = false, int backlog = 1024);

// Sockets passed by the systemd convention: LISTEN_PID must equal getpid() (or be
// absent), LISTEN_FDS=n gives fds 3..3+n-1, LISTEN_FDNAMES optionally names them.
// The variables are unset afterwards so children do not inherit them.
struct PassedFd {
  int fd;
  std::string name;
};
std::vector<PassedFd> take_listen_fds();

// Bound local port of a socket (0 on error). Lets tests use port 0 and read it back.
uint16_t local_port(int fd);

}  // namespace bottle
