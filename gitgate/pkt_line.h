// git's pkt-line framing and the git:// request (gitprotocol-pack(5), gitprotocol-v2(5)) as
// pure functions of bytes: the daemon, tests and the fuzzer call the same code.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace bottle::gitgate {

// git's LARGE_PACKET_MAX: the 4 length digits plus at most 65516 payload bytes.
inline constexpr size_t kMaxPktLength = 65520;

struct PktRead {
  enum class Status { need_more, data, flush, delim, response_end, error };
  Status status = Status::need_more;
  size_t consumed = 0;       // bytes of the input this packet used
  std::string_view payload;  // data packets: points into the input
  std::string error;         // Status::error: what is wrong, for an ERR answer
};

// Reads the packet at the front of `in`. Never reads past `in`; a length under 4 (other
// than the special 0000/0001/0002), over kMaxPktLength or not hex is an error.
PktRead read_pkt(std::string_view in);

// One data packet ("%04x" + payload). `payload` must be at most 65516 bytes.
std::string pkt_line(std::string_view payload);
inline constexpr std::string_view kFlushPkt = "0000";
// "ERR <message>": what a git:// server answers instead of a ref advertisement. The client
// prints "fatal: remote error: <message>". Cut to fit one packet.
std::string err_pkt(std::string_view message);

enum class Service { upload_pack, receive_pack };
std::string_view service_name(Service s);  // "git-upload-pack" | "git-receive-pack"

// The first packet of a git:// connection:
//   "git-upload-pack /app.git\0host=gate:9418\0" [ "\0version=2\0" ... ]
struct DaemonRequest {
  Service service = Service::upload_pack;
  std::string path;      // "/app.git" as sent
  std::string host;      // host parameter, may be empty
  std::string protocol;  // GIT_PROTOCOL value from the extra parameters ("version=2"), may be empty
};
Result<DaemonRequest> parse_daemon_request(std::string_view payload);

// "/app.git", "/app", "app.git/" -> "app". Empty when the path cannot name a configured
// repo (a slash inside, "..", "~user", bad characters), so traversal never reaches the disk.
std::string repo_name_from_path(std::string_view path);

// GIT_PROTOCOL as git accepts it from a client: colon-separated key[=value] items of
// [A-Za-z0-9._=-]; anything else is dropped.
std::string sanitize_git_protocol(std::string_view value);

}  // namespace bottle::gitgate
