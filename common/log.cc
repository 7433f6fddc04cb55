#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>

namespace bottle::log {
namespace {

struct Sink {
  std::string component = "bottle";
  std::shared_ptr<spdlog::logger> logger;
  Sink() {
    // Thread-safe stderr sink; the pattern is the bare message because we emit JSON.
    logger = std::make_shared<spdlog::logger>("bottle",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::debug);
    logger->flush_on(spdlog::level::debug);
  }
};

Sink& sink() {
  static Sink s;
  return s;
}

const char* level_name(Level l) {
  switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "info";
}

std::string now_rfc3339() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = time_point_cast<seconds>(now);
  auto ms = duration_cast<milliseconds>(now - secs).count();
  std::time_t t = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

void init(std::string_view component) { sink().component = std::string(component); }

void event(Level level, std::string_view ev, nlohmann::json fields) {
  nlohmann::json line = nlohmann::json::object();
  line["ts"] = now_rfc3339();
  line["level"] = level_name(level);
  line["component"] = sink().component;
  line["event"] = std::string(ev);
  if (fields.is_object()) {
    for (auto& [k, v] : fields.items()) line[k] = std::move(v);
  }
  // replace: invalid UTF-8 in a field (e.g. a hostile path) must not throw.
  sink().logger->info(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string redact(std::string_view s, size_t keep) {
  if (keep > s.size()) keep = s.size();
  return std::string(s.substr(0, keep)) + "********";
}

}  // namespace bottle::log
