#include "common/http/config_reload.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/files.h"
#include "common/http/admin_client.h"
#include "common/sha256.h"

namespace bottle {
namespace {

using namespace std::chrono_literals;
constexpr auto kAdminTimeout = 5s;

}  // namespace

std::string to_json(const ReloadState& s) {
  return nlohmann::json{{"reloads", s.reloads},
                        {"failures", s.failures},
                        {"pending", s.pending},
                        {"config_sha256", s.config_sha256},
                        {"failed_sha256", s.failed_sha256},
                        {"last_error", s.last_error}}
             .dump() +
         "\n";
}

Result<ReloadState> parse_reload_state(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error{"/reload: not a JSON object"};
  ReloadState s;
  auto count = [&](const char* key, uint64_t& out) -> Status {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_unsigned()) {
      return Error{std::string("/reload: ") + key + " is not a count"};
    }
    out = it->get<uint64_t>();
    return OkStatus();
  };
  auto text_field = [&](const char* key, std::string& out) -> Status {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) {
      return Error{std::string("/reload: ") + key + " is not a string"};
    }
    out = it->get<std::string>();
    return OkStatus();
  };
  for (auto st : {count("reloads", s.reloads), count("failures", s.failures),
                  text_field("config_sha256", s.config_sha256),
                  text_field("failed_sha256", s.failed_sha256),
                  text_field("last_error", s.last_error)}) {
    if (!st) return Error{st.error()};
  }
  auto pending = j.find("pending");
  if (pending == j.end() || !pending->is_boolean()) {
    return Error{"/reload: pending is not a boolean"};
  }
  s.pending = pending->get<bool>();
  return s;
}

Result<ReloadState> read_reload_state(const ListenSpec& admin, std::chrono::milliseconds timeout) {
  auto body = admin_get(admin, "/reload", timeout);
  if (!body) return Error{body.error()};
  auto s = parse_reload_state(*body);
  if (!s) return Error{"admin " + admin.to_string() + ": " + s.error()};
  return s;
}

Result<AppliedChange> apply_config_change(const ConfigChange& c) {
  AppliedChange done;
  done.sha256 = sha256_hex(c.after);
  std::optional<ReloadState> start;
  if (c.admin) {
    auto s = read_reload_state(*c.admin, kAdminTimeout);
    if (!s) return Error{"egress is not answering, nothing changed: " + s.error()};
    start = *s;
  }
  if (auto st = write_file_atomic(c.file, c.after, c.mode); !st) return Error{st.error()};
  // From here on a failure puts the old file back.
  auto restore = [&](const std::string& why) -> Error {
    if (auto st = write_file_atomic(c.file, c.before, c.mode); !st) {
      return Error{why + "; restoring " + c.file + " failed too: " + st.error()};
    }
    if (auto st = c.reload(); !st) {
      return Error{why + "; " + c.file + " restored, but its reload failed: " + st.error()};
    }
    return Error{why + "; " + c.file + " restored"};
  };
  if (auto st = c.reload(); !st) return restore(st.error());
  if (!c.admin) return done;

  // Egress compiles off its event loop; watch /reload until it shows the outcome.
  const auto deadline = std::chrono::steady_clock::now() + c.timeout;
  auto delay = 1ms;
  while (std::chrono::steady_clock::now() < deadline) {
    auto now = read_reload_state(*c.admin, kAdminTimeout);
    if (!now) return restore(now.error());
    if (now->reloads > start->reloads && now->config_sha256 == done.sha256) {
      done.confirmed = true;
      done.reloads = now->reloads;
      return done;
    }
    // A failure of other bytes (a write racing ours) is not ours; a reload still queued
    // may yet read our file.
    if (now->failures > start->failures && now->failed_sha256 == done.sha256 && !now->pending) {
      return restore("egress refused the new " + c.what + ": " + now->last_error);
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(50));
  }
  return restore("egress did not show the new " + c.what + " within " +
                 std::to_string(c.timeout.count() / 1000) + " s");
}

}  // namespace bottle
