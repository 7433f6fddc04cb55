#include "common/http/http1_parser.h"

#include <algorithm>

namespace bottle {
namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

// Trims surrounding spaces and tabs in place (no copy of the value).
void trim_in_place(std::string& s) {
  size_t end = s.size();
  while (end > 0 && is_blank(s[end - 1])) --end;
  size_t begin = 0;
  while (begin < end && is_blank(s[begin])) ++begin;
  s.erase(end);
  s.erase(0, begin);
}

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A typical head has a dozen headers or fewer: one allocation instead of a doubling run.
constexpr size_t kExpectedHeaders = 16;

Http1Parser* self(llhttp_t* p) {
  return static_cast<Http1Parser*>(p->data);
}

}  // namespace

std::optional<std::string> MessageHead::header(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& h : headers) {
    if (!header_name_equals(h.name, name)) continue;
    if (out) {
      *out += ", ";
      *out += h.value;
    } else {
      out = h.value;
    }
  }
  return out;
}

Http1Parser::Http1Parser(Kind kind) : kind_(kind) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = &Http1Parser::on_message_begin;
  settings_.on_url = &Http1Parser::on_url;
  settings_.on_status = &Http1Parser::on_status;
  settings_.on_header_field = &Http1Parser::on_header_field;
  settings_.on_header_value = &Http1Parser::on_header_value;
  settings_.on_header_value_complete = &Http1Parser::on_header_value_complete;
  settings_.on_headers_complete = &Http1Parser::on_headers_complete;
  settings_.on_body = &Http1Parser::on_body;
  settings_.on_message_complete = &Http1Parser::on_message_complete;
  llhttp_init(&parser_, kind == Kind::request ? HTTP_REQUEST : HTTP_RESPONSE, &settings_);
  parser_.data = this;
}

void Http1Parser::fail(int status, std::string reason) {
  if (error_status_ == 0) {
    error_status_ = status;
    error_reason_ = std::move(reason);
  }
}

Http1Parser::Outcome Http1Parser::feed(std::string_view data) {
  if (error_status_ != 0) return {Status::error, 0};
  feed_begin_ = data.data();
  llhttp_errno_t err = llhttp_execute(&parser_, data.data(), data.size());
  size_t consumed = data.size();
  if (err != HPE_OK) {
    const char* pos = llhttp_get_error_pos(&parser_);
    if (pos >= data.data() && pos <= data.data() + data.size()) consumed = pos - data.data();
  }
  if (consumed > 0) prev_last_byte_ = data[consumed - 1];
  switch (err) {
    case HPE_OK:
      return {Status::need_more, consumed};
    case HPE_PAUSED:
      llhttp_resume(&parser_);
      if (head_ready_) {
        head_ready_ = false;
        return {check_head(), consumed};
      }
      if (message_done_) return {Status::message_end, consumed};
      return {Status::need_more, consumed};
    case HPE_PAUSED_UPGRADE:
      return {Status::upgrade, consumed};
    case HPE_USER:
      return {Status::error, consumed};  // fail() already recorded the reason
    default:
      fail(400, std::string(llhttp_errno_name(err)) + ": " + llhttp_get_error_reason(&parser_));
      return {Status::error, consumed};
  }
}

Http1Parser::Status Http1Parser::check_head() {
  // llhttp already refuses CL+TE and differing duplicate Content-Length in strict mode;
  // identical duplicates are legal but we normalize framing, so refuse any disagreement.
  for (size_t i = 1; i < content_lengths_.size(); ++i) {
    if (content_lengths_[i] != content_lengths_[0]) {
      fail(400, "differing duplicate Content-Length");
      return Status::error;
    }
  }
  if (head_.chunked && !content_lengths_.empty()) {
    fail(400, "Content-Length with Transfer-Encoding");
    return Status::error;
  }
  return Status::head;
}

bool Http1Parser::finish() {
  if (error_status_ != 0) return false;
  llhttp_errno_t err = llhttp_finish(&parser_);
  return (err == HPE_OK || err == HPE_PAUSED) && message_done_;
}

void Http1Parser::resume_next() {
  message_done_ = false;
  skip_body_ = false;
}

