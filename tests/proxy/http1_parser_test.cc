#include "common/http/http1_parser.h"

#include <gtest/gtest.h>

namespace bottle::proxy {
namespace {

struct Fed {
  Http1Parser::Status status;
  std::string body;
};

// Feeds everything (resuming after heads), returning the first non-head stop.
Fed feed_all(Http1Parser& p, std::string_view data, MessageHead* head = nullptr) {
  Fed f{Http1Parser::Status::need_more, {}};
  p.set_body_sink([&f](std::string_view c) { f.body.append(c); });
  while (true) {
    auto out = p.feed(data);
    data.remove_prefix(out.consumed);
    if (out.status == Http1Parser::Status::head) {
      if (head) *head = p.take_head();
      continue;
    }
    f.status = out.status;
    return f;
  }
}

TEST(Http1Parser, ParsesAbsoluteFormHeadAndPausesBeforeBody) {
  Http1Parser p(Http1Parser::Kind::request);
  std::string req =
      "POST http://a.test/x?y=1 HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\n\r\nabc";
  auto out = p.feed(req);
  ASSERT_EQ(out.status, Http1Parser::Status::head);
  EXPECT_EQ(out.consumed, req.size() - 3);
  MessageHead h = p.take_head();
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.target, "http://a.test/x?y=1");
  EXPECT_EQ(h.content_length, 3u);
  EXPECT_EQ(h.header("HOST"), "a.test");
  std::string body;
  p.set_body_sink([&](std::string_view c) { body.append(c); });
  auto rest = p.feed(std::string_view(req).substr(out.consumed));
  EXPECT_EQ(rest.status, Http1Parser::Status::message_end);
  EXPECT_EQ(body, "abc");
}

TEST(Http1Parser, DechunksBodies) {
  Http1Parser p(Http1Parser::Kind::request);
  auto f = feed_all(
      p, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_EQ(f.status, Http1Parser::Status::message_end);
  EXPECT_EQ(f.body, "abcde");
}

TEST(Http1Parser, KeepsTrailersApartFromTheHead) {
  Http1Parser p(Http1Parser::Kind::request);
  MessageHead head;
  Fed f = feed_all(p,
                   "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Head: 1\r\n\r\n"
                   "3\r\nabc\r\n0\r\nX-Digest:  sha-256=abc \r\nX-Two: 2\r\n\r\n",
                   &head);
  ASSERT_EQ(f.status, Http1Parser::Status::message_end);
  EXPECT_EQ(f.body, "abc");
  EXPECT_EQ(head.headers.size(), 2u);
  std::vector<Header> t = p.take_trailers();
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].name, "X-Digest");
  EXPECT_EQ(t[0].value, "sha-256=abc");
  EXPECT_EQ(t[1].name, "X-Two");
  // The next message starts with none.
  p.resume_next();
  ASSERT_EQ(feed_all(p, "GET / HTTP/1.1\r\n\r\n").status, Http1Parser::Status::message_end);
  EXPECT_TRUE(p.take_trailers().empty());
}

TEST(Http1Parser, TrailersAreCheckedLikeHeadFields) {
  for (const char* bad : {"X Bad: 1\r\n\r\n", "X-Fold: 1\r\n continued\r\n\r\n"}) {
    Http1Parser p(Http1Parser::Kind::request);
    std::string req = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n";
    EXPECT_EQ(feed_all(p, req + bad).status, Http1Parser::Status::error) << bad;
    EXPECT_EQ(p.error_status(), 400) << bad;
  }
}

TEST(Http1Parser, RejectsSmugglingShapesWith400) {
  const char* shapes[] = {
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",  // CL + TE
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",           // CL != CL
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",                // chunk size
      "GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n",                                  // obs-fold
      "GET / HTTP/1.1\r\nX Forwarded: a\r\n\r\n",         // space inside a header name
      "GET / HTTP/1.1\r\nX-A : a\r\n\r\n",                // space before the colon
      "GET / HTTP/1.1\r\nX\tA: a\r\n\r\n",               // tab inside a header name
      "GET / HTTP/1.1\r\nX-A(b): a\r\n\r\n",              // a separator in a header name
  };
  for (const char* shape : shapes) {
    for (size_t step : {size_t{1}, size_t{1000}}) {
      Http1Parser p(Http1Parser::Kind::request);
      std::string_view in(shape);
      Http1Parser::Status last = Http1Parser::Status::need_more;
      for (size_t off = 0; off < in.size() && last != Http1Parser::Status::error; off += step) {
        std::string_view piece = in.substr(off, step);
        while (!piece.empty()) {
          auto out = p.feed(piece);
          last = out.status;
          if (last == Http1Parser::Status::error) break;
          piece.remove_prefix(out.consumed);
          if (last == Http1Parser::Status::head) p.take_head();
        }
      }
      EXPECT_EQ(last, Http1Parser::Status::error) << shape << " step " << step;
      EXPECT_EQ(p.error_status(), 400) << shape << " step " << step;
    }
  }
}

TEST(Http1Parser, HeaderBlockOver64KiBIs431EvenInPieces) {
  Http1Parser p(Http1Parser::Kind::request);
  ASSERT_EQ(p.feed("GET / HTTP/1.1\r\n").status, Http1Parser::Status::need_more);
  Http1Parser::Status last = Http1Parser::Status::need_more;
  for (int i = 0; i < 200 && last == Http1Parser::Status::need_more; ++i) {
    last = p.feed("X-Pad-" + std::to_string(i) + ": " + std::string(500, 'a') + "\r\n").status;
  }
  EXPECT_EQ(last, Http1Parser::Status::error);
  EXPECT_EQ(p.error_status(), 431);
}

TEST(Http1Parser, ConnectIsAnUpgradeHead) {
  Http1Parser p(Http1Parser::Kind::request);
  auto out = p.feed("CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n\x16\x03");
  ASSERT_EQ(out.status, Http1Parser::Status::head);
  MessageHead h = p.take_head();
  EXPECT_EQ(h.method, "CONNECT");
  EXPECT_EQ(h.target, "a.test:443");
  EXPECT_TRUE(h.upgrade);
}

TEST(Http1Parser, KeepAliveSequenceOfRequests) {
  Http1Parser p(Http1Parser::Kind::request);
  std::string two = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
  std::string_view in = two;
  std::vector<std::string> targets;
  for (int i = 0; i < 10 && !in.empty(); ++i) {
    auto out = p.feed(in);
    in.remove_prefix(out.consumed);
    if (out.status == Http1Parser::Status::head) targets.push_back(p.take_head().target);
    if (out.status == Http1Parser::Status::message_end) p.resume_next();
  }
  EXPECT_EQ(targets, (std::vector<std::string>{"/1", "/2"}));
}

TEST(Http1Parser, ResponseToHeadHasNoBody) {
  Http1Parser p(Http1Parser::Kind::response);
  p.expect_no_body();
  MessageHead h;
  auto f = feed_all(p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", &h);
  EXPECT_EQ(f.status, Http1Parser::Status::message_end);
  EXPECT_EQ(h.status, 200);
}

TEST(Http1Parser, EofDelimitedResponseEndsOnFinish) {
  Http1Parser p(Http1Parser::Kind::response);
  auto f = feed_all(p, "HTTP/1.1 200 OK\r\n\r\nstream");
  EXPECT_EQ(f.status, Http1Parser::Status::need_more);
  EXPECT_TRUE(p.needs_eof());
  EXPECT_TRUE(p.finish());
  EXPECT_EQ(f.body, "stream");
}

}  // namespace
}  // namespace bottle::proxy
