#include "common/proposal_queue.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <set>

#include "common/files.h"

namespace bottle {
namespace {

using nlohmann::json;

constexpr const char* kProposalSuffix = ".json";
constexpr const char* kResponseSuffix = ".response.json";
constexpr const char* kOutcomeSuffix = ".outcome.json";
// Nothing legitimate comes near this; a bigger file is foreign and is not read whole.
constexpr off_t kMaxFileBytes = 1 << 20;

// Reads and type-checks the keys of one JSON object; the first problem wins.
class Fields {
 public:
  Fields(const json& j, std::string_view where) : j_(j), where_(where) {
    if (!j.is_object()) fail("not a JSON object");
  }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  std::string str(const char* key, bool required = true) {
    seen_.insert(key);
    if (!ok()) return "";
    auto it = j_.find(key);
    if (it == j_.end()) {
      if (required) fail(std::string("missing \"") + key + "\"");
      return "";
    }
    if (!it->is_string()) {
      fail(std::string("\"") + key + "\" must be a string");
      return "";
    }
    return it->get<std::string>();
  }
  bool has(const char* key) const { return j_.is_object() && j_.contains(key); }
  const json* object(const char* key, bool required) {
    seen_.insert(key);
    if (!ok()) return nullptr;
    auto it = j_.find(key);
    if (it == j_.end()) {
      if (required) fail(std::string("missing \"") + key + "\"");
      return nullptr;
    }
    if (!it->is_object()) {
      fail(std::string("\"") + key + "\" must be an object");
      return nullptr;
    }
    return &*it;
  }
  bool boolean(const char* key) {
    seen_.insert(key);
    if (!ok()) return false;
    auto it = j_.find(key);
    if (it == j_.end() || !it->is_boolean()) {
      fail(std::string("\"") + key + "\" must be true or false");
      return false;
    }
    return it->get<bool>();
  }
  void version() {
    seen_.insert("version");
    if (!ok()) return;
    auto it = j_.find("version");
    if (it == j_.end() || !it->is_number_integer() ||
        it->get<int64_t>() != kProposalFormatVersion) {
      fail("unsupported \"version\" (expected " + std::to_string(kProposalFormatVersion) + ")");
    }
  }
  std::string id() {
    std::string id = str("id");
    if (ok() && !valid_proposal_id(id)) fail("bad \"id\" (expected [a-z0-9][a-z0-9-]{0,63})");
    return id;
  }
  std::string timestamp(const char* key) {
    std::string t = str(key);
    if (ok() && !parse_iso8601(t)) fail(std::string("\"") + key + "\" is not an RFC 3339 time");
    return t;
  }
  // Unknown keys are typos or a newer format: refuse rather than drop data silently.
  void finish() {
    if (!ok()) return;
    for (const auto& [key, value] : j_.items()) {
      if (!seen_.count(key)) {
        fail("unknown key \"" + key + "\"");
        return;
      }
    }
  }
  void fail(const std::string& why) {
    if (error_.empty()) error_ = std::string(where_) + ": " + why;
  }

 private:
  const json& j_;
  std::string_view where_;
  std::set<std::string> seen_;
  std::string error_;
};

bool valid_bottle_label(std::string_view s) {
  return s.empty() || valid_proposal_id(s);
}

// Parses a queue file; nullopt + problem when it is missing, too big or not JSON.
Result<std::optional<json>> read_json_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<json>();
    return Error{path + ": " + std::strerror(errno)};
  }
  if (!S_ISREG(st.st_mode)) return Error{path + ": not a regular file"};
  if (st.st_size > kMaxFileBytes) return Error{path + ": larger than 1 MiB"};
  auto text = read_file_if_exists(path);
  if (!text) return Error{text.error()};
  if (!*text) return std::optional<json>();
  json j = json::parse(**text, nullptr, false);
  if (j.is_discarded()) return Error{path + ": not valid JSON (half-written or corrupt)"};
  return std::optional<json>(std::move(j));
}

