#include "supervise/http_request.h"

#include "common/http/http1_response.h"

namespace bottle::supervise {

std::optional<std::string> HttpRequest::header(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& [n, v] : headers) {
    if (!header_name_equals(n, name)) continue;
    if (out) {
      *out += ", ";
      *out += v;
    } else {
      out = v;
    }
  }
  return out;
}

std::string_view HttpRequest::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

RequestReader::RequestReader(size_t max_body) : max_body_(max_body) {
  parser_.set_body_sink([this](std::string_view chunk) {
    if (body_too_large_ || req_.body.size() + chunk.size() > max_body_) {
      body_too_large_ = true;  // reported after this feed; nothing more is kept
      return;
    }
    req_.body.append(chunk);
  });
}

void RequestReader::fail(int status, std::string reason) {
  if (error_status_ == 0) {
    error_status_ = status;
    error_reason_ = std::move(reason);
  }
}

RequestReader::Outcome RequestReader::feed(std::string_view data) {
  if (error_status_ != 0) return {State::failed, 0};
  if (complete_) return {State::complete, 0};
  size_t used = 0;
  for (;;) {
    auto o = parser_.feed(data.substr(used));
    used += o.consumed;
    if (body_too_large_) {
      fail(413, "request body larger than " + std::to_string(max_body_) + " bytes");
      return {State::failed, used};
    }
    switch (o.status) {
      case Http1Parser::Status::need_more:
        return {State::need_more, used};
      case Http1Parser::Status::head: {
        MessageHead h = parser_.take_head();
        in_request_ = true;
        if (h.headers.size() > kMaxHeaders) {
          fail(431, "more than " + std::to_string(kMaxHeaders) + " header fields");
          return {State::failed, used};
        }
        // A declared length over the cap is refused before any of the body is read.
        if (h.content_length && *h.content_length > max_body_) {
          fail(413, "request body larger than " + std::to_string(max_body_) + " bytes");
          return {State::failed, used};
        }
        req_ = HttpRequest{};
        req_.method = std::move(h.method);
        req_.target = std::move(h.target);
        req_.keep_alive = h.keep_alive && !h.upgrade;  // CONNECT/Upgrade: answer, then close
        for (auto& field : h.headers) req_.headers.emplace_back(std::move(field.name), std::move(field.value));
        auto expect = req_.header("expect");
        continue_pending_ = expect && header_name_equals(*expect, "100-continue");
        continue;  // the body (or the end of a bodiless message) follows
      }
      case Http1Parser::Status::message_end:
        parser_.resume_next();
        complete_ = true;
        in_request_ = false;
        return {State::complete, used};
      case Http1Parser::Status::upgrade:
        // CONNECT or an Upgrade header: the head is all there is; nothing after it is HTTP.
        req_.keep_alive = false;
        complete_ = true;
        in_request_ = false;
        return {State::complete, data.size()};
      case Http1Parser::Status::error:
        fail(parser_.error_status(), "malformed request: " + parser_.error_reason());
        return {State::failed, used};
    }
  }
}

HttpRequest RequestReader::take() {
  complete_ = false;
  continue_pending_ = false;
  return std::move(req_);
}

bool RequestReader::take_continue_request() {
  bool pending = continue_pending_ && in_request_ && error_status_ == 0;
  continue_pending_ = false;
  return pending;
}

std::string http_response(int status, std::string_view content_type, std::string_view body,
                          const std::vector<std::pair<std::string, std::string>>& extra_headers,
                          bool close) {
  std::string extra;
  for (const auto& [name, value] : extra_headers) append_header(extra, name, value);
  return simple_response(status, reason_phrase(status), content_type, body, close, extra);
}

}  // namespace bottle::supervise
