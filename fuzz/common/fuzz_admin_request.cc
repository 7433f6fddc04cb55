// The admin listener's answer to any request head. Invariants: no crash, and every answer
// is one complete HTTP/1.1 response whose status is one the listener documents.
#include <uv.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/http/admin_server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bottle::AdminServer server(uv_default_loop(),
                                          {[] { return std::string("egress_requests_total 0\n"); },
                                           [] { return std::string("routes: []\n"); },
                                           [] { return std::string("{}\n"); }});
  const std::string_view head(reinterpret_cast<const char*>(data), size);
  const std::string reply = server.answer(head);
  const std::string_view status = std::string_view(reply).substr(0, 12);
  if (status != "HTTP/1.1 200" && status != "HTTP/1.1 400" && status != "HTTP/1.1 404" &&
      status != "HTTP/1.1 405") {
    std::abort();
  }
  if (reply.find("\r\n\r\n") == std::string::npos) std::abort();
  return 0;
}
