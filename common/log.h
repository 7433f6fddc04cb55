// Structured logging: one JSON object per line on stderr (SPEC §4.5). Every line has
// "ts", "level", "component" and "event"; callers add fields. Nothing here redacts:
// callers must never pass a secret (use redact() on anything that may hold one).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace bottle::log {

enum class Level { debug, info, warn, error };

// Sets the component name (e.g. "egress") printed on every line. Call once in main().
void init(std::string_view component);

void event(Level level, std::string_view event, nlohmann::json fields = nlohmann::json::object());
inline void info(std::string_view e, nlohmann::json f = nlohmann::json::object()) {
  event(Level::info, e, std::move(f));
}
inline void warn(std::string_view e, nlohmann::json f = nlohmann::json::object()) {
  event(Level::warn, e, std::move(f));
}
inline void error(std::string_view e, nlohmann::json f = nlohmann::json::object()) {
  event(Level::error, e, std::move(f));
}

// Keeps the first `keep` characters, replaces the rest with "********".
std::string redact(std::string_view s, size_t keep = 0);

}  // namespace bottle::log
