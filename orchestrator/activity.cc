#include "orchestrator/activity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "common/http/admin_client.h"
#include "common/listen.h"
#include "common/unique_fd.h"
#include "orchestrator/preflight.h"
#include "orchestrator/state.h"

namespace bottle::orchestrator {
namespace {

using nlohmann::json;

constexpr size_t kMaxLineBytes = 1 << 20;

std::string string_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// Fields every line has, shown in the line's prefix instead of as key=value.
bool is_prefix_field(const std::string& key) {
  return key == "ts" || key == "level" || key == "component" || key == "event" || key == "daemon";
}

// The fields an operator reads first, in this order; the rest follow alphabetically.
constexpr std::array<std::string_view, 11> kFirstFields = {
    "reason",   "method",   "host",    "port",   "path", "rule",
    "detector", "location", "snippet", "detail", "repo"};

std::string value_text(const json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    const bool plain = !s.empty() && std::none_of(s.begin(), s.end(), [](char c) {
      return c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20;
    });
    return plain ? s : v.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::optional<LogEvent> parse_log_line(std::string_view line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  LogEvent e;
  e.daemon = string_field(j, "daemon");
  if (e.daemon.empty()) e.daemon = string_field(j, "component") == "init" ? "init" : "?";
  e.event = string_field(j, "event");
  e.level = string_field(j, "level");
  e.ts = string_field(j, "ts");
  e.fields = std::move(j);
  return e;
}

bool is_block_event(const LogEvent& e) {
  return e.event == "egress_block" || e.event == "gitgate_push_rejected";
}

bool is_warn_event(const LogEvent& e) {
  return e.event == "egress_dlp_warn" || e.event == "gitgate_push_warned";
}

std::string block_reason(const LogEvent& e) {
  if (e.event == "gitgate_push_rejected") return "push_rejected";
  std::string r = string_field(e.fields, "reason");
  return r.empty() ? "?" : r;
}

std::string pretty_log_line(const LogEvent& e, bool color) {
  // "2026-12-03T10:31:02.123Z" -> "10:31:02"
  std::string time = e.ts.size() >= 19 && e.ts[10] == 'T' ? e.ts.substr(11, 8) : e.ts;
  std::string level = printable(e.level.empty() ? "-" : e.level);
  level.resize(std::max<size_t>(level.size(), 5), ' ');
  if (color && e.level == "warn") level = "\x1b[33m" + level + "\x1b[0m";
  if (color && e.level == "error") level = "\x1b[31m" + level + "\x1b[0m";
  std::string daemon = e.daemon;
  daemon.resize(std::max<size_t>(daemon.size(), 9), ' ');
  std::string out = printable(time) + " " + printable(daemon) + " " + level + " " +
                    printable(e.event.empty() ? "-" : e.event);
  auto add = [&](const std::string& key, const json& value) {
    out += " " + printable(key) + "=" + printable(value_text(value));
  };
  for (std::string_view key : kFirstFields) {
    auto it = e.fields.find(key);
    if (it != e.fields.end() && !it->is_null()) add(std::string(key), *it);
  }
  for (const auto& [key, value] : e.fields.items()) {
    if (is_prefix_field(key) || value.is_null() ||
        std::find(kFirstFields.begin(), kFirstFields.end(), key) != kFirstFields.end())
      continue;
    // The first finding is already in detector/location/snippet: count the rest.
    if (key == "findings" && value.is_array()) {
      if (value.size() > 1) out += " findings=" + std::to_string(value.size());
      continue;
    }
    add(key, value);
  }
  return out;
}

Result<std::vector<std::string>> LogTail::read_new() {
  UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    if (errno == ENOENT) return std::vector<std::string>{};
    return Error{path_ + ": " + std::strerror(errno)};
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error{path_ + ": " + std::strerror(errno)};
  if (static_cast<uint64_t>(st.st_size) < offset_) {  // truncated or replaced
    offset_ = 0;
    partial_.clear();
  }
  std::vector<std::string> lines;
  char buf[65536];
  for (;;) {
    ssize_t n = ::pread(fd.get(), buf, sizeof buf, static_cast<off_t>(offset_));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error{path_ + ": read: " + std::strerror(errno)};
    if (n == 0) break;
    offset_ += static_cast<uint64_t>(n);
    std::string_view chunk(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = chunk.find('\n')) != std::string_view::npos;) {
      partial_.append(chunk.substr(0, nl));
      lines.push_back(std::move(partial_));
      partial_.clear();
      chunk.remove_prefix(nl + 1);
    }
    partial_.append(chunk);
    // init cuts lines at 16 KiB; anything else without a newline is not let grow.
    if (partial_.size() > kMaxLineBytes) {
      lines.push_back(std::move(partial_));
      partial_.clear();
    }
  }
  return lines;
}

void BlockTally::add(const LogEvent& e) {
  if (!is_block_event(e)) return;
  ++total;
  ++by_reason[block_reason(e)];
  recent.push_back(e);
  while (recent.size() > keep) recent.pop_front();
}

std::string sidecar_log_path(const std::string& slug) {
  return state_dir(slug) + "/logs/sidecar.log";
}

Status tally_new_blocks(LogTail& tail, BlockTally& tally) {
  auto lines = tail.read_new();
  if (!lines) return Error{lines.error()};
  for (const auto& line : *lines) {
    if (line.find("\"egress_block\"") == std::string::npos &&
        line.find("\"gitgate_push_rejected\"") == std::string::npos)
      continue;
    if (auto e = parse_log_line(line)) tally.add(*e);
  }
  return OkStatus();
}

Result<EgressCounters> read_egress_counters(int admin_port) {
  if (admin_port <= 0 || admin_port > 65535) return Error{"no admin port recorded"};
  auto spec = parse_listen_spec("127.0.0.1:" + std::to_string(admin_port));
  if (!spec) return Error{spec.error()};
  auto text = admin_get(*spec, "/metrics", std::chrono::milliseconds(1000));
  if (!text) return Error{text.error()};
  EgressCounters c;
  c.requests = prometheus_value(*text, "egress_requests_total").value_or(0);
  c.blocks_by_reason = prometheus_by_label(*text, "egress_blocks_total", "reason");
  return c;
}

}  // namespace bottle::orchestrator
