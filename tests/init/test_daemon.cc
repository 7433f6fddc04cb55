// A tiny daemon for bottle-init's process tests: serves the socket init handed over as
// fd 3 (the LISTEN_FDS convention), which a shell script cannot do.
//   test_daemon accept-fd3 <file>   write "pid=<n> listen_fds=<v> listen_pid_ok=<0|1>" to the
//                                   file and to every client that connects
//   test_daemon http-fd3 <status>   answer every HTTP request with that status
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: test_daemon accept-fd3 FILE | http-fd3 STATUS\n");
    return 2;
  }
  const std::string mode = argv[1];
  const char* fds = std::getenv("LISTEN_FDS");
  const char* pid = std::getenv("LISTEN_PID");
  const bool pid_ok = pid && std::atol(pid) == static_cast<long>(getpid());
  std::string reply;
  if (mode == "accept-fd3") {
    reply = "pid=" + std::to_string(getpid()) + " listen_fds=" + (fds ? fds : "unset") +
            " listen_pid_ok=" + (pid_ok ? "1" : "0") + "\n";
    std::ofstream(argv[2]) << reply;
  } else if (mode == "http-fd3") {
    reply = std::string("HTTP/1.0 ") + argv[2] + " X\r\nContent-Length: 0\r\n\r\n";
  } else {
    std::fprintf(stderr, "test_daemon: unknown mode %s\n", mode.c_str());
    return 2;
  }
  for (;;) {
    const int c = accept(3, nullptr, nullptr);
    if (c < 0) {
      std::perror("test_daemon: accept on fd 3");
      return 1;
    }
    if (mode == "http-fd3") {
      char buf[1024];
      (void)!read(c, buf, sizeof buf);
    }
    (void)!write(c, reply.data(), reply.size());
    close(c);
  }
}
