#include "gitgate/pkt_line.h"

#include <algorithm>
#include <cstdio>

#include "config/gate_config.h"

namespace bottle::gitgate {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool protocol_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '=';
}

}  // namespace

PktRead read_pkt(std::string_view in) {
  PktRead r;
  if (in.size() < 4) return r;
  size_t len = 0;
  for (int i = 0; i < 4; ++i) {
    int d = hex_digit(in[i]);
    if (d < 0) {
      r.status = PktRead::Status::error;
      r.error = "bad pkt-line length";
      return r;
    }
    len = len * 16 + static_cast<size_t>(d);
  }
  if (len < 4) {
    r.consumed = 4;
    switch (len) {
      case 0:
        r.status = PktRead::Status::flush;
        break;
      case 1:
        r.status = PktRead::Status::delim;
        break;
      case 2:
        r.status = PktRead::Status::response_end;
        break;
      default:
        r.status = PktRead::Status::error;
        r.error = "bad pkt-line length";
    }
    return r;
  }
  if (len > kMaxPktLength) {
    r.status = PktRead::Status::error;
    r.error = "pkt-line longer than 65520 bytes";
    return r;
  }
  if (in.size() < len) return r;
  r.status = PktRead::Status::data;
  r.consumed = len;
  r.payload = in.substr(4, len - 4);
  return r;
}

std::string pkt_line(std::string_view payload) {
  char head[8];
  std::snprintf(head, sizeof head, "%04zx", payload.size() + 4);
  std::string out(head, 4);
  out.append(payload);
  return out;
}

std::string err_pkt(std::string_view message) {
  std::string text = "ERR " + std::string(message.substr(0, kMaxPktLength - 4 - 5));
  if (!text.ends_with('\n')) text += '\n';
  return pkt_line(text);
}

std::string_view service_name(Service s) {
  return s == Service::upload_pack ? "git-upload-pack" : "git-receive-pack";
}

Result<DaemonRequest> parse_daemon_request(std::string_view payload) {
  DaemonRequest req;
  size_t nul = payload.find('\0');
  std::string_view command = payload.substr(0, nul);
  if (command.ends_with('\n')) command.remove_suffix(1);
  size_t space = command.find(' ');
  if (space == std::string_view::npos) return Error{"expected '<service> <path>'"};
  std::string_view service = command.substr(0, space);
  if (service == "git-upload-pack") {
    req.service = Service::upload_pack;
  } else if (service == "git-receive-pack") {
    req.service = Service::receive_pack;
  } else {
    return Error{"service not served: " + std::string(service.substr(0, 40))};
  }
  req.path = std::string(command.substr(space + 1));
  if (req.path.empty()) return Error{"no repository path"};
  if (nul == std::string_view::npos) return req;
  // host-parameter NUL, then optionally NUL extra-parameter NUL ...
  std::string_view rest = payload.substr(nul + 1);
  size_t end = rest.find('\0');
  std::string_view host = rest.substr(0, end);
  if (host.starts_with("host=")) {
    req.host = std::string(host.substr(5));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  }
  if (!rest.starts_with('\0')) return req;  // no extra parameters
  rest.remove_prefix(1);
  std::string protocol;
  while (!rest.empty()) {
    size_t e = rest.find('\0');
    std::string_view item = rest.substr(0, e);
    if (!item.empty() && std::all_of(item.begin(), item.end(), protocol_char)) {
      protocol += (protocol.empty() ? "" : ":") + std::string(item);
    }
    if (e == std::string_view::npos) break;
    rest.remove_prefix(e + 1);
  }
  // The same rule as for GIT_PROTOCOL from HTTP (items of at most 64 characters).
  req.protocol = sanitize_git_protocol(protocol);
  return req;
}

std::string repo_name_from_path(std::string_view path) {
  if (path.starts_with('/')) path.remove_prefix(1);
  if (path.ends_with('/')) path.remove_suffix(1);
  if (path.ends_with(".git")) path.remove_suffix(4);
  if (!config::valid_repo_name(path)) return "";
  return std::string(path);
}

std::string sanitize_git_protocol(std::string_view value) {
  std::string out;
  while (!value.empty()) {
    size_t colon = value.find(':');
    std::string_view item = value.substr(0, colon);
    if (!item.empty() && item.size() <= 64 &&
        std::all_of(item.begin(), item.end(), protocol_char)) {
      out += (out.empty() ? "" : ":") + std::string(item);
    }
    if (colon == std::string_view::npos) break;
    value.remove_prefix(colon + 1);
  }
  return out;
}

}  // namespace bottle::gitgate
