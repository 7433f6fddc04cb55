#include "config/gate_config.h"

#include <algorithm>
#include <array>
#include <map>
#include <sstream>

#include "common/files.h"
#include "common/strict_yaml.h"
#include "common/strings.h"

namespace bottle::config {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool valid_user(std::string_view u) {
  return !u.empty() && u[0] != '-' && std::all_of(u.begin(), u.end(), [](char c) {
    return is_alnum(c) || c == '.' || c == '_' || c == '-';
  });
}

// A host name or an IPv4 literal; IPv6 literals arrive without their brackets.
bool valid_host(std::string_view h, bool bracketed) {
  if (h.empty() || h[0] == '-') return false;
  return std::all_of(h.begin(), h.end(), [bracketed](char c) {
    return is_alnum(c) || c == '.' || c == '-' || c == '_' || (bracketed && c == ':');
  });
}

bool valid_path(std::string_view p) {
  if (p.empty() || p[0] == '-') return false;
  return std::none_of(p.begin(), p.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// "host", "host:port", "[v6]" or "[v6]:port" into `u`.
Status split_host_port(std::string_view hp, SshUrl& u, bool allow_port) {
  std::string_view host = hp, port;
  bool bracketed = false;
  if (hp.starts_with('[')) {
    size_t close = hp.find(']');
    if (close == std::string_view::npos) return Error{"unclosed '[' in host"};
    host = hp.substr(1, close - 1);
    bracketed = true;
    std::string_view rest = hp.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return Error{"unexpected text after ']'"};
      port = rest.substr(1);
      if (port.empty()) return Error{"empty port"};
    }
  } else if (size_t colon = hp.find(':'); colon != std::string_view::npos) {
    host = hp.substr(0, colon);
    port = hp.substr(colon + 1);
    if (port.empty()) return Error{"empty port"};
  }
  if (!valid_host(host, bracketed)) return Error{"bad host '" + std::string(host) + "'"};
  u.host = std::string(host);
  if (!port.empty()) {
    if (!allow_port) return Error{"a port needs the ssh:// form"};
    const auto number = parse_port(port);
    if (!number) return Error{"bad port '" + std::string(port) + "'"};
    u.port = *number;
  }
  return OkStatus();
}

// Decodes the first `n` bytes of standard base64 text; false on a bad character.
bool base64_prefix(std::string_view text, size_t n, std::string& out) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (out.size() >= n || c == '=') break;
    size_t v = kAlphabet.find(c);
    if (v == std::string_view::npos) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

std::string with_user(const SshUrl& u) {
  std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  return u.user.empty() ? host : u.user + "@" + host;
}

}  // namespace

Result<SshUrl> parse_ssh_url(std::string_view url) {
  auto bad = [url](const std::string& why) {
    return Error{"bad upstream '" + std::string(url) + "': " + why +
                 " (expected ssh://[user@]host[:port]/path or [user@]host:path)"};
  };
  SshUrl u;
  std::string_view rest = url;
  if (rest.starts_with("ssh://")) {
    rest.remove_prefix(6);
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return bad("no path");
    std::string_view authority = rest.substr(0, slash);
    if (size_t at = authority.find('@'); at != std::string_view::npos) {
      u.user = std::string(authority.substr(0, at));
      if (!valid_user(u.user)) return bad("bad user '" + u.user + "'");
      authority.remove_prefix(at + 1);
    }
    if (auto st = split_host_port(authority, u, true); !st) return bad(st.error());
    u.path = std::string(rest.substr(slash));
    if (u.path == "/") return bad("no path");
  } else if (size_t scheme = rest.find("://"); scheme != std::string_view::npos) {
    return bad("scheme '" + std::string(rest.substr(0, scheme)) + "' is not ssh");
  } else {
    u.scp_like = true;
    size_t host_start = 0;
    size_t at = rest.find('@');
    if (at != std::string_view::npos && at < rest.find(':')) {
      u.user = std::string(rest.substr(0, at));
      if (!valid_user(u.user)) return bad("bad user '" + u.user + "'");
      host_start = at + 1;
    }
    size_t colon = rest.find(
        ':', rest.substr(host_start).starts_with('[') ? rest.find(']', host_start) : host_start);
    size_t slash = rest.find('/');
    if (colon == std::string_view::npos || (slash != std::string_view::npos && slash < colon)) {
      return bad("not an ssh URL");
    }
    if (auto st = split_host_port(rest.substr(host_start, colon - host_start), u, false); !st)
      return bad(st.error());
    u.path = std::string(rest.substr(colon + 1));
    // "<helper>::<address>" runs a git remote helper (ext:: runs a command): never ssh.
    if (u.path.starts_with(':')) return bad("'::' selects a git remote helper");
  }
  if (!valid_path(u.path)) return bad("bad path '" + u.path + "'");
  return u;
}

std::vector<std::string> SshUrl::equivalent_urls() const {
  std::vector<std::string> out;
  const std::string path_abs = path.starts_with('/') ? path : "/" + path;
  if (scp_like) {
    out.push_back("ssh://" + with_user(*this) + path_abs);
    return out;
  }
  if (port != 22) return out;
  out.push_back(with_user(*this) + ":" + path.substr(1));
  out.push_back("ssh://" + with_user(*this) + path);
  out.push_back("ssh://" + with_user(*this) + ":22" + path);
  return out;
}

Result<std::string> parse_host_key(std::string_view text) {
  static constexpr std::array<std::string_view, 7> kTypes = {"ssh-ed25519",
                                                             "ssh-rsa",
                                                             "ecdsa-sha2-nistp256",
                                                             "ecdsa-sha2-nistp384",
                                                             "ecdsa-sha2-nistp521",
                                                             "sk-ssh-ed25519@openssh.com",
                                                             "sk-ecdsa-sha2-nistp256@openssh.com"};
  std::istringstream in{std::string(text)};
  std::string type, blob;
  in >> type >> blob;
  if (std::find(kTypes.begin(), kTypes.end(), type) == kTypes.end()) {
    return Error{
        "host_key must be '<type> <base64>' as in a known_hosts line without the host "
        "name (type one of ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa, ...; got '" +
        type + "')"};
  }
  std::string head;
  const bool base64_text =
      blob.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") ==
          std::string::npos &&
      blob.find('=') >= blob.size() - 2;
  if (!base64_text || blob.size() < 16 || blob.size() % 4 != 0 ||
      !base64_prefix(blob, 4 + type.size(), head) || head.size() < 4 + type.size() ||
      head.substr(0, 4) != std::string({0, 0, 0, static_cast<char>(type.size())}) ||
      head.substr(4) != type) {
    return Error{"host_key: the base64 part is not a " + type + " key"};
  }
  return type + " " + blob;
}

bool valid_repo_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         std::all_of(name.begin(), name.end(),
                     [](char c) { return is_alnum(c) || c == '.' || c == '_' || c == '-'; });
}

