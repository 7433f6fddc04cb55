// HTTP/1.1 requests for the MCP endpoint, without sockets: bytes in, whole requests out
// (head and body, bounded), on the shared llhttp parser (common/http/http1_parser.h).
// The transport and the fuzzer drive the same code. One request at a time: the reader
// stops after each, so pipelined bytes wait until the caller has answered.
//
// Refused input is an error with the status to answer: body over the cap (declared or
// streamed) → 413, header block over 64 KiB or more than 100 headers → 431, anything
// the parser rejects (bad framing, smuggling shapes, obs-fold) → 400. After an error the
// connection must be closed.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http/http1_parser.h"

namespace bottle::supervise {

inline constexpr size_t kMaxBodyBytes = 1 << 20;  // SPEC §7: 1 MiB
inline constexpr size_t kMaxHeaders = 100;

struct HttpRequest {
  std::string method;                                        // "POST"
  std::string target;                                        // "/mcp?x=1" as sent
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent, values trimmed
  std::string body;
  bool keep_alive = true;

  // All values of a header (name compared case-insensitively), joined by ", ".
  std::optional<std::string> header(std::string_view name) const;
  // The target without its query string.
  std::string_view path() const;
};

class RequestReader {
 public:
  enum class State { need_more, complete, failed };
  struct Outcome {
    State state;
    size_t consumed;  // bytes of the input used; the caller keeps the rest for later
  };

  explicit RequestReader(size_t max_body = kMaxBodyBytes);
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  // Parses until one request is complete (then stops), the input ends, or an error.
  Outcome feed(std::string_view data);
  // The completed request; the reader is then ready for the next one.
  HttpRequest take();

  // True once, after a head that sent `Expect: 100-continue` and was not refused: the
  // caller should write "HTTP/1.1 100 Continue" before waiting for the body.
  bool take_continue_request();
  // True while a request has started but is not complete (a close now loses it).
  bool in_request() const { return in_request_; }

  int error_status() const { return error_status_; }
  const std::string& error_reason() const { return error_reason_; }

 private:
  void fail(int status, std::string reason);

  size_t max_body_;
  Http1Parser parser_{Http1Parser::Kind::request};
  HttpRequest req_;
  bool in_request_ = false;
  bool complete_ = false;
  bool continue_pending_ = false;
  bool body_too_large_ = false;
  int error_status_ = 0;
  std::string error_reason_;
};

// Serializes one complete response (Content-Length framing). `extra_headers` are
// "Name: value" pairs.
std::string http_response(int status, std::string_view content_type, std::string_view body,
                          const std::vector<std::pair<std::string, std::string>>& extra_headers,
                          bool close);

}  // namespace bottle::supervise
