// Fuzzes the gate's smart-HTTP request path without sockets: bytes in chunks (the first
// byte picks the size) through the HTTP/1.1 parser; every head is routed against a fixed
// gitgate.yaml, bodies are counted and gzip bodies inflated as the connection would,
// keep-alive continues with the next request.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "common/dlp/decompress.h"
#include "common/http/http1_parser.h"
#include "config/gate_config.h"
#include "gitgate/http_route.h"

using namespace bottle;

namespace {

const config::GateConfig& gate_config() {
  static std::shared_ptr<const config::GateConfig> cfg = [] {
    auto c = config::parse_gate_config(
        "repos:\n"
        "  - name: app\n    upstream: ssh://git@h:2222/org/app.git\n"
        "    host_key: \"ssh-ed25519 "
        "AAAAC3NzaC1lZDI1NTE5AAAAIHPc6qDFTajfl6uR9jnS0mJ7JaAEf5ZfwIuIEQCd3YNj\"\n"
        "    key: /k\n"
        "  - name: my.lib-2\n    upstream: git@h:org/lib.git\n"
        "    host_key: \"ssh-ed25519 "
        "AAAAC3NzaC1lZDI1NTE5AAAAIHPc6qDFTajfl6uR9jnS0mJ7JaAEf5ZfwIuIEQCd3YNj\"\n"
        "    key: GIT_KEY_0\n",
        "fuzz.yaml");
    if (!c) __builtin_trap();
    return c.value();
  }();
  return *cfg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0] % 97;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  Http1Parser parser(Http1Parser::Kind::request);
  std::unique_ptr<dlp::BodyDecoder> gunzip;
  uint64_t body = 0;
  std::string plain;
  parser.set_body_sink([&](std::string_view c) {
    body += c.size();
    if (gunzip) (void)gunzip->feed(c, plain);
  });
  std::string pending;
  size_t fed = 0;
  while (fed < input.size() || !pending.empty()) {
    if (fed < input.size()) {
      const size_t n = std::min(chunk, input.size() - fed);
      pending.append(input.substr(fed, n));
      fed += n;
    }
    auto out = parser.feed(pending);
    if (out.consumed > pending.size()) __builtin_trap();
    pending.erase(0, out.consumed);
    switch (out.status) {
      case Http1Parser::Status::head: {
        MessageHead head = parser.take_head();
        auto routed = gitgate::route_http(head, gate_config());
        if (auto* r = std::get_if<gitgate::HttpRoute>(&routed)) {
          if (!r->repo || gate_config().find(r->repo->name) != r->repo) __builtin_trap();
          if (r->kind == gitgate::HttpRoute::Kind::rpc && head.content_length &&
              *head.content_length > gitgate::kMaxDeclaredBody) {
            __builtin_trap();
          }
          gunzip.reset();
          if (r->gzip) {
            if (auto d = dlp::BodyDecoder::create("gzip", 1 << 20)) gunzip = std::move(*d);
          }
        } else {
          const auto& no = std::get<gitgate::HttpRefusal>(routed);
          if (no.status < 400 || no.status > 499 || no.message.empty()) __builtin_trap();
        }
        break;
      }
      case Http1Parser::Status::message_end:
        if (gunzip) (void)gunzip->finish(plain);
        plain.clear();
        parser.resume_next();
        break;
      case Http1Parser::Status::need_more:
        if (fed >= input.size()) return 0;
        break;
      default:
        return 0;  // error or upgrade: the connection answers and closes
    }
  }
  return 0;
}
