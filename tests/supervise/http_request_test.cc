// RequestReader: whole requests out of arbitrary byte splits, with the limits the MCP
// endpoint promises (1 MiB body → 413, 64 KiB head → 431, bad framing → 400).
#include "supervise/http_request.h"

#include <gtest/gtest.h>

namespace bottle::supervise {
namespace {

struct Fed {
  RequestReader::State state;
  std::vector<HttpRequest> requests;
  std::string rest;
};

// Feeds `bytes` in pieces of `step` bytes, taking every completed request.
Fed feed_all(RequestReader& r, const std::string& bytes, size_t step = 7) {
  Fed out{RequestReader::State::need_more, {}, ""};
  std::string pending;
  for (size_t i = 0; i < bytes.size(); i += step) {
    pending += bytes.substr(i, step);
    for (;;) {
      auto o = r.feed(pending);
      pending.erase(0, o.consumed);
      out.state = o.state;
      if (o.state == RequestReader::State::complete) {
        out.requests.push_back(r.take());
        if (!pending.empty()) continue;
      }
      break;
    }
    if (out.state == RequestReader::State::failed) break;
  }
  out.rest = pending;
  return out;
}

std::string post(const std::string& body, const std::string& extra = "") {
  return "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:9100\r\nContent-Type: application/json\r\n" +
         extra + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(HttpRequest, ByteByByteAndPipelinedRequestsComeOutWhole) {
  RequestReader r;
  auto out = feed_all(r, post("{\"a\":1}") + post("{\"b\":2}", "X-Trace:  spaced  \r\n"), 1);
  ASSERT_EQ(out.requests.size(), 2u);
  EXPECT_EQ(out.requests[0].method, "POST");
  EXPECT_EQ(out.requests[0].path(), "/mcp");
  EXPECT_EQ(out.requests[0].body, "{\"a\":1}");
  EXPECT_EQ(out.requests[1].body, "{\"b\":2}");
  EXPECT_EQ(out.requests[1].header("x-trace"), "spaced");
  EXPECT_EQ(out.requests[1].header("HOST"), "127.0.0.1:9100");
  EXPECT_TRUE(out.requests[1].keep_alive);
}

TEST(HttpRequest, ChunkedBodiesAreDechunked) {
  RequestReader r;
  auto out = feed_all(r,
                      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n");
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(out.requests[0].body, "{\"a\":1}");
}

TEST(HttpRequest, DeclaredBodyOverOneMebibyteIs413BeforeAnyBodyByte) {
  RequestReader r;
  auto o = r.feed("POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n");
  EXPECT_EQ(o.state, RequestReader::State::failed);
  EXPECT_EQ(r.error_status(), 413);
  RequestReader ok;
  auto at_cap = ok.feed("POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n");
  EXPECT_EQ(at_cap.state, RequestReader::State::need_more);
}

TEST(HttpRequest, ChunkedBodyGrowingPastTheCapIs413) {
  RequestReader r(16);
  auto out = feed_all(r,
                      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "10\r\n0123456789abcdef\r\n1\r\nX\r\n0\r\n\r\n");
  EXPECT_EQ(out.state, RequestReader::State::failed);
  EXPECT_EQ(r.error_status(), 413);
  EXPECT_TRUE(out.requests.empty());
}

TEST(HttpRequest, HugeHeadIs431AndTooManyHeadersToo) {
  RequestReader r;
  auto o = r.feed("POST / HTTP/1.1\r\nX-Big: " + std::string(70 * 1024, 'a') + "\r\n\r\n");
  EXPECT_EQ(o.state, RequestReader::State::failed);
  EXPECT_EQ(r.error_status(), 431);
  std::string many = "POST / HTTP/1.1\r\n";
  for (int i = 0; i < 101; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  RequestReader r2;
  EXPECT_EQ(r2.feed(many + "\r\n").state, RequestReader::State::failed);
  EXPECT_EQ(r2.error_status(), 431);
}

TEST(HttpRequest, SmugglingShapesAndGarbageAre400) {
  for (const std::string bad :
       {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "GET / HTTP/9.9\r\n\r\n"}) {
    RequestReader r;
    auto out = feed_all(r, bad);
    EXPECT_EQ(out.state, RequestReader::State::failed) << bad;
    EXPECT_EQ(r.error_status(), 400) << bad;
    EXPECT_NE(r.error_reason().find("malformed request"), std::string::npos) << r.error_reason();
  }
}

TEST(HttpRequest, ExpectContinueIsSignalledOnceAndNotForARefusedBody) {
  RequestReader r;
  auto o =
      r.feed("POST /mcp HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(o.state, RequestReader::State::need_more);
  EXPECT_TRUE(r.take_continue_request());
  EXPECT_FALSE(r.take_continue_request());
  EXPECT_EQ(r.feed("{}").state, RequestReader::State::complete);
  RequestReader big;
  big.feed(
      "POST /mcp HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 9999999\r\n\r\n");
  EXPECT_FALSE(big.take_continue_request());
  EXPECT_EQ(big.error_status(), 413);
}

TEST(HttpRequest, ConnectAndHttp10CloseTheConnectionAfterTheAnswer) {
  RequestReader r;
  auto o = r.feed("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nrest");
  ASSERT_EQ(o.state, RequestReader::State::complete);
  auto req = r.take();
  EXPECT_EQ(req.method, "CONNECT");
  EXPECT_FALSE(req.keep_alive);
  RequestReader old;
  ASSERT_EQ(old.feed("GET / HTTP/1.0\r\n\r\n").state, RequestReader::State::complete);
  EXPECT_FALSE(old.take().keep_alive);
}

TEST(HttpResponse, CarriesLengthHeadersAndClose) {
  EXPECT_EQ(http_response(202, "", "", {}, false),
            "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(http_response(413, "text/plain", "big\n", {{"X-A", "b"}}, true),
            "HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain\r\nContent-Length: "
            "4\r\nX-A: b\r\nConnection: close\r\n\r\nbig\n");
}

}  // namespace
}  // namespace bottle::supervise
