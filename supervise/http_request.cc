#include "supervise/http_request.h"

#include <cstdint>

#include "common/ascii.h"

namespace bottle::supervise {
namespace {

RequestReader* reader(llhttp_t* p) {
  return static_cast<RequestReader*>(p->data);
}

void trim(std::string& s) {
  size_t end = s.size();
  while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t')) --end;
  size_t begin = 0;
  while (begin < end && (s[begin] == ' ' || s[begin] == '\t')) ++begin;
  s = s.substr(begin, end - begin);
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

}  // namespace

std::optional<std::string> HttpRequest::header(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& [n, v] : headers) {
    if (!ascii_iequals(n, name)) continue;
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
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = &RequestReader::on_message_begin;
  settings_.on_url = &RequestReader::on_url;
  settings_.on_header_field = &RequestReader::on_header_field;
  settings_.on_header_value = &RequestReader::on_header_value;
  settings_.on_headers_complete = &RequestReader::on_headers_complete;
  settings_.on_body = &RequestReader::on_body;
  settings_.on_message_complete = &RequestReader::on_message_complete;
  llhttp_init(&parser_, HTTP_REQUEST, &settings_);
  parser_.data = this;
}

void RequestReader::fail(int status, std::string reason) {
  if (error_status_ == 0) {
    error_status_ = status;
    error_reason_ = std::move(reason);
  }
}

bool RequestReader::count_head_bytes(size_t n) {
  head_bytes_ += n;
  if (head_bytes_ <= kMaxHeaderBytes) return true;
  fail(431, "header block larger than 64 KiB");
  return false;
}

int RequestReader::on_message_begin(llhttp_t* p) {
  auto* r = reader(p);
  r->req_ = HttpRequest{};
  r->in_request_ = true;
  r->in_field_ = false;
  r->head_bytes_ = 0;
  return 0;
}

int RequestReader::on_url(llhttp_t* p, const char* at, size_t n) {
  auto* r = reader(p);
  if (!r->count_head_bytes(n)) return -1;
  r->req_.target.append(at, n);
  return 0;
}

int RequestReader::on_header_field(llhttp_t* p, const char* at, size_t n) {
  auto* r = reader(p);
  if (!r->count_head_bytes(n)) return -1;
  if (!r->in_field_) {
    if (r->req_.headers.size() >= kMaxHeaders) {
      r->fail(431, "more than 100 header fields");
      return -1;
    }
    r->req_.headers.emplace_back();
    r->in_field_ = true;
  }
  r->req_.headers.back().first.append(at, n);
  return 0;
}

int RequestReader::on_header_value(llhttp_t* p, const char* at, size_t n) {
  auto* r = reader(p);
  if (!r->count_head_bytes(n)) return -1;
  r->in_field_ = false;
  if (r->req_.headers.empty()) return -1;
  r->req_.headers.back().second.append(at, n);
  return 0;
}

int RequestReader::on_headers_complete(llhttp_t* p) {
  auto* r = reader(p);
  for (auto& h : r->req_.headers) trim(h.second);
  r->req_.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
  r->req_.keep_alive = llhttp_should_keep_alive(p) != 0;
  // CONNECT and upgrades: what follows the head is not HTTP; answer, then close.
  if (p->method == HTTP_CONNECT || r->req_.header("upgrade")) r->req_.keep_alive = false;
  // A declared length over the cap is refused before any of the body is read.
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length > r->max_body_) {
    r->fail(413, "request body larger than " + std::to_string(r->max_body_) + " bytes");
    return -1;
  }
  auto expect = r->req_.header("expect");
  if (expect && ascii_iequals(*expect, "100-continue")) r->continue_pending_ = true;
  return 0;
}

int RequestReader::on_body(llhttp_t* p, const char* at, size_t n) {
  auto* r = reader(p);
  if (r->req_.body.size() + n > r->max_body_) {
    r->fail(413, "request body larger than " + std::to_string(r->max_body_) + " bytes");
    return -1;
  }
  r->req_.body.append(at, n);
  return 0;
}

int RequestReader::on_message_complete(llhttp_t* p) {
  auto* r = reader(p);
  r->complete_ = true;
  r->in_request_ = false;
  return HPE_PAUSED;  // one request at a time: the caller answers before reading on
}

RequestReader::Outcome RequestReader::feed(std::string_view data) {
  if (error_status_ != 0) return {State::failed, 0};
  if (complete_) return {State::complete, 0};
  llhttp_errno_t err = llhttp_execute(&parser_, data.data(), data.size());
  size_t consumed = data.size();
  if (err != HPE_OK) {
    const char* pos = llhttp_get_error_pos(&parser_);
    if (pos >= data.data() && pos <= data.data() + data.size()) {
      consumed = static_cast<size_t>(pos - data.data());
    }
  }
  switch (err) {
    case HPE_OK:
      return {State::need_more, consumed};
    case HPE_PAUSED:
      llhttp_resume(&parser_);
      return {State::complete, consumed};
    case HPE_PAUSED_UPGRADE:
      // CONNECT or an Upgrade header: the head is all there is; nothing after it is HTTP.
      req_.keep_alive = false;
      complete_ = true;
      in_request_ = false;
      return {State::complete, data.size()};
    default:
      fail(400, std::string("malformed request: ") + llhttp_errno_name(err));
      return {State::failed, consumed};
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
  std::string out =
      "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) + "\r\n";
  if (!content_type.empty()) out += "Content-Type: " + std::string(content_type) + "\r\n";
  if (status != 204) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [name, value] : extra_headers) out += name + ": " + value + "\r\n";
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  out += body;
  return out;
}

}  // namespace bottle::supervise
