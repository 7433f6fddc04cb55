#include "proxy/pipeline.h"

#include <algorithm>
#include <cctype>

#include "common/ascii.h"
#include "common/dlp/decode.h"
#include "config/dlp_actions.h"
#include "proxy/evidence.h"

namespace bottle::proxy {
namespace {

Verdict& block(Verdict& v, BlockReason reason, std::string detail, int status = 403) {
  v.block = reason;
  v.status = status;
  v.detail = std::move(detail);
  return v;
}

// Host labels the agent chose: all of them for an unrouted host, those left of the suffix
// under a wildcard route, none for an exact route (the operator wrote that name). A label
// run long and mixed enough to be an encoded value is suspect even when no detector fires:
// DNS folds case, so a token's checksum no longer validates once lower-cased.
bool agent_labels_look_encoded(std::string_view host, const config::Route* route) {
  if (route && !route->wildcard) return false;
  if (route) host.remove_suffix(route->host.size() - 1);  // "*.wild.test" covers ".wild.test"
  return has_encoded_run(host);
}

// The host as sent, scanned before lower-casing; under a wildcard route the labels in
// front of the suffix are also read as data (hex, base32, base64url, chunked, random key
// material: the engine's scan_host_labels). A shape-only suspicion becomes a synthetic
// finding on the URL, so the evidence never carries the label.
std::vector<dlp::Finding> scan_host(const Snapshot& snap, const Authority& a,
                                    const config::Route* route) {
  std::vector<dlp::Finding> found;
  if (a.is_ip) return found;
  found = snap.scanner->scan(a.sent_host, dlp::Direction::outbound, "url");
  if (found.empty() && route && route->wildcard) {
    std::string_view labels = a.sent_host;
    labels.remove_suffix(std::min(labels.size(), route->host.size() - 1));  // "*.wild.test" covers ".wild.test"
    found = snap.scanner->scan_host_labels(labels, "url");
  }
  if (found.empty() && agent_labels_look_encoded(a.host, route)) {
    dlp::Finding f;
    f.detector = "egress.encoded_host_label";
    f.location = "url";
    f.snippet = masked_host(snap.scanner.get(), a.host);
    f.blocking = true;
    found.push_back(std::move(f));
  }
  return found;
}

// Stage 2's block. The host is the agent's to choose and may carry a secret
// ("<secret>.allowed.example"): when it does, the evidence names only the last two labels.
Verdict& block_unknown_host(Verdict& v, const Snapshot& snap) {
  v.findings = scan_host(snap, v.target, nullptr);
  std::string shown =
      v.findings.empty() ? v.target.host : masked_host(snap.scanner.get(), v.target.host);
  return block(v, BlockReason::host_not_allowed, "no route for " + shown);
}

// Stage 2 for a routed host: a wildcard route forwards whatever labels the agent put in
// front of its suffix, so they are scanned like the rest of the URL. The route's detector
// actions judge what is found.
bool stage_host_labels(Verdict& v, const Snapshot& snap) {
  if (v.route->dlp.outbound == config::DlpAction::off) return true;
  auto found = scan_host(snap, v.target, v.route);
  if (found.empty()) return true;
  const size_t from = v.findings.size();
  v.findings.insert(v.findings.end(), found.begin(), found.end());
  if (judge_findings(v.route->dlp, dlp::Direction::outbound, v.findings, from)) {
    block(v, BlockReason::dlp_outbound, "secret in the host name");
    return false;
  }
  return true;
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
bool stage_target(Verdict& v, const Snapshot& snap, const MessageHead& head,
                  const Arrival& arrival) {
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
      block(v, BlockReason::bad_request, "bad request target: " + url.error(), 400);
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
      const dlp::Scanner* scanner = snap.scanner.get();
      block(v, BlockReason::host_mismatch,
            "Host header '" + shown_host(scanner, h->host) + "' differs from '" +
                shown_host(scanner, v.target.host) + "'");
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

// Percent-decoded until nothing changes ("%256b" → "%6b" → "k"), lower-cased: the
// spelling a lenient server may act on.
std::string decoded_lower(std::string_view text) {
  std::string cur(text), next;
  for (int round = 0; round < 4 && cur.find('%') != std::string::npos; ++round) {
    next.clear();
    if (!dlp::percent_decode(cur, next) || next == cur) break;
    cur.swap(next);
  }
  return ascii_lower(cur);
}

// Stage 3: pushes go through git-gate, where they are scanned. Checked on the decoded,
// lower-cased path segments (";params" cut) and query, so no spelling slips past.
bool stage_policy(Verdict& v) {
  constexpr std::string_view kPush = "git-receive-pack";
  bool push = false;
  std::string path = decoded_lower(v.path);
  for (size_t start = 0; !push && start <= path.size();) {
    size_t slash = std::min(path.find('/', start), path.size());
    std::string_view seg = std::string_view(path).substr(start, slash - start);
    push = seg.substr(0, seg.find(';')) == kPush;
    start = slash + 1;
  }
  std::string_view q = v.query;
  while (!push && !q.empty()) {
    size_t amp = std::min(q.find('&'), q.size());
    std::string_view pair = q.substr(0, amp);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && decoded_lower(pair.substr(0, eq)) == "service") {
      push = decoded_lower(pair.substr(eq + 1)) == kPush;
    }
    q.remove_prefix(std::min(amp + 1, q.size()));
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
// dropped, never forwarded. Header names are the agent's too: scanned in one pass, and
// kept out of a finding's location when they carry something.
bool stage_dlp(Verdict& v, const Snapshot& snap, const MessageHead& head) {
  const config::DlpPolicy& policy = v.route->dlp;
  v.body_dlp = policy.outbound;
  v.max_body_bytes = policy.max_body_bytes;
  v.stream_large_bodies = policy.stream_large_bodies;
  if (policy.outbound == config::DlpAction::off) return true;
  std::string url = v.target.sent_host + v.origin_target;
  auto found = snap.scanner->scan(url, dlp::Direction::outbound, "url");
  if (found.empty() && v.route->wildcard) found = scan_host(snap, v.target, v.route);
  v.url_scanned = found.empty();
  v.findings.insert(v.findings.end(), found.begin(), found.end());
  std::string names;
  for (const auto& h : head.headers) names.append(h.name).append("\n");
  auto nf = snap.scanner->scan(names, dlp::Direction::outbound, "header_name");
  const bool names_carry = !nf.empty() || has_encoded_run(names);
  v.findings.insert(v.findings.end(), nf.begin(), nf.end());
  std::vector<std::string_view> values;
  for (const auto& h : head.headers) {
    std::string name = ascii_lower(h.name);
    if (!v.inject_name.empty() && name == v.inject_name) continue;
    auto hf = snap.scanner->scan(h.value, dlp::Direction::outbound,
                                 names_carry ? std::string("header:********") : "header:" + name);
    v.findings.insert(v.findings.end(), hf.begin(), hf.end());
    if (name != "host") values.push_back(h.value);
  }
  // A secret cut in pieces across header values or query parameters.
  auto split = snap.scanner->scan_split(values, "headers");
  auto query_split = snap.scanner->scan_split(query_values(v.query), "url");
  v.findings.insert(v.findings.end(), split.begin(), split.end());
  v.findings.insert(v.findings.end(), query_split.begin(), query_split.end());
  if (judge_findings(policy, dlp::Direction::outbound, v.findings)) {
    block(v, BlockReason::dlp_outbound, "secret in " + v.findings.front().location);
    return false;
  }
  return true;
}

// Stage 6's precondition (SPEC §4.2.10): a credential only travels inside TLS to the
// upstream. Plain http:// (any port) or plain HTTP inside a tunnel never gets it.
bool stage_cleartext(Verdict& v) {
  if (!v.route->auth || v.upstream_tls) return true;
  block(v, BlockReason::cleartext_credential,
        "route injects a credential but the request is not TLS to the upstream");
  return false;
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
  stage_host_labels(v, snap);
  return v;
}

Verdict evaluate_request(const Snapshot& snap, const MessageHead& head, const Arrival& arrival) {
  Verdict v;
  if (!stage_target(v, snap, head, arrival)) return v;
  if (!find_route_for_host(*snap.routes, v.target)) return block_unknown_host(v, snap);
  if (!stage_policy(v)) return v;
  if (!stage_route(v, snap, head)) return v;
  if (v.route->auth) v.inject_name = ascii_lower(v.route->auth->header);  // stage 6, applied on the wire
  if (!stage_dlp(v, snap, head)) return v;
  if (!stage_cleartext(v)) return v;
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
