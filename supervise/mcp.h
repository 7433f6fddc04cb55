// MCP over Streamable HTTP (JSON-RPC 2.0), without sockets: McpServer takes one parsed
// HTTP request and answers through an Exchange, at once or, for a tool call that waits
// on the operator, later. The transport (http_server) and the fuzzer implement Exchange;
// the tools implement ToolHost.
//
// Protocol versions: 2025-11-25 (current) and 2025-06-18 (one back) are negotiated. The
// MCP-Protocol-Version header may also name 2025-03-26, the transport's first version
// and the assumed one when the header is absent. JSON-RPC batches (2025-03-26 only) are
// refused. Sessions: `initialize` mints an Mcp-Session-Id; every later request needs it
// (missing → 400, unknown → 404); DELETE ends it. GET (a server-initiated stream) → 405.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "supervise/http_request.h"

namespace bottle::supervise {

inline constexpr const char* kProtocolCurrent = "2025-11-25";
inline constexpr const char* kProtocolPrevious = "2025-06-18";
inline constexpr const char* kProtocolTransportOrigin = "2025-03-26";

// JSON-RPC 2.0 error codes.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kSessionRequired = -32000;  // server-defined range, as the SDKs use
inline constexpr int kSessionNotFound = -32001;

// One HTTP request/response, implemented by the transport. Either reply() once, or
// start_events(), then event() any number of times, then end_events(). abort() drops
// the connection without an answer.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual void reply(int status, std::string_view content_type, std::string_view body,
                     std::vector<std::pair<std::string, std::string>> headers) = 0;
  virtual void start_events(std::vector<std::pair<std::string, std::string>> headers) = 0;
  virtual void event(const nlohmann::json& message) = 0;
  virtual void end_events() = 0;
  virtual void abort() = 0;
  // False once the client has gone; then every call above is a no-op.
  virtual bool open() const = 0;
  // Called once when the client goes away before the exchange finished.
  virtual void on_close(std::function<void()> fn) = 0;
};

struct ToolResult {
  std::string text;
  bool is_error = false;
};

// A tools/call in progress, handed to the tool. The tool calls finish() exactly once,
// now or later; progress() only means something while the client listens for events.
class ToolCall {
 public:
  virtual ~ToolCall() = default;
  // `progress` must grow from call to call; `total` may be omitted.
  virtual void progress(double progress, std::optional<double> total, std::string message) = 0;
  virtual void finish(ToolResult result) = 0;
  // The call ended without a result (client gone, notifications/cancelled, session
  // ended): `fn` runs once, and finish() becomes a no-op.
  virtual void on_cancel(std::function<void()> fn) = 0;
  virtual bool cancelled() const = 0;
};

class ToolHost {
 public:
  virtual ~ToolHost() = default;
  // The `tools` array of tools/list.
  virtual nlohmann::json list() const = 0;
  virtual bool has(std::string_view name) const = 0;
  // Starts `name` (has(name) is true). `arguments` is an object.
  virtual void call(std::string_view name, const nlohmann::json& arguments,
                    std::shared_ptr<ToolCall> call) = 0;
};

struct McpOptions {
  // Host/Origin names accepted (DNS-rebinding protection); any port.
  std::vector<std::string> allowed_hosts = {"127.0.0.1", "localhost", "::1"};
  size_t max_sessions = 256;
  std::string instructions;
};

class McpServer {
 public:
  McpServer(ToolHost& tools, McpOptions options);
  ~McpServer();
  McpServer(const McpServer&) = delete;
  McpServer& operator=(const McpServer&) = delete;

  void handle(const HttpRequest& request, std::shared_ptr<Exchange> exchange);

  size_t session_count() const { return sessions_.size(); }

 private:
  struct Session;
  class PendingCall;

  void handle_post(const HttpRequest& req, const std::shared_ptr<Exchange>& ex);
  void handle_delete(const HttpRequest& req, const std::shared_ptr<Exchange>& ex);
  void initialize(const nlohmann::json& msg, const std::shared_ptr<Exchange>& ex);
  void notification(Session& s, const nlohmann::json& msg);
  void request(Session& s, const HttpRequest& req, const nlohmann::json& msg,
               const std::shared_ptr<Exchange>& ex);
  void call_tool(Session& s, const HttpRequest& req, const nlohmann::json& msg,
                 const std::shared_ptr<Exchange>& ex);
  bool host_allowed(const HttpRequest& req) const;
  Session* find_session(const std::string& id);
  void evict_if_full();

  ToolHost& tools_;
  McpOptions options_;
  std::map<std::string, std::unique_ptr<Session>> sessions_;
  uint64_t use_clock_ = 0;
};

// A JSON-RPC error object ({"jsonrpc","id","error":{code,message}}).
nlohmann::json rpc_error(const nlohmann::json& id, int code, std::string_view message);

}  // namespace bottle::supervise