std::string dump_file(const json& j) {
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Names in a queue directory: "<id>.json", "<id>.response.json", "<id>.outcome.json".
enum class FileRole { proposal, response, outcome, foreign };
FileRole classify(std::string_view name, std::string& id) {
  FileRole role = FileRole::proposal;
  std::string_view stem;
  if (ends_with(name, kResponseSuffix)) {
    role = FileRole::response;
    stem = name.substr(0, name.size() - std::strlen(kResponseSuffix));
  } else if (ends_with(name, kOutcomeSuffix)) {
    role = FileRole::outcome;
    stem = name.substr(0, name.size() - std::strlen(kOutcomeSuffix));
  } else if (ends_with(name, kProposalSuffix)) {
    stem = name.substr(0, name.size() - std::strlen(kProposalSuffix));
  } else {
    return FileRole::foreign;
  }
  if (!valid_proposal_id(stem)) return FileRole::foreign;
  id = std::string(stem);
  return role;
}

std::vector<std::string> list_names(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return names;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n.empty() || n[0] == '.') continue;  // ".", "..", and temp files being written
    names.emplace_back(n);
  }
  ::closedir(d);
  return names;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

std::string_view to_string(ProposalKind kind) {
  switch (kind) {
    case ProposalKind::egress_route:
      return "egress-route";
    case ProposalKind::capability:
      return "capability";
    case ProposalKind::stuck:
      return "stuck";
    case ProposalKind::gitleaks_allow:
      return "gitleaks-allow";
  }
  return "?";
}

std::optional<ProposalKind> parse_proposal_kind(std::string_view text) {
  for (auto k : {ProposalKind::egress_route, ProposalKind::capability, ProposalKind::stuck,
                 ProposalKind::gitleaks_allow}) {
    if (to_string(k) == text) return k;
  }
  return std::nullopt;
}

std::string_view to_string(Decision decision) {
  switch (decision) {
    case Decision::approve:
      return "approve";
    case Decision::reject:
      return "reject";
    case Decision::answer:
      return "answer";
  }
  return "?";
}

std::optional<Decision> parse_decision(std::string_view text) {
  for (auto d : {Decision::approve, Decision::reject, Decision::answer}) {
    if (to_string(d) == text) return d;
  }
  return std::nullopt;
}

bool valid_proposal_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0);
    if (!ok) return false;
  }
  return true;
}

std::string new_proposal_id() {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  // Fresh entropy per id: a cached generator would repeat itself in forked children.
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(rd()));
  return std::to_string(ms) + "-" + suffix;
}

json to_json(const Proposal& p) {
  return json{{"version", kProposalFormatVersion},
              {"id", p.id},
              {"kind", std::string(to_string(p.kind))},
              {"created", p.created},
              {"bottle", p.bottle},
              {"reason", p.reason},
              {"request", p.request}};
}

json to_json(const Response& r) {
  json j{{"version", kProposalFormatVersion},
         {"id", r.id},
         {"decision", std::string(to_string(r.decision))},
         {"by", r.by},
         {"decided", r.decided}};
  j[r.decision == Decision::answer ? "text" : "reason"] = r.text;
  if (r.route) j["route"] = *r.route;
  return j;
}

json to_json(const Outcome& o) {
  return json{{"version", kProposalFormatVersion},
              {"id", o.id},
              {"ok", o.ok},
              {"detail", o.detail},
              {"finished", o.finished}};
}

