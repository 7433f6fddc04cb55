#include "init/line_relay.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/log.h"

namespace bottle::init {

void LineSplitter::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    const auto nl = bytes.find('\n');
    const size_t take = nl == std::string_view::npos ? bytes.size() : nl;
    const size_t room = kMaxLineBytes - pending_.size();
    if (take >= room) {
      // Line too long: emit exactly kMaxLineBytes and keep going with the rest.
      pending_.append(bytes.substr(0, room));
      bytes.remove_prefix(room);
      sink_(pending_);
      pending_.clear();
      continue;
    }
    pending_.append(bytes.substr(0, take));
    if (nl == std::string_view::npos) return;
    bytes.remove_prefix(nl + 1);
    std::string_view line = pending_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    sink_(line);
    pending_.clear();
  }
}

void LineSplitter::finish() {
  if (pending_.empty()) return;
  sink_(pending_);
  pending_.clear();
}

std::optional<std::string> merge_daemon_field(std::string_view daemon, std::string_view line) {
  if (line.empty() || line.front() != '{') return std::nullopt;
  auto obj = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!obj.is_object()) return std::nullopt;
  obj["daemon"] = std::string(daemon);
  return obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void relay_line(std::string_view daemon, std::string_view stream, std::string_view line) {
  if (auto merged = merge_daemon_field(daemon, line)) {
    merged->push_back('\n');
    std::fwrite(merged->data(), 1, merged->size(), stderr);
    std::fflush(stderr);
    return;
  }
  log::info("output", {{"daemon", std::string(daemon)},
                       {"stream", std::string(stream)},
                       {"line", std::string(line)}});
}

}  // namespace bottle::init
