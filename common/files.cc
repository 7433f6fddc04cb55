#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace bottle {
namespace {

std::string errno_text(const std::string& what, int e) {
  return what + ": " + std::strerror(e);
}

// Owns the temp file until it is renamed or linked into place; removes it otherwise.
class TempFile {
 public:
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  // Writes `data` to a fresh temp file next to `final_path` and fsyncs it.
  Status write(const std::string& final_path, std::string_view data, mode_t mode) {
    const size_t slash = final_path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : final_path.substr(0, slash);
    const std::string base = slash == std::string::npos ? final_path : final_path.substr(slash + 1);
    std::string tmpl = dir + "/." + base + ".tmp.XXXXXX";
    fd_ = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd_ < 0) return Error{errno_text(dir, errno)};
    path_ = tmpl;
    if (::fchmod(fd_, mode) != 0) return Error{errno_text(path_ + ": chmod", errno)};
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error{errno_text(path_ + ": write", errno)};
      off += static_cast<size_t>(n);
    }
    if (::fsync(fd_) != 0) return Error{errno_text(path_ + ": fsync", errno)};
    ::close(fd_);
    fd_ = -1;
    return OkStatus();
  }
  const std::string& path() const { return path_; }
  void forget() { path_.clear(); }  // renamed away: nothing to remove

 private:
  int fd_ = -1;
  std::string path_;
};

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

Result<std::string> read_text_file(const std::string& path) {
  auto r = read_file_if_exists(path);
  if (!r) return Error{r.error()};
  if (!*r) return Error{path + ": cannot read: " + std::strerror(ENOENT)};
  return std::move(**r);
}

Result<std::optional<std::string>> read_file_if_exists(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Error{path + ": cannot read: " + std::strerror(errno)};
  }
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Error{path + ": cannot read: " + std::strerror(e)};
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return std::optional<std::string>(std::move(out));
}

Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
  TempFile tmp;
  if (auto st = tmp.write(path, data, mode); !st) return st;
  if (::rename(tmp.path().c_str(), path.c_str()) != 0) return Error{errno_text(path, errno)};
  tmp.forget();
  return OkStatus();
}

Result<bool> create_file_exclusive(const std::string& path, std::string_view data, mode_t mode) {
  TempFile tmp;  // unlinked on return either way: after link(2) the final name holds the data
  if (auto st = tmp.write(path, data, mode); !st) return Error{st.error()};
  if (::link(tmp.path().c_str(), path.c_str()) == 0) return true;
  if (errno == EEXIST) return false;
  return Error{errno_text(path, errno)};
}

std::string now_iso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<int64_t> parse_iso8601(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  std::tm tm{};
  int year, mon, day, hour, min, sec;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, mon) ||
      s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') ||
      !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, min) || s[16] != ':' ||
      !digits(s, 17, 2, sec)) {
    return std::nullopt;
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) {
    return std::nullopt;
  }
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = (s[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  return static_cast<int64_t>(::timegm(&tm)) - offset;
}

}  // namespace bottle
