// A smart-HTTP session (gitprotocol-http(5)) on one keep-alive connection: each request
// is parsed (common/http/http1_parser.h), routed (http_route.h), and answered by a
// `git upload-pack|receive-pack --stateless-rpc [--advertise-refs]` whose stdin gets the
// request body (de-chunked, gunzipped) and whose stdout becomes a chunked response.
// Advertisements of upload-pack wait for a fresh fetch; a failed fetch is a 502 whose
// text/plain body (the upstream's error) git prints as "remote: ...".
#pragma once

#include <memory>
#include <string>

#include "common/dlp/decompress.h"
#include "common/http/http1_parser.h"
#include "gitgate/client_connection.h"
#include "gitgate/http_route.h"

namespace bottle::gitgate {

class HttpConnection final : public ClientConnection {
 public:
  explicit HttpConnection(GateContext& ctx);

 private:
  ~HttpConnection() override;
  void on_bytes(std::string_view data) override;
  void on_client_eof() override;
  void on_deadline() override;
  void on_drained() override;

  void process();
  void handle_head(const MessageHead& head);
  void start_child();
  void on_body(std::string_view bytes);
  void child_out(std::string_view bytes);
  void maybe_end_response();
  void refuse(int status, const std::string& message, bool log_it);
  void next_request();

  enum class State { head, fetching, body, responding, done };
  State state_ = State::head;
  Http1Parser parser_{Http1Parser::Kind::request};
  std::string in_;
  HttpRoute route_;
  bool keep_alive_ = true;
  bool chunked_ = true;        // HTTP/1.1 responses are chunked; 1.0 ones end at close
  bool head_started_ = false;  // bytes of a request head arrived
  bool body_done_ = false;
  bool response_started_ = false;
  bool child_exited_ = false;
  bool child_out_ended_ = false;
  int child_status_ = 0;
  ServiceProcess* child_ = nullptr;
  std::unique_ptr<dlp::BodyDecoder> gunzip_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace bottle::gitgate
