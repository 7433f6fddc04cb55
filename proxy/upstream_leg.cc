#include "proxy/upstream_leg.h"

#include "proxy/h2_upstream.h"
#include "proxy/worker.h"

namespace bottle::proxy {
namespace {

// The owner's on_leg_read_begin/end around the callbacks of one upstream read.
class ReadScope {
 public:
  explicit ReadScope(UpstreamLeg::Owner& owner) : owner_(owner) { owner_.on_leg_read_begin(); }
  ~ReadScope() { owner_.on_leg_read_end(); }
  ReadScope(const ReadScope&) = delete;
  ReadScope& operator=(const ReadScope&) = delete;

 private:
  UpstreamLeg::Owner& owner_;
};

// The request body goes chunked when its length is unknown, and also when the client
// announced trailers (an h2 request with both a content-length and a `trailer` field):
// only a chunked HTTP/1.1 body can carry them.
bool frames_chunked(const MessageHead& request) {
  return request.chunked || (request.has_body() && request.header("trailer"));
}

}  // namespace

std::unique_ptr<UpstreamLeg> open_upstream_leg(Worker& worker, const Verdict& v,
                                               const MessageHead& request, bool offer_h2,
                                               UpstreamLeg::Owner& owner, Dial dial) {
  const bool allow_private = v.route && v.route->allow_private;
  std::string key = UpstreamConn::pool_key(v.target, v.upstream_tls, allow_private);
  // ALPN mirrors the client: an h2 client's exchanges offer h2 upstream, unless this
  // upstream already answered an offer with http/1.1.
  if (offer_h2 && v.upstream_tls && !worker.upstream_is_h1(key)) {
    return std::make_unique<H2Leg>(worker, v, request, owner);
  }
  return std::make_unique<H1Leg>(worker, v, request, owner, nullptr, dial);
}

H1Leg::H1Leg(Worker& worker, const Verdict& v, const MessageHead& request,
             UpstreamLeg::Owner& owner, UpstreamConn* up, Dial dial)
    : owner_(owner),
      up_(up),
      head_request_(request.method == "HEAD"),
      chunked_(frames_chunked(request)),
      worker_(worker),
      target_(v.target),
      tls_(v.upstream_tls),
      allow_private_(v.route && v.route->allow_private),
      dial_(dial) {
  parser_.set_body_sink([this](std::string_view c) {
    if (up_) owner_.on_leg_body(c);
  });
  if (head_request_) parser_.expect_no_body();
}

H1Leg::~H1Leg() {
  close();
}

void H1Leg::start() {
  if (up_) {  // handed over ready
    up_->attach(this);
    owner_.on_leg_ready();
    return;
  }
  UpstreamConn* idle =
      dial_ == Dial::pooled_or_new
          ? worker_.take_idle(UpstreamConn::pool_key(target_, tls_, allow_private_))
          : nullptr;
  if (idle) {
    up_ = idle;
    up_->attach(this);
    reused_ = true;
    owner_.on_leg_ready();
    return;
  }
  up_ = UpstreamConn::create(worker_, target_, tls_, allow_private_, this);
  up_->start();
}

void H1Leg::send_head(const MessageHead& head, const UpstreamRequestHead& wire) {
  if (!up_) return;
  if (chunked_ && !head.chunked) {  // a length, but trailers to carry too
    MessageHead framed = head;
    framed.chunked = true;
    framed.content_length.reset();
    up_->write(serialize_request_head(framed, wire));
    return;
  }
  up_->write(serialize_request_head(head, wire));
}

void H1Leg::send_body(std::string_view bytes) {
  if (!up_) return;
  if (chunked_) {
    up_->write(chunk_frame(bytes));
  } else {
    up_->write(bytes);
  }
}

void H1Leg::send_end(const std::vector<Header>& trailers) {
  // Only a chunked body carries trailers: a request with a Content-Length (an h2 client's)
  // has nowhere to put them.
  if (up_ && chunked_) up_->write(last_chunk(trailers));
  request_sent_ = true;
}

void H1Leg::send_raw(std::string_view bytes) {
  if (up_) up_->write(bytes);
}

void H1Leg::pause() {
  if (up_) up_->pause();
}

void H1Leg::resume() {
  if (up_ && !up_->closing()) up_->resume();
}

void H1Leg::done() {
  UpstreamConn* up = up_;
  up_ = nullptr;
  if (!up) return;
  up->detach();
  if (request_sent_ && ended_ && !raw_ && keep_alive_ && !parser_.needs_eof()) {
    up->release_to_pool();
  } else {
    up->close();
  }
}

void H1Leg::close() {
  if (up_) {
    up_->close();
    up_ = nullptr;
  }
}

void H1Leg::fail(UpstreamConn::Failure kind, std::string_view why) {
  const bool stale = reused_ && !got_response_ && kind != UpstreamConn::Failure::ssrf;
  close();
  owner_.on_leg_failed(kind, why, stale);
}

void H1Leg::on_upstream_ready(UpstreamConn& up) {
  if (&up != up_) return;
  owner_.on_leg_ready();
}

void H1Leg::on_upstream_data(UpstreamConn& up, std::string_view data) {
  if (&up != up_) return;
  ReadScope scope(owner_);
  if (raw_) {
    owner_.on_leg_body(data);
    return;
  }
  if (ended_) {
    close();  // bytes after a complete response: nothing can follow it
    return;
  }
  bool first = true;
  while (up_ && (first || !data.empty())) {
    first = false;
    Http1Parser::Outcome out = parser_.feed(data);
    data.remove_prefix(out.consumed);
    if (!up_) return;
    switch (out.status) {
      case Http1Parser::Status::need_more:
        return;
      case Http1Parser::Status::head: {
        MessageHead head = parser_.take_head();
        got_response_ = true;
        last_status_ = head.status;
        keep_alive_ = head.keep_alive;
        if (last_status_ == 101) raw_ = true;
        owner_.on_leg_head(std::move(head));
        if (raw_) {
          if (up_ && !data.empty()) owner_.on_leg_body(data);
          return;
        }
        break;
      }
      case Http1Parser::Status::message_end:
        if (last_status_ < 200) {  // a 1xx head ends a message of its own
          parser_.resume_next();
          if (head_request_) parser_.expect_no_body();
          break;
        }
        ended_ = true;
        if (!data.empty()) keep_alive_ = false;  // junk after the response: no reuse
        owner_.on_leg_end(parser_.take_trailers());
        return;
      case Http1Parser::Status::upgrade:
      case Http1Parser::Status::error:
        fail(UpstreamConn::Failure::protocol,
             "upstream sent a malformed response: " + parser_.error_reason());
        return;
    }
  }
}

void H1Leg::on_upstream_eof(UpstreamConn& up) {
  if (&up != up_) return;
  if (raw_) {
    ended_ = true;
    owner_.on_leg_end({});
    return;
  }
  if (got_response_ && !ended_ && parser_.finish()) {
    ended_ = true;
    keep_alive_ = false;
    owner_.on_leg_end({});
    return;
  }
  fail(UpstreamConn::Failure::protocol, got_response_
                                            ? "upstream closed the connection mid-response"
                                            : "upstream closed the connection before responding");
}

void H1Leg::on_upstream_failed(UpstreamConn& up, UpstreamConn::Failure kind, std::string_view why) {
  if (&up != up_) return;
  up_ = nullptr;  // it closes itself
  const bool stale = reused_ && !got_response_ && kind != UpstreamConn::Failure::ssrf;
  owner_.on_leg_failed(kind, why, stale);
}

void H1Leg::on_upstream_drained(UpstreamConn& up) {
  if (&up != up_) return;
  owner_.on_leg_drained();
}

}  // namespace bottle::proxy
