#include "init/config.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "common/strict_yaml.h"
#include "common/strings.h"

namespace bottle::init {
namespace {

// Every reader returns a Result; the first error found is the one reported.
class Parser {
 public:
  explicit Parser(std::string_view file) : file_(file) {}

  Result<InitConfig> parse(const YAML::Node& root) const {
    InitConfig config;
    if (!root.IsDefined() || root.IsNull()) {
      return fail(root, "empty config: expected a 'daemons:' map");
    }
    auto top = checked_map(root, "the top level", {"daemons"});
    if (!top) return top.failure();
    for (const auto& [key, value] : *top) {
      if (key != "daemons") continue;
      auto daemons = checked_map(value.node, "'daemons'", {});
      if (!daemons) return daemons.failure();
      for (const auto& [name, body] : *daemons) {
        auto d = daemon(name, body.key, body.node);
        if (!d) return d.failure();
        config.daemons[name] = std::move(*d);
      }
    }
    return config;
  }

 private:
  struct Entry {
    YAML::Node key;
    YAML::Node node;
  };
  using Map = std::map<std::string, Entry>;

  Error fail(const YAML::Node& at, const std::string& message) const {
    const YAML::Mark m = at.Mark();
    std::ostringstream out;
    out << file_;
    if (!m.is_null()) out << ':' << m.line + 1 << ':' << m.column + 1;
    out << ": " << message;
    return Error{out.str()};
  }

  // A mapping whose keys are unique strings; `allowed` empty = any key.
  Result<Map> checked_map(const YAML::Node& n, const std::string& what,
                          const std::set<std::string>& allowed) const {
    if (!n.IsMap()) return fail(n, what + " must be a map");
    Map out;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) return fail(kv.first, "keys in " + what + " must be plain names");
      const std::string key = kv.first.Scalar();
      if (!allowed.empty() && !allowed.count(key)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        const std::string guess = did_you_mean(key, {allowed.begin(), allowed.end()});
        return fail(kv.first, "unknown key '" + key + "' in " + what +
                                  (guess.empty() ? "" : " (did you mean '" + guess + "'?)") +
                                  " (allowed: " + list + ")");
      }
      out[key] = Entry{kv.first, kv.second};
    }
    return out;
  }