Result<Proposal> proposal_from_json(const json& j, std::string_view where) {
  Fields f(j, where);
  f.version();
  Proposal p;
  p.id = f.id();
  std::string kind = f.str("kind");
  if (f.ok()) {
    if (auto k = parse_proposal_kind(kind)) {
      p.kind = *k;
    } else {
      f.fail("unknown \"kind\" (expected egress-route, capability, stuck or gitleaks-allow)");
    }
  }
  p.created = f.timestamp("created");
  p.bottle = f.str("bottle");
  if (f.ok() && !valid_bottle_label(p.bottle)) f.fail("bad \"bottle\" (expected a slug or \"\")");
  p.reason = f.str("reason");
  if (const json* req = f.object("request", true)) p.request = *req;
  f.finish();
  if (!f.ok()) return Error{f.error()};
  return p;
}

Result<Response> response_from_json(const json& j, std::string_view where) {
  Fields f(j, where);
  f.version();
  Response r;
  r.id = f.id();
  std::string decision = f.str("decision");
  if (f.ok()) {
    if (auto d = parse_decision(decision)) {
      r.decision = *d;
    } else {
      f.fail("unknown \"decision\" (expected approve, reject or answer)");
    }
  }
  if (f.ok() && f.has("reason") && f.has("text")) f.fail("has both \"reason\" and \"text\"");
  r.text = f.has("text") ? f.str("text") : f.str("reason", false);
  r.by = f.str("by");
  r.decided = f.timestamp("decided");
  if (const json* route = f.object("route", false)) r.route = *route;
  f.finish();
  if (!f.ok()) return Error{f.error()};
  return r;
}

Result<Outcome> outcome_from_json(const json& j, std::string_view where) {
  Fields f(j, where);
  f.version();
  Outcome o;
  o.id = f.id();
  o.ok = f.boolean("ok");
  o.detail = f.str("detail");
  o.finished = f.timestamp("finished");
  f.finish();
  if (!f.ok()) return Error{f.error()};
  return o;
}

ProposalQueue::ProposalQueue(std::string dir) : dir_(std::move(dir)) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
}

std::string ProposalQueue::proposal_path(std::string_view id) const {
  return dir_ + "/" + std::string(id) + kProposalSuffix;
}

std::string ProposalQueue::response_path(std::string_view id) const {
  return dir_ + "/" + std::string(id) + kResponseSuffix;
}

Status ProposalQueue::create(const Proposal& p) const {
  if (!valid_proposal_id(p.id)) return Error{"bad proposal id '" + p.id + "'"};
  // Round-trip through the reader so nothing unreadable is ever written.
  const json j = to_json(p);
  if (auto back = proposal_from_json(j, p.id); !back) return Error{back.error()};
  auto created = create_file_exclusive(proposal_path(p.id), dump_file(j), 0600);
  if (!created) return Error{created.error()};
  if (!*created) return Error{proposal_path(p.id) + ": a proposal with this id exists"};
  return OkStatus();
}

Result<Proposal> ProposalQueue::proposal(std::string_view id) const {
  if (!valid_proposal_id(id)) return Error{"bad proposal id '" + std::string(id) + "'"};
  const std::string path = proposal_path(id);
  auto j = read_json_file(path);
  if (!j) return Error{j.error()};
  if (!*j) return Error{"no pending proposal " + std::string(id) + " in " + dir_};
  auto p = proposal_from_json(**j, path);
  if (!p) return Error{p.error()};
  if (p->id != id) return Error{path + ": \"id\" does not match the file name"};
  return p;
}

Result<std::optional<Response>> ProposalQueue::response(std::string_view id) const {
  if (!valid_proposal_id(id)) return Error{"bad proposal id '" + std::string(id) + "'"};
  const std::string path = response_path(id);
  auto j = read_json_file(path);
  if (!j) return Error{j.error()};
  if (!*j) return std::optional<Response>();
  auto r = response_from_json(**j, path);
  if (!r) return Error{r.error()};
  if (r->id != id) return Error{path + ": \"id\" does not match the file name"};
  return std::optional<Response>(std::move(*r));
}

