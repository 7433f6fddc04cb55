#include "proxy/pipeline.h"

#include <algorithm>
#include <cctype>

#include "common/ascii.h"
#include "proxy/dlp_policy.h"
#include "proxy/evidence.h"

namespace bottle::proxy {
namespace {

Verdict& block(Verdict& v, BlockReason reason, std::string detail, int status = 403) {
  v.block = reason;
  v.status = status;
  v.detail = std::move(detail);
  return v;
}

// A DNS label long and mixed enough to be an encoded value rather than a name. Hosts
// arrive lower-cased, which breaks the checksums DLP validates tokens with, so the
// shape alone decides for labels.
bool label_may_hold_secret(std::string_view label) {
  bool letter = false, digit = false;
  for (char c : label) {
    letter |= std::isalpha(static_cast<unsigned char>(c)) != 0;
    digit |= std::isdigit(static_cast<unsigned char>(c)) != 0;
  }
  return label.size() >= 16 && letter && digit;
}

// Stage 2's block. The host is the agent's to choose and may carry a secret
// ("<secret>.allowed.example"): it is scanned like a URL, and when DLP or the label
// shape says so, the evidence names only the last two labels.
Verdict& block_unknown_host(Verdict& v, const Snapshot& snap) {
  std::string_view host = v.target.host;
  bool suspicious = false;
  if (!v.target.is_ip) {
    for (size_t start = 0; start < host.size();) {
      size_t dot = std::min(host.find('.', start), host.size());
      suspicious |= label_may_hold_secret(host.substr(start, dot - start));
      start = dot + 1;
    }
  }
  if (snap.scanner) {
    auto found = snap.scanner->scan(host, dlp::Direction::outbound, "url");
    suspicious |= !found.empty();
    v.findings = std::move(found);
  }
  if (suspicious && v.findings.empty()) {
    // No detector fired, but the evidence must still not carry the label: a synthetic
    // finding on the URL makes the logger redact host and path.
    dlp::Finding f;
    f.detector = "egress.encoded_host_label";
    f.location = "url";
    f.snippet = loggable_host(host);
    f.blocking = true;
    v.findings.push_back(std::move(f));
  }
  std::string shown = suspicious ? loggable_host(host) : std::string(host);
  return block(v, BlockReason::host_not_allowed, "no route for " + shown);
}

// The labels of `host` (as the agent wrote it, case kept) below a wildcard route's suffix:
// "aGVsbG8.d29ybGQ" of "aGVsbG8.d29ybGQ.example.com" under "*.example.com".
std::string_view labels_below(const config::Route& route, std::string_view host) {
  const std::string_view suffix = std::string_view(route.host).substr(1);  // ".example.com"
  if (host.size() <= suffix.size() || ascii_lower(host.substr(host.size() - suffix.size())) != suffix) return {};
  return host.substr(0, host.size() - suffix.size());
}

// The host part of an authority or absolute URL as sent ("HoSt" of "http://HoSt:80/x").
std::string_view raw_host(std::string_view s) {
  if (const size_t scheme = s.find("://"); scheme != std::string_view::npos) s.remove_prefix(scheme + 3);
  return s.substr(0, std::min(s.find_first_of(":/?#"), s.size()));
}

// Data encoded into the DNS labels of a host under a routed wildcard: stage 5's check,
// also run at CONNECT time before a tunnel exists.
std::vector<dlp::Finding> host_label_findings(const Snapshot& snap, const config::Route& route, std::string_view host) {
  if (!route.wildcard || route.dlp.outbound == config::DlpAction::off || !snap.scanner) return {};
  const std::string_view labels = labels_below(route, raw_host(host));
  if (labels.empty()) return {};
  return snap.scanner->scan_host_labels(labels, "url");
}

// The values of a query string, in order (the names stay: a split needs only the values).
std::vector<std::string_view> query_values(std::string_view query) {
  std::vector<std::string_view> out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (const size_t eq = pair.find('='); eq != std::string_view::npos) out.push_back(pair.substr(eq + 1));
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  return out;
}

// Stage 2. Wildcards never cover an IP literal: only a route naming it does.
const config::Route* find_route_for_host(const config::RouteTable& table, const Authority& a) {
  const config::Route* route = table.find_host(a.host, a.port);
  if (route && a.is_ip && (route->wildcard || route->host != a.host)) return nullptr;
  return route;
}

// Stage 1: fills v.target, v.upstream_tls, v.path, v.query, v.origin_target.
bool stage_target(Verdict& v, const MessageHead& head, const Arrival& arrival) {
  std::string_view target = head.target;
  std::string path_and_query;
  if (!target.empty() && target.front() == '/') {
    if (!arrival.tunnel) {
      block(v, BlockReason::bad_request, "origin-form request outside a tunnel", 400);
      return false;
    }
    v.target = *arrival.tunnel;
    v.upstream_tls = arrival.tls;
    path_and_query = std::string(target);
  } else {
    auto url = parse_absolute_url(target);
    if (!url) {
      block(v, BlockReason::bad_request, url.error(), 400);
      return false;
    }
    v.target = url->authority;
    v.upstream_tls = url->https;
    path_and_query = std::move(url->path_and_query);
    if (arrival.tunnel &&
        (arrival.tunnel->host != v.target.host || arrival.tunnel->port != v.target.port)) {
      block(v, BlockReason::host_mismatch, "URL authority differs from the CONNECT authority");
      return false;
    }
  }
  // The Host header must name the same host we route on: an upstream that picks its
  // virtual host from Host must not be steered somewhere the route did not allow.
  auto host_header = head.header("host");
  if (!host_header) {
    if (arrival.tunnel && (target.empty() || target.front() == '/')) {
      block(v, BlockReason::bad_request, "missing Host header", 400);
      return false;
    }
  } else {
    auto h = parse_authority(*host_header, v.target.port);
    if (!h) {
      block(v, BlockReason::bad_request, "bad Host header: " + h.error(), 400);
      return false;
    }
    if (h->host != v.target.host || h->port != v.target.port) {
      block(v, BlockReason::host_mismatch,
            "Host header '" + h->host + "' differs from '" + v.target.host + "'");
      return false;
    }
  }
  std::string_view path, query;
  split_target(path_and_query, path, query);
  v.path = config::normalize_path(path);
  v.query = std::string(query);
  v.origin_target = v.path;
  if (!query.empty()) v.origin_target.append("?").append(query);
  return true;
}

// Stage 3: pushes go through git-gate, where they are scanned.
bool stage_policy(Verdict& v) {
  bool push = v.path.ends_with("/git-receive-pack");
  std::string_view q = v.query;
  for (size_t pos = q.find("service=git-receive-pack"); !push && pos != std::string_view::npos;
       pos = q.find("service=git-receive-pack", pos + 1)) {
    push = pos == 0 || q[pos - 1] == '&';
  }
  if (push) {
    block(v, BlockReason::git_push_via_proxy, "git push must go through git-gate");
    return false;
  }
  return true;
}

// Stage 4.
bool stage_route(Verdict& v, const Snapshot& snap, const MessageHead& head) {
  config::RequestView req;
  req.host = v.target.host;
  req.port = v.target.port;
  req.method = head.method;
  req.path = v.path;
  req.query = v.query;
  req.header = [&head](std::string_view name) { return head.header(name); };
  config::MatchResult m = snap.routes->match(req);
  v.route = m.route;
  if (m.outcome == config::MatchOutcome::host_not_allowed || !m.route ||
      (v.target.is_ip && (m.route->wildcard || m.route->host != v.target.host))) {
    v.route = nullptr;
    block_unknown_host(v, snap);
    return false;
  }
  if (m.outcome == config::MatchOutcome::route_not_matched) {
    block(v, BlockReason::route_not_matched, "no match entry of the route allows this request");
    return false;
  }
  return true;
}

// Stage 5. The header the route injects into is skipped: whatever the agent put there is
// dropped, never forwarded.
bool stage_dlp(Verdict& v, const Snapshot& snap, const MessageHead& head) {
  const config::DlpPolicy& policy = v.route->dlp;
  v.body_dlp = policy.outbound;
  v.max_body_bytes = policy.max_body_bytes;
  v.stream_large_bodies = policy.stream_large_bodies;
  if (policy.outbound == config::DlpAction::off || !snap.scanner) return true;
  auto add = [&v](std::vector<dlp::Finding> found) {
    v.findings.insert(v.findings.end(), std::make_move_iterator(found.begin()), std::make_move_iterator(found.end()));
  };
  std::string url = v.target.host + v.origin_target;
  add(snap.scanner->scan(url, dlp::Direction::outbound, "url"));
  std::vector<std::string_view> values;
  for (const auto& h : head.headers) {
    std::string name = ascii_lower(h.name);
    if (!v.inject_name.empty() && name == v.inject_name) continue;
    add(snap.scanner->scan(h.value, dlp::Direction::outbound, "header:" + name));
    if (name != "host") values.push_back(h.value);
  }
  // A secret cut in pieces across header values or query parameters, and data in the
  // labels of a host under a wildcard route.
  add(snap.scanner->scan_split(values, "headers"));
  add(snap.scanner->scan_split(query_values(v.query), "url"));
  const auto host = head.header("host");
  add(host_label_findings(snap, *v.route, !head.target.empty() && head.target.front() == '/' && host ? std::string_view(*host)
                                                                            : std::string_view(head.target)));
  if (judge_findings(policy, dlp::Direction::outbound, v.findings)) {
    block(v, BlockReason::dlp_outbound, "secret in " + v.findings.front().location);
    return false;
  }
  return true;
}

}  // namespace

Verdict evaluate_connect(const Snapshot& snap, std::string_view authority) {
  Verdict v;
  auto a = parse_authority(authority, 443);
  if (!a) return block(v, BlockReason::bad_request, "CONNECT " + a.error(), 400);
  v.target = std::move(a.value());
  v.upstream_tls = true;
  v.route = find_route_for_host(*snap.routes, v.target);
  if (!v.route) return block_unknown_host(v, snap);
  v.findings = host_label_findings(snap, *v.route, authority);
  if (judge_findings(v.route->dlp, dlp::Direction::outbound, v.findings)) {
    return block(v, BlockReason::dlp_outbound, "data in the host's labels");
  }
  return v;
}

Verdict evaluate_request(const Snapshot& snap, const MessageHead& head, const Arrival& arrival) {
  Verdict v;
  if (!stage_target(v, head, arrival)) return v;
  if (!find_route_for_host(*snap.routes, v.target)) return block_unknown_host(v, snap);
  if (!stage_policy(v)) return v;
  if (!stage_route(v, snap, head)) return v;
  if (v.route->auth) v.inject_name = ascii_lower(v.route->auth->header);  // stage 6, applied on the wire
  if (!stage_dlp(v, snap, head)) return v;
  v.websocket = head.upgrade;
  if (v.route->dlp.inbound != config::DlpAction::off) {
    if (auto ae = head.header("accept-encoding")) v.accept_encoding = scannable_encodings(*ae);
  }
  return v;
}

std::string scannable_encodings(std::string_view accept_encoding) {
  std::string out;
  std::string_view rest = accept_encoding;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    std::string name = ascii_lower(item.substr(0, item.find(';')));
    while (!name.empty() && name.back() == ' ') name.pop_back();
    if (name != "gzip" && name != "x-gzip" && name != "deflate" && name != "br" &&
        name != "identity")
      continue;
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out.empty() ? "identity" : out;
}

std::string_view injected_value(const Verdict& v) {
  if (!v.route || !v.route->auth) return {};
  return v.route->auth->header_value;
}

}  // namespace bottle::proxy
