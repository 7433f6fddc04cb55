#include "supervise/mcp.h"

#include <algorithm>
#include <random>

#include "common/ascii.h"
#include "common/log.h"
#include "common/version.h"

namespace bottle::supervise {
namespace {

using nlohmann::json;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Media types of a header like Accept or Content-Type, lower-case, without parameters.
std::vector<std::string> media_types(const std::optional<std::string>& header) {
  std::vector<std::string> out;
  if (!header) return out;
  std::string_view rest = *header;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    out.push_back(ascii_lower(trim(item.substr(0, item.find(';')))));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// "host", "host:port", "[::1]:port" → host (no brackets), lower-case; "" if malformed.
std::string authority_host(std::string_view authority) {
  if (authority.empty()) return "";
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return "";
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return "";
    return ascii_lower(authority.substr(1, close - 1));
  }
  std::string_view host = authority.substr(0, authority.find(':'));
  return ascii_lower(host);
}

bool valid_id(const json& id) {
  return id.is_string() || id.is_number_integer() || id.is_number_unsigned();
}

json text_result(const ToolResult& r) {
  return json{{"content", json::array({json{{"type", "text"}, {"text", r.text}}})},
              {"isError", r.is_error}};
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string new_session_id() {
  std::random_device rd;
  std::string id;
  char buf[9];
  for (int i = 0; i < 4; ++i) {
    std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
    id += buf;
  }
  return id;
}

}  // namespace

json rpc_error(const json& id, int code, std::string_view message) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

// One tools/call: answers on its exchange as JSON, or as an SSE stream once progress is
// reported to a client that asked for it (Accept: text/event-stream and a progressToken).
class McpServer::PendingCall : public ToolCall {
 public:
  PendingCall(std::shared_ptr<Exchange> ex, json id, std::optional<json> token, bool events_ok)
      : ex_(std::move(ex)), id_(std::move(id)), token_(std::move(token)), events_ok_(events_ok) {}

  ~PendingCall() override {
    // A tool that dropped its call without an answer must not leave the client hanging.
    if (!done_ && !cancelled_ && ex_->open()) {
      ex_->reply(500, "application/json", dump(rpc_error(id_, kInternalError, "tool call lost")),
                 {});
    }
  }

  void progress(double progress, std::optional<double> total, std::string message) override {
    if (done_ || cancelled_ || !token_ || !events_ok_ || !ex_->open()) return;
    if (progress <= last_progress_) return;  // the spec requires growth
    last_progress_ = progress;
    if (!streaming_) {
      ex_->start_events({{"Cache-Control", "no-cache"}});
      streaming_ = true;
    }
    json params{{"progressToken", *token_}, {"progress", progress}};
    if (total) params["total"] = *total;
    if (!message.empty()) params["message"] = std::move(message);
    ex_->event(json{{"jsonrpc", "2.0"}, {"method", "notifications/progress"}, {"params", params}});
  }

  void finish(ToolResult result) override {
    if (done_ || cancelled_) return;
    done_ = true;
    json response{{"jsonrpc", "2.0"}, {"id", id_}, {"result", text_result(result)}};
    if (streaming_) {
      ex_->event(response);
      ex_->end_events();
    } else {
      ex_->reply(200, "application/json", dump(response), {});
    }
  }

  void on_cancel(std::function<void()> fn) override { cancel_fn_ = std::move(fn); }
  bool cancelled() const override { return cancelled_; }
  bool done() const { return done_; }

  // Client gone, notifications/cancelled or the session ended.
  void cancel() {
    if (done_ || cancelled_) return;
    cancelled_ = true;
    if (ex_->open()) {
      if (streaming_) {
        ex_->end_events();
      } else {
        ex_->abort();  // JSON-RPC says a cancelled request gets no response
      }
    }
    if (auto fn = std::move(cancel_fn_)) fn();
  }