Result<ProposalQueue::AnswerResult> ProposalQueue::answer(const Response& r) const {
  if (!valid_proposal_id(r.id)) return Error{"bad proposal id '" + r.id + "'"};
  const json j = to_json(r);
  if (auto back = response_from_json(j, r.id); !back) return Error{back.error()};
  if (!file_exists(proposal_path(r.id))) {
    if (file_exists(response_path(r.id))) return AnswerResult::already_answered;
    return Error{"no pending proposal " + r.id + " in " + dir_};
  }
  auto created = create_file_exclusive(response_path(r.id), dump_file(j), 0600);
  if (!created) return Error{created.error()};
  if (!*created) return AnswerResult::already_answered;
  // The consumer may have archived the proposal (timeout) between the check and the
  // link; then this answer would lie about a proposal nobody reads any more.
  if (!file_exists(proposal_path(r.id))) {
    ::unlink(response_path(r.id).c_str());
    return AnswerResult::already_answered;
  }
  return AnswerResult::recorded;
}

Status ProposalQueue::archive(std::string_view id, const std::optional<Outcome>& outcome) const {
  if (!valid_proposal_id(id)) return Error{"bad proposal id '" + std::string(id) + "'"};
  const std::string processed = processed_dir();
  if (::mkdir(processed.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error{processed + ": " + std::strerror(errno)};
  }
  const std::string sid(id);
  if (outcome) {
    if (auto st = write_file_atomic(processed + "/" + sid + kOutcomeSuffix,
                                    dump_file(to_json(*outcome)), 0600);
        !st) {
      return st;
    }
  }
  // Proposal first: while the response stays behind, a second answer cannot be linked
  // in and the operator's tools see the id as answered, never as pending again.
  for (const auto& [from, to] :
       {std::pair{proposal_path(id), processed + "/" + sid + kProposalSuffix},
        std::pair{response_path(id), processed + "/" + sid + kResponseSuffix}}) {
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      return Error{from + ": archive: " + std::strerror(errno)};
    }
  }
  return OkStatus();
}

ProposalQueue::Scan ProposalQueue::scan(bool include_archived) const {
  Scan out;
  auto scan_dir = [&](const std::string& dir, bool archived) {
    std::vector<std::string> proposals;
    std::set<std::string> responses, outcomes;
    for (const auto& name : list_names(dir)) {
      std::string id;
      const std::string path = dir + "/" + name;
      switch (classify(name, id)) {
        case FileRole::proposal:
          proposals.push_back(id);
          break;
        case FileRole::response:
          responses.insert(id);
          break;
        case FileRole::outcome:
          outcomes.insert(id);
          break;
        case FileRole::foreign:
          if (name == "processed" && !archived) break;
          out.problems.push_back(path +
                                 ": not a queue file (expected <id>.json or <id>.response.json)");
          break;
      }
    }
    for (const auto& id : proposals) {
      const std::string ppath = dir + "/" + id + kProposalSuffix;
      auto j = read_json_file(ppath);
      if (!j) {
        out.problems.push_back(j.error());
        continue;
      }
      if (!*j) continue;  // archived between listing and reading
      auto p = proposal_from_json(**j, ppath);
      if (!p) {
        out.problems.push_back(p.error());
        continue;
      }
      if (p->id != id) {
        out.problems.push_back(ppath + ": \"id\" does not match the file name");
        continue;
      }
      Entry e;
      e.proposal = std::move(*p);
      e.archived = archived;
      auto read_optional = [&](const std::set<std::string>& have, const char* suffix, auto parse,
                               auto& slot) {
        if (!have.count(id)) return;
        const std::string path = dir + "/" + id + suffix;
        auto rj = read_json_file(path);
        if (!rj) {
          out.problems.push_back(rj.error());
          return;
        }
        if (!*rj) return;
        auto v = parse(**rj, path);
        if (!v) {
          out.problems.push_back(v.error());
        } else if (v->id != id) {
          out.problems.push_back(path + ": \"id\" does not match the file name");
        } else {
          slot = std::move(*v);
        }
      };
      read_optional(responses, kResponseSuffix, response_from_json, e.response);
      read_optional(outcomes, kOutcomeSuffix, outcome_from_json, e.outcome);
      out.entries.push_back(std::move(e));
    }
    // A response whose proposal is gone in the live queue is left over from a crash.
    if (!archived) {
      for (const auto& id : responses) {
        // Mid-archive (the proposal already moved, the response about to) is not a problem.
        if (std::find(proposals.begin(), proposals.end(), id) == proposals.end() &&
            !file_exists(dir + "/" + id + kProposalSuffix) &&
            !file_exists(processed_dir() + "/" + id + kProposalSuffix)) {
          out.problems.push_back(dir + "/" + id + kResponseSuffix +
                                 ": answer to a proposal that is not in the queue");
        }
      }
    }
  };
  scan_dir(dir_, false);
  if (include_archived) {
    const size_t live = out.entries.size();
    scan_dir(processed_dir(), true);
    // A proposal archived between the two listings is seen twice; its archived copy is the
    // later state, so the live one goes.
    std::set<std::string> archived_ids;
    for (size_t i = live; i < out.entries.size(); ++i) archived_ids.insert(out.entries[i].proposal.id);
    std::erase_if(out.entries, [&](const Entry& e) {
      return !e.archived && archived_ids.count(e.proposal.id) > 0;
    });
  }
  std::sort(out.entries.begin(), out.entries.end(), [](const Entry& a, const Entry& b) {
    auto ta = parse_iso8601(a.proposal.created).value_or(0);
    auto tb = parse_iso8601(b.proposal.created).value_or(0);
    return ta != tb ? ta < tb : a.proposal.id < b.proposal.id;
  });
  return out;
}

