#include "gitgate/http_route.h"

#include "common/ascii.h"

namespace bottle::gitgate {
namespace {

HttpRefusal refuse(int status, std::string message) {
  return {status, std::move(message)};
}

// The single `service=` parameter of an info/refs query, or "" when absent or repeated.
std::string service_param(std::string_view query) {
  std::string found;
  int count = 0;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    if (item.starts_with("service=")) {
      found = std::string(item.substr(8));
      ++count;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return count == 1 ? found : "";
}

}  // namespace

std::variant<HttpRoute, HttpRefusal> route_http(const MessageHead& head,
                                                const config::GateConfig& config) {
  std::string_view target = head.target;
  if (!target.starts_with('/')) return refuse(400, "request target must be a path");
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  if (path.find('%') != std::string_view::npos || path.find("//") != std::string_view::npos) {
    return refuse(400, "unexpected characters in the path");
  }

  HttpRoute route;
  std::string_view repo_part;
  std::string service;
  if (path.ends_with("/info/refs")) {
    route.kind = HttpRoute::Kind::advertisement;
    repo_part = path.substr(0, path.size() - 10);
    service = service_param(query);
    if (service.empty()) return refuse(403, "dumb HTTP is not served; use a smart git client");
  } else if (path.ends_with("/git-upload-pack") || path.ends_with("/git-receive-pack")) {
    route.kind = HttpRoute::Kind::rpc;
    size_t slash = path.rfind('/');
    repo_part = path.substr(0, slash);
    service = std::string(path.substr(slash + 1));
  } else {
    return refuse(
        404,
        "not a git smart HTTP path (/<repo>.git/info/refs, /git-upload-pack, /git-receive-pack)");
  }
  if (service == "git-upload-pack") {
    route.service = Service::upload_pack;
  } else if (service == "git-receive-pack") {
    route.service = Service::receive_pack;
  } else {
    return refuse(403, "service not served");
  }
  const std::string name = repo_name_from_path(repo_part);
  route.repo = name.empty() ? nullptr : config.find(name);
  if (!route.repo) return refuse(404, "no such repository on this gate");

  if (route.kind == HttpRoute::Kind::advertisement) {
    if (head.method != "GET") return refuse(405, "info/refs takes GET");
  } else {
    if (head.method != "POST") return refuse(405, std::string(service) + " takes POST");
    const std::string want = "application/x-" + service + "-request";
    if (ascii_lower(head.header("content-type").value_or("")) != want) {
      return refuse(415, "Content-Type must be " + want);
    }
    if (!head.chunked && !head.content_length)
      return refuse(400, "a request body needs Content-Length or chunked encoding");
    if (head.content_length && *head.content_length > kMaxDeclaredBody) {
      return refuse(413, "request body over 1 MiB declared; send it chunked");
    }
    const std::string encoding = ascii_lower(head.header("content-encoding").value_or(""));
    if (encoding == "gzip" || encoding == "x-gzip") {
      route.gzip = true;
    } else if (!encoding.empty() && encoding != "identity") {
      return refuse(415, "Content-Encoding must be gzip or identity");
    }
  }
  route.protocol = sanitize_git_protocol(head.header("git-protocol").value_or(""));
  return route;
}

}  // namespace bottle::gitgate