  Result<std::string> scalar(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) return fail(n, what + " must be a string");
    return n.Scalar();
  }

  Result<std::vector<YAML::Node>> sequence(const YAML::Node& n, const std::string& what) const {
    if (!n.IsSequence()) return fail(n, what + " must be a list");
    return std::vector<YAML::Node>{n.begin(), n.end()};
  }

  Result<DaemonSpec> daemon(const std::string& name, const YAML::Node& key,
                            const YAML::Node& body) const {
    DaemonSpec d;
    d.name = name;
    if (!valid_daemon_name(name)) {
      return fail(key, "daemon name '" + name + "' must match [a-z0-9][a-z0-9_-]* (max 32)");
    }
    const std::string in = "daemon '" + name + "'";
    auto fields =
        checked_map(body, in, {"argv", "env", "inherit_fds", "restart", "ready", "reload_signal",
                                   "reload_on_change"});
    if (!fields) return fields.failure();
    if (!fields->count("argv")) return fail(body, in + " needs 'argv'");
    for (const auto& [field, e] : *fields) {
      Status st = OkStatus();
      if (field == "argv") st = set(d.argv, argv(e.node, in));
      if (field == "env") st = set(d.env_allow, env_allow(e.node, in));
      if (field == "inherit_fds") st = set(d.inherit_fds, fds(e.node, in));
      if (field == "restart") st = set(d.restart, restart(e.node, in));
      if (field == "ready") st = set(d.ready, ready(e.node, in));
      if (field == "reload_signal") {
        st = set(d.reload_signal, boolean(e.node, in + " reload_signal"));
      }
      if (field == "reload_on_change") st = set(d.reload_on_change, directory(e.node, in));
      if (!st) return st.failure();
    }
    return d;
  }

  // Moves a read value into its field, or passes the error on.
  template <typename T, typename U>
  static Status set(T& field, Result<U> read) {
    if (!read) return read.failure();
    field = std::move(*read);
    return OkStatus();
  }

  Result<std::string> directory(const YAML::Node& n, const std::string& in) const {
    auto dir = scalar(n, in + " reload_on_change");
    if (!dir) return dir.failure();
    if (dir->empty() || (*dir)[0] != '/')
      return fail(n, in + " reload_on_change must be an absolute directory path");
    return dir;
  }

  Result<std::vector<std::string>> argv(const YAML::Node& n, const std::string& in) const {
    auto items = sequence(n, in + " argv");
    if (!items) return items.failure();
    std::vector<std::string> out;
    for (const auto& item : *items) {
      auto s = scalar(item, in + " argv item");
      if (!s) return s.failure();
      out.push_back(std::move(*s));
    }
    if (out.empty()) return fail(n, in + " argv must not be empty");
    if (out[0].empty() || out[0][0] != '/') {
      return fail(n, in + " argv[0] must be an absolute path (init does not search PATH)");
    }
    return out;
  }

  Result<std::vector<std::string>> env_allow(const YAML::Node& n, const std::string& in) const {
    auto items = sequence(n, in + " env");
    if (!items) return items.failure();
    std::vector<std::string> out;
    for (const auto& item : *items) {
      auto pattern = scalar(item, in + " env item");
      if (!pattern) return pattern.failure();
      if (!valid_env_pattern(*pattern)) {
        return fail(item, in + " env entry '" + *pattern +
                              "' must be a variable name, optionally ending in '*'");
      }
      out.push_back(std::move(*pattern));
    }
    return out;
  }

  Result<std::vector<int>> fds(const YAML::Node& n, const std::string& in) const {
    auto items = sequence(n, in + " inherit_fds");
    if (!items) return items.failure();
    std::vector<int> out;
    for (const auto& item : *items) {
      int fd = -1;
      auto s = scalar(item, in + " inherit_fds item");
      if (!s) return s.failure();
      auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), fd);
      if (ec != std::errc() || end != s->data() + s->size() || fd < 3 || fd > 65535) {
        return fail(item, in + " inherit_fds entry '" + *s + "' must be an fd number >= 3");
      }
      for (int seen : out) {
        if (seen == fd) return fail(item, in + " inherit_fds lists fd " + *s + " twice");
      }
      out.push_back(fd);
    }
    return out;
  }

  Result<RestartPolicy> restart(const YAML::Node& n, const std::string& in) const {
    auto s = scalar(n, in + " restart");
    if (!s) return s.failure();
    if (*s == "always") return RestartPolicy::always;
    if (*s == "on-failure") return RestartPolicy::on_failure;
    if (*s == "never") return RestartPolicy::never;
    return fail(n, in + " restart '" + *s + "' must be always, on-failure or never");
  }

  Result<bool> boolean(const YAML::Node& n, const std::string& what) const {
    auto s = scalar(n, what);
    if (!s) return s.failure();
    if (*s == "true") return true;
    if (*s == "false") return false;
    return fail(n, what + " must be true or false");
  }

  Result<ReadyProbe> ready(const YAML::Node& n, const std::string& in) const {
    const std::string what = in + " ready";
    auto fields = checked_map(n, what, {"http", "tcp"});
    if (!fields) return fields.failure();
    if (fields->size() != 1) return fail(n, what + " needs exactly one of 'http' or 'tcp'");
    const auto& [kind, e] = *fields->begin();
    ReadyProbe p;
    p.kind = kind == "http" ? ReadyProbe::Kind::http : ReadyProbe::Kind::tcp;
    auto text = scalar(e.node, what + " " + kind);
    if (!text) return text.failure();
    std::string s = *text;
    if (p.kind == ReadyProbe::Kind::http) {
      if (auto slash = s.find('/'); slash != std::string::npos) {
        p.path = s.substr(slash);
        s.resize(slash);
      }
    }
    if (!split_host_port(s, p)) {
      return fail(e.node, what + " " + kind + " '" + e.node.Scalar() + "' must be IP:PORT" +
                              (kind == "http" ? "[/path]" : "") + " (e.g. 127.0.0.1:9098" +
                              (kind == "http" ? "/healthz)" : ")"));
    }
    return p;
  }

  static bool split_host_port(const std::string& s, ReadyProbe& p) {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos) return false;
    std::string host = s.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    unsigned char buf[16];
    const bool v4 = inet_pton(AF_INET, host.c_str(), buf) == 1;
    const bool v6 = inet_pton(AF_INET6, host.c_str(), buf) == 1;
    if (!v4 && !v6) return false;
    const auto port = parse_port(std::string_view(s).substr(colon + 1));
    if (!port) return false;
    p.host = host;
    p.port = *port;
    return true;
  }

  static bool valid_daemon_name(const std::string& s) {
    if (s.empty() || s.size() > 32) return false;
    for (size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      const bool ok =
          (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '_' || c == '-'));
      if (!ok) return false;
    }
    return true;
  }

  static bool valid_env_pattern(const std::string& s) {
    const size_t n = !s.empty() && s.back() == '*' ? s.size() - 1 : s.size();
    if (n == 0 && s != "*") return false;
    for (size_t i = 0; i < n; ++i) {
      const char c = s[i];
      const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
      if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
  }

  std::string file_;
};

}  // namespace

Result<InitConfig> parse_init_config(std::string_view text, std::string_view file) {
  // The one strict reader: anchors, aliases, tags, tabs and duplicate keys are refused
  // with file:line:col before the daemon table is read.
  auto root = load_strict_yaml(text, file);
  if (!root) return Error{root.error()};
  return Parser(file).parse(*root);
}

Result<InitConfig> load_init_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{path + ": " + std::strerror(errno)};
  std::ostringstream text;
  text << in.rdbuf();
  return parse_init_config(text.str(), path);
}

Result<std::vector<std::string>> select_daemons(std::string_view csv, const InitConfig& config) {
  std::vector<std::string> names;
  for (const std::string& name : split_trim(csv, ',')) {
    if (!config.daemons.count(name)) {
      std::string known;
      for (const auto& [k, v] : config.daemons) known += (known.empty() ? "" : ", ") + k;
      return Error{"BOTTLE_DAEMONS: unknown daemon '" + name +
                   "' (configured: " + (known.empty() ? "none" : known) + ")"};
    }
    bool dup = false;
    for (const auto& n : names) dup = dup || n == name;
    if (!dup) names.push_back(name);
  }
  return names;
}

}  // namespace bottle::init
