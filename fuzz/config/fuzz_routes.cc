// Fuzzes the routes.yaml loader and, when a file loads, the matcher and renderer on it.
// Any input must give either a table or a positioned error, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/route_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  bottle::config::LoadOptions opts;
  opts.env = [](const std::string& k) -> std::optional<std::string> {
    if (k == "EGRESS_TOKEN_0") return "tok";
    return std::nullopt;
  };
  auto table = bottle::config::parse_routes(text, "fuzz.yaml", opts);
  if (!table.ok()) {
    if (table.error().rfind("fuzz.yaml:", 0) != 0) __builtin_trap();  // every error is positioned
    return 0;
  }
  const auto& t = **table;
  // The fuzz input also serves as a hostile path and host.
  size_t cut = size / 2;
  bottle::config::RequestView req;
  req.host = text.substr(0, cut);
  req.port = 443;
  req.method = "GET";
  req.path = text.substr(cut);
  req.query = text.substr(cut);
  req.header = [](std::string_view) { return std::optional<std::string>("x"); };
  (void)t.match(req);
  for (const auto& r : t.routes) {
    req.host = r.wildcard ? std::string_view(r.host).substr(1) : std::string_view(r.host);
    (void)t.match(req);
  }
  auto again = bottle::config::parse_routes(t.to_yaml(), "rendered.yaml");
  if (!again.ok()) __builtin_trap();  // what we render must load
  return 0;
}
