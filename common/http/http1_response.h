// Bytes of HTTP/1.1 responses every server writes the same way: short complete answers
// (errors, admin pages) and chunked-body framing. The proxy's own head re-serialization
// lives in proxy/http1_wire.h.
#pragma once

#include <string>
#include <string_view>

namespace bottle {

// "Name: value\r\n".
void append_header(std::string& out, std::string_view name, std::string_view value);

// One chunk of a chunked body ("<hex>\r\n<data>\r\n"), and the terminator.
std::string chunk_frame(std::string_view data);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// A complete short response (errors, CONNECT answers) with Content-Length.
std::string simple_response(int status, std::string_view reason, std::string_view content_type,
                            std::string_view body, bool close, std::string_view extra_headers = {});

std::string_view reason_phrase(int status);

}  // namespace bottle