json ProposalQueue::scan_to_json(const Scan& scan) {
  json entries = json::array();
  for (const auto& e : scan.entries) {
    json j = {{"proposal", bottle::to_json(e.proposal)}, {"archived", e.archived}};
    if (e.response) j["response"] = bottle::to_json(*e.response);
    if (e.outcome) j["outcome"] = bottle::to_json(*e.outcome);
    entries.push_back(std::move(j));
  }
  return {{"entries", std::move(entries)}, {"problems", scan.problems}};
}

Result<ProposalQueue::Scan> ProposalQueue::scan_from_json(const json& j, std::string_view where) {
  const std::string at(where);
  if (!j.is_object() || !j.contains("entries") || !j["entries"].is_array() ||
      !j.contains("problems") || !j["problems"].is_array()) {
    return Error{at + ": expected {\"entries\": [...], \"problems\": [...]}"};
  }
  Scan scan;
  for (const auto& p : j["problems"]) {
    if (!p.is_string()) return Error{at + ": problems: expected strings"};
    scan.problems.push_back(p.get<std::string>());
  }
  for (size_t i = 0; i < j["entries"].size(); ++i) {
    const json& e = j["entries"][i];
    const std::string in = at + ": entries[" + std::to_string(i) + "]";
    if (!e.is_object() || !e.contains("proposal") || !e.contains("archived") ||
        !e["archived"].is_boolean()) {
      return Error{in + ": expected {\"proposal\", \"archived\", ...}"};
    }
    Entry entry;
    auto p = proposal_from_json(e["proposal"], in + ".proposal");
    if (!p) return Error{p.error()};
    entry.proposal = std::move(*p);
    entry.archived = e["archived"].get<bool>();
    if (e.contains("response")) {
      auto r = response_from_json(e["response"], in + ".response");
      if (!r) return Error{r.error()};
      entry.response = std::move(*r);
    }
    if (e.contains("outcome")) {
      auto o = outcome_from_json(e["outcome"], in + ".outcome");
      if (!o) return Error{o.error()};
      entry.outcome = std::move(*o);
    }
    scan.entries.push_back(std::move(entry));
  }
  return scan;
}

}  // namespace bottle