 private:
  std::shared_ptr<Exchange> ex_;
  json id_;
  std::optional<json> token_;
  bool events_ok_;
  bool streaming_ = false;
  bool done_ = false;
  bool cancelled_ = false;
  double last_progress_ = -1;
  std::function<void()> cancel_fn_;
};

struct McpServer::Session {
  std::string id;
  std::string version;
  bool initialized = false;
  uint64_t last_used = 0;
  std::map<std::string, std::weak_ptr<PendingCall>> calls;  // by dumped request id

  void cancel_all() {
    auto calls_now = std::move(calls);
    for (auto& [id, weak] : calls_now) {
      if (auto c = weak.lock()) c->cancel();
    }
  }
  bool busy() {
    for (auto it = calls.begin(); it != calls.end();) {
      auto c = it->second.lock();
      if (!c || c->done() || c->cancelled()) {
        it = calls.erase(it);
      } else {
        ++it;
      }
    }
    return !calls.empty();
  }
};

McpServer::McpServer(ToolHost& tools, McpOptions options)
    : tools_(tools), options_(std::move(options)) {
  for (auto& h : options_.allowed_hosts) h = ascii_lower(h);
}

McpServer::~McpServer() {
  for (auto& [id, s] : sessions_) s->cancel_all();
}

bool McpServer::host_allowed(const HttpRequest& req) const {
  auto allowed = [&](const std::string& host) {
    return !host.empty() && contains(options_.allowed_hosts, host);
  };
  auto host = req.header("host");
  if (!host || !allowed(authority_host(trim(*host)))) return false;
  if (auto origin = req.header("origin")) {
    std::string_view o = trim(*origin);
    size_t scheme = o.find("://");
    if (scheme == std::string_view::npos) return false;  // includes "null"
    std::string_view authority = o.substr(scheme + 3);
    authority = authority.substr(0, authority.find('/'));
    if (!allowed(authority_host(authority))) return false;
  }
  return true;
}

void McpServer::handle(const HttpRequest& req, std::shared_ptr<Exchange> ex) {
  auto err = [&](int status, int code, std::string_view message,
                 std::vector<std::pair<std::string, std::string>> headers = {}) {
    ex->reply(status, "application/json", dump(rpc_error(nullptr, code, message)),
              std::move(headers));
  };
  const std::string_view path = req.path();
  if (path != "/" && path != "/mcp") {
    ex->reply(404, "text/plain", "not found: the MCP endpoint is POST /mcp\n", {});
    return;
  }
  if (!host_allowed(req)) {
    log::warn("mcp_refused", {{"why", "Host or Origin not allowed"}});
    err(403, kSessionRequired, "Forbidden: Host or Origin header not allowed");
    return;
  }
  if (req.method == "POST") return handle_post(req, ex);
  if (req.method == "DELETE") return handle_delete(req, ex);
  err(405, kSessionRequired, "Method not allowed: use POST (GET streams are not offered)",
      {{"Allow", "POST, DELETE"}});
}

void McpServer::handle_delete(const HttpRequest& req, const std::shared_ptr<Exchange>& ex) {
  auto sid = req.header("mcp-session-id");
  if (!sid) {
    ex->reply(400, "application/json",
              dump(rpc_error(nullptr, kSessionRequired,
                             "Bad Request: Mcp-Session-Id header is required")),
              {});
    return;
  }
  auto it = sessions_.find(*sid);
  if (it == sessions_.end()) {
    ex->reply(404, "application/json",
              dump(rpc_error(nullptr, kSessionNotFound, "Session not found")), {});
    return;
  }
  auto session = std::move(it->second);
  sessions_.erase(it);
  session->cancel_all();
  log::info("mcp_session_ended", {{"session", log::redact(session->id, 8)}});
  ex->reply(200, "", "", {});
}

void McpServer::handle_post(const HttpRequest& req, const std::shared_ptr<Exchange>& ex) {
  auto err = [&](int status, const json& id, int code, std::string_view message) {
    ex->reply(status, "application/json", dump(rpc_error(id, code, message)), {});
  };
  if (!contains(media_types(req.header("content-type")), "application/json")) {
    return err(415, nullptr, kSessionRequired,
               "Unsupported Media Type: Content-Type must be application/json");
  }
  if (auto accept = req.header("accept")) {
    auto types = media_types(accept);
    if (!contains(types, "application/json") && !contains(types, "application/*") &&
        !contains(types, "*/*")) {
      return err(406, nullptr, kSessionRequired,
                 "Not Acceptable: Accept must include application/json and text/event-stream");
    }
  }
  json msg = json::parse(req.body, nullptr, false);
  if (msg.is_discarded()) return err(400, nullptr, kParseError, "Parse error: body is not JSON");
  if (msg.is_array()) {
    return err(400, nullptr, kInvalidRequest,
               "Invalid Request: JSON-RPC batches are not supported (MCP 2025-06-18 and later)");
  }
  if (!msg.is_object() || msg.value("jsonrpc", json()) != "2.0") {
    return err(400, nullptr, kInvalidRequest, "Invalid Request: expected a JSON-RPC 2.0 object");
  }
  const bool has_id = msg.contains("id");
  const json id = has_id ? msg["id"] : json();
  if (has_id && !valid_id(id)) {
    return err(400, nullptr, kInvalidRequest, "Invalid Request: id must be a string or an integer");
  }
  const bool has_method = msg.contains("method");
  if (has_method && !msg["method"].is_string()) {
    return err(400, has_id ? id : json(), kInvalidRequest,
               "Invalid Request: method must be a string");
  }
  if (!has_method && !has_id) {
    return err(400, nullptr, kInvalidRequest, "Invalid Request: neither a request nor a response");
  }
  if (has_method && has_id && msg["method"] == "initialize") return initialize(msg, ex);

  auto sid = req.header("mcp-session-id");
  if (!sid) {
    return err(400, has_id ? id : json(), kSessionRequired,
               "Bad Request: Mcp-Session-Id header is required (send initialize first)");
  }
  Session* s = find_session(*sid);
  if (!s) return err(404, has_id ? id : json(), kSessionNotFound, "Session not found");
  if (auto v = req.header("mcp-protocol-version")) {
    if (*v != kProtocolCurrent && *v != kProtocolPrevious && *v != kProtocolTransportOrigin) {
      return err(400, has_id ? id : json(), kSessionRequired,
                 "Bad Request: unsupported MCP-Protocol-Version (supported: " +
                     std::string(kProtocolCurrent) + ", " + kProtocolPrevious + ")");
    }
  }
  if (!has_method || !has_id) {
    if (has_method) notification(*s, msg);
    ex->reply(202, "", "", {});  // notifications and responses: accepted, no body
    return;
  }
  request(*s, req, msg, ex);
}

void McpServer::initialize(const json& msg, const std::shared_ptr<Exchange>& ex) {
  const json& id = msg["id"];
  const json params = msg.value("params", json::object());
  if (!params.is_object() || !params.contains("protocolVersion") ||
      !params["protocolVersion"].is_string()) {
    ex->reply(200, "application/json",
              dump(rpc_error(id, kInvalidParams,
                             "Invalid params: initialize needs params.protocolVersion")),
              {});
    return;
  }
  const std::string asked = params["protocolVersion"];
  const std::string version =
      asked == kProtocolCurrent || asked == kProtocolPrevious ? asked : kProtocolCurrent;
  evict_if_full();
  auto s = std::make_unique<Session>();
  s->id = new_session_id();
  s->version = version;
  s->last_used = ++use_clock_;
  const std::string sid = s->id;
  sessions_.emplace(sid, std::move(s));
  log::info("mcp_session_started", {{"session", log::redact(sid, 8)}, {"protocol", version}});
  json result{
      {"protocolVersion", version},
      {"capabilities", {{"tools", {{"listChanged", false}}}}},
      {"serverInfo",
       {{"name", "bottle-supervise"}, {"title", "bot-bottle supervise"}, {"version", kVersion}}}};
  if (!options_.instructions.empty()) result["instructions"] = options_.instructions;
  ex->reply(200, "application/json", dump(json{{"jsonrpc", "2.0"}, {"id", id}, {"result", result}}),
            {{"Mcp-Session-Id", sid}});
}

void McpServer::notification(Session& s, const json& msg) {
  const std::string method = msg["method"];
  if (method == "notifications/initialized") {
    s.initialized = true;
  } else if (method == "notifications/cancelled") {
    const json params = msg.value("params", json::object());
    if (params.is_object() && params.contains("requestId") && valid_id(params["requestId"])) {
      auto it = s.calls.find(params["requestId"].dump());
      if (it != s.calls.end()) {
        if (auto c = it->second.lock()) c->cancel();
        s.calls.erase(it);
      }
    }
  }
  // Other notifications (roots/list_changed, progress, ...) need nothing from this server.
}

void McpServer::request(Session& s, const HttpRequest& req, const json& msg,
                        const std::shared_ptr<Exchange>& ex) {
  const json& id = msg["id"];
  const std::string method = msg["method"];
  auto ok = [&](json result) {
    ex->reply(200, "application/json",
              dump(json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}), {});
  };
  if (method == "ping") return ok(json::object());
  if (method == "tools/list") return ok(json{{"tools", tools_.list()}});
  if (method == "tools/call") return call_tool(s, req, msg, ex);
  std::string shown = method.size() > 64 ? method.substr(0, 64) + "..." : method;
  ex->reply(200, "application/json",
            dump(rpc_error(id, kMethodNotFound, "Method not found: " + shown)), {});
}

void McpServer::call_tool(Session& s, const HttpRequest& req, const json& msg,
                          const std::shared_ptr<Exchange>& ex) {
  const json& id = msg["id"];
  auto invalid = [&](std::string_view why) {
    ex->reply(200, "application/json", dump(rpc_error(id, kInvalidParams, why)), {});
  };
  const json params = msg.value("params", json());
  if (!params.is_object() || !params.contains("name") || !params["name"].is_string()) {
    return invalid("Invalid params: tools/call needs params.name");
  }
  const std::string name = params["name"];
  if (!tools_.has(name)) {
    std::string shown = name.size() > 64 ? name.substr(0, 64) + "..." : name;
    return invalid("Unknown tool: " + shown + " (tools/list shows the tools)");
  }
  json arguments = json::object();
  if (params.contains("arguments") && !params["arguments"].is_null()) {
    if (!params["arguments"].is_object())
      return invalid("Invalid params: arguments must be an object");
    arguments = params["arguments"];
  }
  std::optional<json> token;
  if (params.contains("_meta") && params["_meta"].is_object() &&
      params["_meta"].contains("progressToken") && valid_id(params["_meta"]["progressToken"])) {
    token = params["_meta"]["progressToken"];
  }
  const std::string key = id.dump();
  s.busy();  // drops finished calls
  if (s.calls.count(key)) return invalid("Invalid params: request id is already in use");
  const bool events_ok = contains(media_types(req.header("accept")), "text/event-stream");
  auto call = std::make_shared<PendingCall>(ex, id, token, events_ok);
  s.calls[key] = call;
  std::weak_ptr<PendingCall> weak = call;
  ex->on_close([weak] {
    if (auto c = weak.lock()) c->cancel();
  });
  tools_.call(name, arguments, call);
}

McpServer::Session* McpServer::find_session(const std::string& id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return nullptr;
  it->second->last_used = ++use_clock_;
  return it->second.get();
}

void McpServer::evict_if_full() {
  if (sessions_.size() < options_.max_sessions || sessions_.empty()) return;
  // The least recently used idle session goes; only when all are busy, the oldest busy.
  auto victim = sessions_.end();
  for (bool idle_only : {true, false}) {
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (idle_only && it->second->busy()) continue;
      if (victim == sessions_.end() || it->second->last_used < victim->second->last_used) {
        victim = it;
      }
    }
    if (victim != sessions_.end()) break;
  }
  auto session = std::move(victim->second);
  sessions_.erase(victim);
  session->cancel_all();
  log::info("mcp_session_evicted", {{"session", log::redact(session->id, 8)}});
}

}  // namespace bottle::supervise