int Http1Parser::on_message_begin(llhttp_t* p) {
  Http1Parser* s = self(p);
  s->head_ = MessageHead{};
  s->head_.headers.reserve(kExpectedHeaders);
  s->trailers_.clear();
  s->in_trailers_ = false;
  s->in_field_ = false;
  s->in_message_ = true;
  s->head_ready_ = false;
  s->message_done_ = false;
  s->head_bytes_ = 0;
  s->content_lengths_.clear();
  return 0;
}

int Http1Parser::on_url(llhttp_t* p, const char* at, size_t n) {
  Http1Parser* s = self(p);
  s->head_bytes_ += n;
  if (s->head_bytes_ > kMaxHeaderBytes) {
    s->fail(431, "request target larger than 64 KiB");
    return HPE_USER;
  }
  s->head_.target.append(at, n);
  return 0;
}

int Http1Parser::on_status(llhttp_t* p, const char* at, size_t n) {
  Http1Parser* s = self(p);
  s->head_bytes_ += n;
  s->head_.reason.append(at, n);
  return 0;
}

int Http1Parser::on_header_field(llhttp_t* p, const char* at, size_t n) {
  Http1Parser* s = self(p);
  s->head_bytes_ += n + 4;
  if (s->head_bytes_ > kMaxHeaderBytes) {
    s->fail(431, "header block larger than 64 KiB");
    return HPE_USER;
  }
  if (!s->in_field_) {
    s->fields().push_back({});
    s->in_field_ = true;
  }
  s->fields().back().name.append(at, n);
  return 0;
}

int Http1Parser::on_header_value(llhttp_t* p, const char* at, size_t n) {
  Http1Parser* s = self(p);
  s->head_bytes_ += n;
  if (s->head_bytes_ > kMaxHeaderBytes) {
    s->fail(431, "header block larger than 64 KiB");
    return HPE_USER;
  }
  s->in_field_ = false;
  // llhttp hands a folded continuation line over as more value that starts right after
  // a line break (possibly the last byte of the previous feed).
  char before = at > s->feed_begin_ ? at[-1] : s->prev_last_byte_;
  if (before == '\n' || s->fields().empty()) {
    s->fail(400, "obsolete line folding in a header");
    return HPE_USER;
  }
  s->fields().back().value.append(at, n);
  return 0;
}

int Http1Parser::on_header_value_complete(llhttp_t* p) {
  Http1Parser* s = self(p);
  s->in_field_ = false;
  if (s->fields().empty()) return 0;
  Header& h = s->fields().back();
  // obs-fold (a value continued on the next line) hides headers from intermediaries.
  if (std::any_of(h.value.begin(), h.value.end(), [](char c) { return c == '\r' || c == '\n'; })) {
    s->fail(400, "obsolete line folding in a header");
    return HPE_USER;
  }
  // A name that is not a token ("X Forwarded", "X-A ") is read differently by different
  // servers: refuse it rather than forward it.
  if (h.name.empty() || !std::all_of(h.name.begin(), h.name.end(), is_tchar)) {
    s->fail(400, "header name is not a token");
    return HPE_USER;
  }
  trim_in_place(h.value);
  if (!s->in_trailers_ && header_name_equals(h.name, "content-length"))
    s->content_lengths_.push_back(h.value);
  return 0;
}

int Http1Parser::on_headers_complete(llhttp_t* p) {
  Http1Parser* s = self(p);
  MessageHead& h = s->head_;
  if (s->kind_ == Kind::request)
    h.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
  h.status = p->status_code;
  h.http_minor = p->http_minor;
  h.keep_alive = llhttp_should_keep_alive(p) != 0;
  h.chunked = (p->flags & F_CHUNKED) != 0;
  if (p->flags & F_CONTENT_LENGTH) h.content_length = p->content_length;
  h.upgrade = p->upgrade != 0;
  if (s->skip_body_) p->flags |= F_SKIPBODY;
  s->head_ready_ = true;
  s->in_trailers_ = true;
  return HPE_PAUSED;
}

int Http1Parser::on_body(llhttp_t* p, const char* at, size_t n) {
  Http1Parser* s = self(p);
  if (s->body_sink_) s->body_sink_(std::string_view(at, n));
  return 0;
}

int Http1Parser::on_message_complete(llhttp_t* p) {
  Http1Parser* s = self(p);
  s->in_message_ = false;
  s->message_done_ = true;
  // CONNECT / upgrade: llhttp pauses with HPE_PAUSED_UPGRADE by itself.
  if (p->upgrade) return 0;
  return HPE_PAUSED;
}

}  // namespace bottle