const GateRepo* GateConfig::find(std::string_view name) const {
  for (const auto& r : repos) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

namespace {

// Reads gitgate.yaml; the first error wins.
class GateConfigReader {
 public:
  GateConfigReader(std::string_view file, const GateLoadOptions& opts) : file_(file), opts_(opts) {}

  Result<std::shared_ptr<const GateConfig>> read(const YAML::Node& root) {
    auto cfg = std::make_shared<GateConfig>();
    if (!root.IsDefined() || root.IsNull())
      return Error{file_ + ":1:1: empty gitgate file (expected 'repos:')"};
    MapReader top(file_, root, "gitgate file");
    YAML::Node repos = top.node("repos");
    YAML::Node dlp = top.node("dlp");
    YAML::Node timeouts = top.node("timeouts");
    YAML::Node proposals = top.node("proposals");
    top.finish();
    if (!top.ok()) return Error{top.error()};
    if (!repos.IsDefined())
      return Error{file_ + ":1:1: missing 'repos' (the list of repos the gate fronts)"};
    if (!repos.IsNull() && !repos.IsSequence())
      return Error{where(file_, repos) + ": 'repos' must be a list"};
    if (repos.IsSequence()) {
      std::map<std::string, int> seen;
      for (const auto& r : repos) {
        GateRepo repo;
        if (auto st = read_repo(r, repo); !st) return Error{st.error()};
        auto [it, fresh] = seen.emplace(repo.name, repo.line);
        if (!fresh) {
          return Error{where(file_, r) + ": duplicate repo name '" + repo.name +
                       "' (first at line " + std::to_string(it->second) + ")"};
        }
        cfg->repos.push_back(std::move(repo));
      }
    }
    if (dlp.IsDefined()) {
      DlpKeys keys;
      keys.inbound = false;              // a push is only ever scanned outbound
      keys.stream_large_bodies = false;  // max_body_bytes is the per-blob scan cap
      if (opts_.detector_ids) keys.detector_ids = &*opts_.detector_ids;
      if (auto st = read_dlp_section(file_, dlp, "dlp", keys, opts_.env, cfg->dlp,
                                     &cfg->known_secrets_env);
          !st) {
        return Error{st.error()};
      }
    }
    if (timeouts.IsDefined()) {
      MapReader t(file_, timeouts, "timeouts");
      if (auto v = t.integer("request_ms", 1, 3'600'000))
        cfg->timeouts.request_ms = static_cast<uint64_t>(*v);
      if (auto v = t.integer("idle_ms", 1, 86'400'000))
        cfg->timeouts.idle_ms = static_cast<uint64_t>(*v);
      t.finish();
      if (!t.ok()) return Error{t.error()};
    }
    if (proposals.IsDefined()) {
      MapReader p(file_, proposals, "proposals");
      GateProposals out;
      YAML::Node queue_node = p.node("queue");
      auto queue = p.str("queue");
      if (auto v = p.integer("wait_ms", 1, 86'400'000)) out.wait_ms = static_cast<uint64_t>(*v);
      if (auto v = p.str("bottle")) out.bottle = *v;
      p.finish();
      if (!p.ok()) return Error{p.error()};
      if (!queue || !queue->starts_with('/')) {
        return Error{
            where(file_, queue ? queue_node : proposals) +
            ": 'proposals' needs 'queue: <absolute path of the proposal queue directory>'"};
      }
      out.queue = *queue;
      cfg->proposals = out;
    }
    return std::shared_ptr<const GateConfig>(std::move(cfg));
  }

 private:
  Status read_repo(const YAML::Node& n, GateRepo& repo) {
    MapReader r(file_, n, "repo");
    if (!r.ok()) return Error{r.error()};
    repo.line = n.Mark().line + 1;
    YAML::Node name_node = r.node("name");
    auto name = r.str("name");
    YAML::Node up_node = r.node("upstream");
    auto upstream = r.str("upstream");
    YAML::Node hk_node = r.node("host_key");
    auto host_key = r.str("host_key");
    YAML::Node key_node = r.node("key");
    auto key = r.str("key");
    r.finish();
    if (!r.ok()) return Error{r.error()};
    const std::string at = where(file_, n);
    if (!name) return Error{at + ": repo is missing 'name'"};
    if (!valid_repo_name(*name)) {
      return Error{where(file_, name_node) + ": repo name '" + *name +
                   "' must match [A-Za-z0-9._-]+"};
    }
    if (name->ends_with(".git")) {
      return Error{where(file_, name_node) + ": repo name '" + *name +
                   "' must not end in .git (the gate serves it as /" + *name + ".git)"};
    }
    repo.name = *name;
    if (!upstream)
      return Error{at + ": repo '" + repo.name + "' is missing 'upstream' (its ssh URL)"};
    auto url = parse_ssh_url(*upstream);
    if (!url) return Error{where(file_, up_node) + ": " + url.error()};
    repo.upstream = *upstream;
    repo.url = *url;
    if (!host_key) {
      return Error{at + ": repo '" + repo.name +
                   "' is missing 'host_key' (the upstream's pinned ssh host key; the gate never "
                   "trusts a key on first use)"};
    }
    auto hk = parse_host_key(*host_key);
    if (!hk) return Error{where(file_, hk_node) + ": " + hk.error()};
    repo.host_key = *hk;
    if (!key)
      return Error{at + ": repo '" + repo.name +
                   "' is missing 'key' (a private key file or GIT_KEY_<n>)"};
    if (key->starts_with('/')) {
      repo.key_file = *key;
    } else if (key->starts_with("GIT_KEY_") && key->size() > 8 &&
               std::all_of(key->begin() + 8, key->end(),
                           [](char c) { return c >= '0' && c <= '9'; })) {
      if (auto why = env_slot_problem(*key, opts_.env))
        return Error{where(file_, key_node) + ": " + *why};
      repo.key_env = *key;
    } else {
      return Error{where(file_, key_node) +
                   ": 'key' must be an absolute file path or an env slot GIT_KEY_<n> (got '" +
                   *key + "')"};
    }
    return OkStatus();
  }

  std::string file_;
  const GateLoadOptions& opts_;
};

}  // namespace

Result<std::shared_ptr<const GateConfig>> parse_gate_config(std::string_view yaml,
                                                            std::string_view file,
                                                            const GateLoadOptions& opts) {
  auto root = load_strict_yaml(yaml, file);
  if (!root) return Error{root.error()};
  return GateConfigReader(file, opts).read(*root);
}

Result<std::shared_ptr<const GateConfig>> load_gate_config(const std::string& path,
                                                           const GateLoadOptions& opts) {
  auto text = read_text_file(path);
  if (!text) return Error{text.error()};
  return parse_gate_config(*text, path, opts);
}

}  // namespace bottle::config
