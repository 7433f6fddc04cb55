#include "init/line_relay.h"

#include <unistd.h>

#include <cerrno>
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

OutputPipe::OutputPipe(std::string daemon, const char* stream, UniqueFd fd)
    : daemon_(std::move(daemon)),
      stream_(stream),
      fd_(std::move(fd)),
      lines_([this](std::string_view line) { relay_line(daemon_, stream_, line); }) {}

void OutputPipe::read_some() {
  char buf[kMaxLineBytes];
  const ssize_t n = read(fd_.get(), buf, sizeof buf);
  if (n > 0) {
    lines_.feed(std::string_view(buf, static_cast<size_t>(n)));
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    close_pipe();
  }
}

void OutputPipe::drain() {
  char buf[64 * 1024];
  ssize_t n;
  while (fd_.valid() && (n = read(fd_.get(), buf, sizeof buf)) > 0) {
    lines_.feed(std::string_view(buf, static_cast<size_t>(n)));
  }
  close_pipe();
}

void OutputPipe::close_pipe() {
  lines_.finish();
  fd_.reset();
}

}  // namespace bottle::init
