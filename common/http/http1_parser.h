// HTTP/1.1 message parser (llhttp) as a pure state machine: bytes in, a parsed head and
// body chunks out. No sockets, so the same code runs in the proxy, in tests and in the
// fuzzer. The parser pauses after every head and after every message end, so the caller
// decides (policy, dialing upstream) before any body byte or pipelined request is read.
//
// Anything the proxy must refuse (SPEC §4.2 item 1) is an error with the HTTP status to
// answer: smuggling shapes (Content-Length + Transfer-Encoding, differing duplicate
// Content-Length, bad chunk sizes, obs-fold) → 400; a header block over 64 KiB → 431.
#pragma once

#include <llhttp.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bottle {

inline constexpr size_t kMaxHeaderBytes = 64 * 1024;

// Header names are ASCII tokens: compared case-insensitively without a locale or a copy.
inline bool header_name_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

struct Header {
  std::string name;   // as sent
  std::string value;  // trimmed of surrounding whitespace
};

struct MessageHead {
  // Request: method + target. Response: status + reason.
  std::string method;
  std::string target;
  int status = 0;
  std::string reason;
  int http_minor = 1;
  std::vector<Header> headers;
  bool keep_alive = true;
  bool chunked = false;
  std::optional<uint64_t> content_length;
  bool upgrade = false;  // Upgrade (e.g. websocket) or CONNECT: bytes after the head are opaque

  // All values of a header (case-insensitive name), joined by ", ", or nullopt.
  std::optional<std::string> header(std::string_view name) const;
  bool has_body() const { return chunked || content_length.value_or(0) > 0; }
};

class Http1Parser {
 public:
  enum class Kind { request, response };
  enum class Status {
    need_more,    // all input consumed, message still open
    head,         // a head is ready (take_head()); paused
    message_end,  // one message finished; paused (call resume_next() for the next one)
    upgrade,      // the head asked for an upgrade/CONNECT; remaining bytes are not HTTP
    error,        // error_status()/error_reason(); the connection must be closed
  };
  struct Outcome {
    Status status;
    size_t consumed;  // bytes of the input used; the caller keeps the rest for later
  };
  using BodySink = std::function<void(std::string_view)>;

  explicit Http1Parser(Kind kind);
  Http1Parser(const Http1Parser&) = delete;
  Http1Parser& operator=(const Http1Parser&) = delete;

  // Body chunks (de-chunked) are passed to `sink` during feed().
  void set_body_sink(BodySink sink) { body_sink_ = std::move(sink); }
  // Response parsing: the request was HEAD (or the status has no body).
  void expect_no_body() { skip_body_ = true; }

  Outcome feed(std::string_view data);
  // Connection closed by the peer: completes an EOF-delimited body. True if that ended a
  // message cleanly.
  bool finish();
  // After Status::message_end: get ready for the next message on the same connection.
  void resume_next();

  MessageHead take_head() { return std::move(head_); }
  // After Status::message_end: the trailer fields of a chunked body (RFC 9112 §7.1.2),
  // checked like the head's fields (tokens, no folding, within the same 64 KiB).
  std::vector<Header> take_trailers() { return std::move(trailers_); }
  bool needs_eof() const { return llhttp_message_needs_eof(&parser_) != 0; }
  int error_status() const { return error_status_; }
  const std::string& error_reason() const { return error_reason_; }
  bool in_message() const { return in_message_; }

 private:
  static int on_message_begin(llhttp_t* p);
  static int on_url(llhttp_t* p, const char* at, size_t n);
  static int on_status(llhttp_t* p, const char* at, size_t n);
  static int on_header_field(llhttp_t* p, const char* at, size_t n);
  static int on_header_value(llhttp_t* p, const char* at, size_t n);
  static int on_header_value_complete(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, size_t n);
  static int on_message_complete(llhttp_t* p);

  void fail(int status, std::string reason);
  Status check_head();
  // Where header fields go: the head's, or after the head the trailers.
  std::vector<Header>& fields() { return in_trailers_ ? trailers_ : head_.headers; }

  Kind kind_;
  llhttp_settings_t settings_{};
  llhttp_t parser_{};
  MessageHead head_;
  std::vector<Header> trailers_;
  bool in_trailers_ = false;  // the head is complete: fields now are trailers
  bool in_field_ = false;
  const char* feed_begin_ = nullptr;  // obs-fold detection looks one byte back
  char prev_last_byte_ = 0;
  bool in_message_ = false;
  bool skip_body_ = false;
  bool head_ready_ = false;
  bool message_done_ = false;
  size_t head_bytes_ = 0;  // bytes of the current head seen so far
  std::vector<std::string> content_lengths_;
  int error_status_ = 0;
  std::string error_reason_;
  BodySink body_sink_;
};

}  // namespace bottle
