#include "orchestrator/proposals_cmd.h"

#include <poll.h>
#include <pwd.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "common/files.h"
#include "config/route_merge.h"
#include "orchestrator/k8s_backend.h"
#include "orchestrator/preflight.h"
#include "orchestrator/process.h"
#include "orchestrator/routes_cmd.h"
#include "orchestrator/state.h"
#include "orchestrator/terminal.h"

namespace bottle::orchestrator {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

// One proposal found in some bottle's queue.
struct Found {
  BottleMetadata md;
  bool alive = false;
  ProposalQueue::Entry entry;
};

std::string queue_dir_of(const std::string& slug) {
  return state_dir(slug) + "/proposals";
}

// A k8s bottle's queue is in its bundle pod, read through kubectl exec; every other
// bottle's is a directory here.
bool queue_in_cluster(const BottleMetadata& md) {
  return md.backend == "k8s";
}

Result<ProposalQueue::Scan> scan_queue(const BottleMetadata& md, bool all) {
  if (queue_in_cluster(md)) return k8s_queue_scan(md, all);
  return ProposalQueue(queue_dir_of(md.slug)).scan(all);
}

// Pending proposals of running bottles; with `all` also answered and archived ones and
// bottles that stopped.
std::vector<Found> collect(bool all, std::vector<std::string>& problems) {
  std::vector<Found> out;
  for (const auto& md : list_metadata()) {
    const bool alive = bottle_alive(md);
    if (!alive && !all) continue;
    // Rendered only, or stopped: no pod holds a queue any more.
    if (queue_in_cluster(md) && md.status != "applied") continue;
    auto scan = scan_queue(md, all);
    if (!scan) {
      problems.push_back(md.slug + ": " + scan.error());
      continue;
    }
    problems.insert(problems.end(), scan->problems.begin(), scan->problems.end());
    for (auto& e : scan->entries) {
      if (!all && e.response) continue;  // answered: the consumer is acting on it
      out.push_back({md, alive, std::move(e)});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Found& a, const Found& b) {
    return parse_iso8601(a.entry.proposal.created).value_or(0) <
           parse_iso8601(b.entry.proposal.created).value_or(0);
  });
  return out;
}

Result<Found> locate(const std::string& id, const std::string& bottle) {
  if (!valid_proposal_id(id)) return Error{"'" + id + "' is not a proposal id"};
  std::vector<std::string> problems;
  std::vector<Found> hits;
  for (auto& f : collect(true, problems)) {
    if (f.entry.proposal.id != id) continue;
    if (!bottle.empty() && f.md.slug != bottle && f.md.label != bottle) continue;
    hits.push_back(std::move(f));
  }
  if (hits.empty()) {
    return Error{"no proposal " + id + (bottle.empty() ? "" : " in bottle " + bottle) +
                 " (bottle proposals list --all shows them all)"};
  }
  if (hits.size() > 1) {
    return Error{"proposal " + id + " is in several bottles (" + hits[0].md.slug + ", " +
                 hits[1].md.slug + "); pass --bottle SLUG"};
  }
  return std::move(hits.front());
}

std::string route_summary(const json& route) {
  if (!route.is_object()) return "?";
  std::string s = route.value("host", std::string("?"));
  if (route.contains("port") && route["port"].is_number_integer()) {
    s += ":" + std::to_string(route["port"].get<int64_t>());
  }
  if (route.contains("matches") && route["matches"].is_array()) {
    for (const auto& m : route["matches"]) {
      std::string one;
      if (m.is_object() && m.contains("method") && m["method"].is_string())
        one += m["method"].get<std::string>();
      if (m.is_object() && m.contains("path") && m["path"].is_object()) {
        const json& p = m["path"];
        std::string v = p.value("value", std::string());
        std::string t = p.value("type", std::string());
        one += (one.empty() ? "" : " ") + v +
               (t == "PathPrefix"          ? "*"
                : t == "RegularExpression" ? " (regex)"
                                           : "");
      }
      if (m.is_object() && (m.contains("headers") || m.contains("queryParams")))
        one += " +conditions";
      s += " [" + (one.empty() ? std::string("any") : one) + "]";
    }
  }
  return s;
}

// What was asked, in one line.
std::string what_of(const Proposal& p) {
  switch (p.kind) {
    case ProposalKind::egress_route:
      return route_summary(p.request.value("route", json()));
    case ProposalKind::capability:
      return p.request.value("what", std::string("?"));
    case ProposalKind::stuck:
      return "-";
    case ProposalKind::gitleaks_allow:
      return p.request.dump();
  }
  return "?";
}

std::string status_of(const ProposalQueue::Entry& e) {
  if (!e.response) return e.archived ? "archived" : "pending";
  std::string s = std::string(to_string(e.response->decision)) + " by " + e.response->by;
  if (!e.archived) return s + " (in progress)";
  if (e.outcome && !e.outcome->ok) s += " (failed)";
  return s;
}

bool stdin_is_terminal() {
  return ::isatty(STDIN_FILENO) != 0;
}

int report_outcome(const Outcome& outcome, const std::string& consumer, std::ostream& out,
                   std::ostream& err) {
  if (!outcome.ok) {
    err << "bottle: " << consumer << ": " << shown(outcome.detail) << "\n";
    return 1;
  }
  out << "done: " << shown(outcome.detail) << "\n";
  return 0;
}

// await_outcome for a queue in a pod: the consumer archived `id` once a scan says so.
// Each look is a kubectl exec, so the polls are further apart.
int await_outcome_in_cluster(const BottleMetadata& md, const std::string& id,
                             std::chrono::milliseconds wait, const std::string& consumer,
                             std::ostream& out, std::ostream& err) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto scan = k8s_queue_scan(md, true);
    if (!scan) {
      err << "bottle: " << scan.error() << "\n";
      return 1;
    }
    for (const auto& e : scan->entries) {
      if (e.proposal.id != id || !e.archived) continue;
      if (e.outcome) return report_outcome(*e.outcome, consumer, out, err);
      out << "done (archived by " << consumer << ")\n";
      return 0;
    }
    if (std::chrono::steady_clock::now() + 250ms >= deadline) {
      out << "answered; " << consumer << " has not acted on it yet (is the bottle running?)\n";
      return 0;
    }
    std::this_thread::sleep_for(250ms);
  }
}

// Blocks until the consumer archived `id` (or `wait` passed); prints what came of it.
int await_outcome(const BottleMetadata& md, const std::string& id, std::chrono::milliseconds wait,
                  const std::string& consumer, std::ostream& out, std::ostream& err) {
  if (wait.count() == 0) return 0;
  if (queue_in_cluster(md)) return await_outcome_in_cluster(md, id, wait, consumer, out, err);
  const ProposalQueue q(queue_dir_of(md.slug));
  const auto deadline = std::chrono::steady_clock::now() + wait;
  // The consumer has no way to signal this process: poll the file it moves away.
  while (fs::exists(q.proposal_path(id))) {
    if (std::chrono::steady_clock::now() >= deadline) {
      out << "answered; " << consumer << " has not acted on it yet (is the bottle running?)\n";
      return 0;
    }
    std::this_thread::sleep_for(25ms);
  }
  auto text = read_file_if_exists(q.processed_dir() + "/" + id + ".outcome.json");
  if (!text || !*text) {
    out << "done (archived by " << consumer << ")\n";
    return 0;
  }
  json j = json::parse(**text, nullptr, false);
  auto outcome = outcome_from_json(j, id);
  if (!outcome) {
    err << "bottle: " << outcome.error() << "\n";
    return 1;
  }
  return report_outcome(*outcome, consumer, out, err);
}

// Approving a route request of a k8s bottle: supervise there cannot write the routes (a
// ConfigMap), so the operator's side merges the route into the bottle's routes.yaml and
// applies it as `bottle routes apply` does (ConfigMap, the bundle sees the kubelet's
// swap, init reloads egress) before the answer is written: when supervise tells the
// agent, the route is live.
Status apply_route_in_cluster(const Found& f, const json& route, config::RouteSource source,
                              std::ostream& out) {
  auto node = config::route_from_json(route, source);
  if (!node) return Error{"the route is invalid: " + node.error()};
  auto current = routes_show(f.md.slug);
  if (!current) return Error{current.error()};
  auto merged = config::merge_route(*current, "routes.yaml", *node);
  if (!merged) return Error{merged.error()};
  if (!merged->changed) {
    out << "already allowed: " << shown(merged->summary) << "\n";
    return OkStatus();
  }
  auto st = routes_apply_k8s(f.md.slug, merged->text, "the approved route",
                             [&](const std::string& line) { out << line << "\n" << std::flush; });
  if (!st) return Error{"the route could not be applied (nothing answered): " + st.error()};
  out << "applied: " << shown(merged->summary) << "\n";
  return OkStatus();
}

std::string consumer_of(ProposalKind k) {
  return k == ProposalKind::gitleaks_allow ? "bottle-gitgate" : "bottle-supervise";
}

// Opens $VISUAL/$EDITOR on the proposed route until it is a valid route that merges into
// the bottle's routes.yaml; returns the edited route as JSON.
Result<json> edit_route(const Found& f, std::ostream& err) {
  auto node = config::route_from_json(f.entry.proposal.request.value("route", json()),
                                      config::RouteSource::operator_edit);
  if (!node) return Error{"the proposed route is invalid: " + node.error()};
  char tmpl[] = "/tmp/bottle-route-XXXXXX.yaml";
  int fd = ::mkstemps(tmpl, 5);
  if (fd < 0) return Error{std::string("temp file: ") + std::strerror(errno)};
  ::close(fd);
  struct Remove {
    const char* path;
    ~Remove() { ::unlink(path); }
  } remove{tmpl};
  const std::string original = "# The route to approve for bottle " + f.md.slug +
                               ". Edit, save and quit; an unchanged\n"
                               "# file approves the route as proposed. Keys: host, port, matches, "
                               "auth, dlp, allow_private.\n" +
                               config::route_yaml(*node);
  if (auto st = write_file_atomic(tmpl, original, 0600); !st) return Error{st.error()};
  const char* editor = std::getenv("VISUAL");
  if (!editor || !*editor) editor = std::getenv("EDITOR");
  const std::string ed = editor && *editor ? editor : "vi";
  for (;;) {
    SpawnOptions so;
    so.argv = {"sh", "-c", ed + " \"$1\"", "sh", tmpl};
    auto child = spawn(so);
    if (!child) return Error{child.error()};
    if (child->wait() != 0) return Error{"editor exited with an error; nothing answered"};
    auto text = read_text_file(tmpl);
    if (!text) return Error{text.error()};
    auto check = [&]() -> Result<json> {
      auto edited = config::route_json_from_yaml(*text, "edited route");
      if (!edited) return Error{edited.error()};
      auto valid = config::route_from_json(*edited, config::RouteSource::operator_edit);
      if (!valid) return Error{valid.error()};
      auto current = routes_show(f.md.slug);
      if (!current) return Error{current.error()};
      auto merged = config::merge_route(*current, "routes.yaml", *valid);
      if (!merged) return Error{merged.error()};
      if (auto before = config::parse_routes(*current, "routes.yaml")) {
        if (auto st = check_token_slots(**before, *merged->table, "edited route"); !st) {
          return Error{st.error()};
        }
      }
      return *edited;
    };
    auto result = check();
    if (result || !stdin_is_terminal()) return result;
    err << "bottle: " << result.error()
        << "\nbottle: press Enter to edit again, Ctrl-C to give up\n";
    std::string line;
    if (!std::getline(std::cin, line)) return result;
  }
}

// Prints the route diff approving `f` would apply to its bottle's routes.yaml.
void print_route_diff(const Found& f, const json& route, config::RouteSource source,
                      std::ostream& out) {
  auto node = config::route_from_json(route, source);
  if (!node) {
    out << "the route is invalid: " << shown(node.error()) << "\n";
    return;
  }
  auto current = routes_show(f.md.slug);
  if (!current) {
    out << "routes.yaml: " << current.error() << "\n";
    return;
  }
  auto merged = config::merge_route(*current, "routes.yaml", *node);
  if (!merged) {
    out << "approving would fail: " << shown(merged.error()) << "\n";
    return;
  }
  if (!merged->changed) {
    out << "approving changes nothing: " << shown(merged->summary) << "\n";
    return;
  }
  out << "approving applies this change to " << routes_path(f.md.slug) << " ("
      << shown(merged->summary) << "):\n"
      << printable(
             config::unified_diff(*current, merged->text, "routes.yaml", "routes.yaml (approved)"),
             true);
}

}  // namespace

std::vector<Proposal> pending_proposals(const std::string& slug) {
  std::vector<Proposal> out;
  for (auto& e : ProposalQueue(queue_dir_of(slug)).scan(false).entries) {
    if (!e.response && !e.archived) out.push_back(std::move(e.proposal));
  }
  return out;  // scan() lists oldest first
}

std::string proposal_summary(const Proposal& p) {
  return what_of(p);
}

std::string answered_line(const std::string& slug, const std::string& id) {
  auto done = locate(id, slug);
  std::string line = "answered " + id;
  if (done && done->entry.response) {
    line += ": " + std::string(to_string(done->entry.response->decision)) + " by " +
            shown(done->entry.response->by, 64);
    if (done->entry.outcome) line += " (" + shown(done->entry.outcome->detail, 200) + ")";
  }
  return line;
}

std::string operator_name() {
  for (const char* var : {"BOTTLE_OPERATOR", "SUDO_USER", "USER"}) {
    const char* v = std::getenv(var);
    if (v && *v) return shown(v, 64);
  }
  if (passwd* pw = ::getpwuid(::getuid())) return pw->pw_name;
  return "operator";
}

int proposals_list(bool all, bool as_json, std::ostream& out, std::ostream& err) {
  std::vector<std::string> problems;
  auto found = collect(all, problems);
  for (const auto& p : problems) err << "bottle: warning: " << shown(p, 300) << "\n";
  if (as_json) {
    json arr = json::array();
    for (const auto& f : found) {
      json j = to_json(f.entry.proposal);
      j["label"] = f.md.label;
      j["bottle_running"] = f.alive;
      j["status"] = f.entry.response   ? (f.entry.archived ? "archived" : "answered")
                    : f.entry.archived ? "archived"
                                       : "pending";
      if (f.entry.response) j["response"] = to_json(*f.entry.response);
      if (f.entry.outcome) j["outcome"] = to_json(*f.entry.outcome);
      arr.push_back(std::move(j));
    }
    out << arr.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    return 0;
  }
  if (found.empty()) {
    out << (all ? "no proposals\n" : "no pending proposals\n");
    return 0;
  }
  char line[512];
  std::snprintf(line, sizeof line, "%-24s %-20s %-14s %-5s %-22s %s\n", "ID", "BOTTLE", "KIND",
                "AGE", "STATUS", "WHAT / REASON");
  out << line;
  for (const auto& f : found) {
    const Proposal& p = f.entry.proposal;
    std::snprintf(line, sizeof line, "%-24s %-20s %-14s %-5s %-22s ", p.id.c_str(),
                  shown(f.md.label, 20).c_str(), std::string(to_string(p.kind)).c_str(),
                  age_since(p.created).c_str(), shown(status_of(f.entry), 22).c_str());
    out << line << shown(what_of(p), 60) << " -- " << shown(p.reason, 80) << "\n";
  }
  return 0;
}

int proposals_show(const std::string& id, const std::string& bottle, std::ostream& out,
                   std::ostream& err) {
  auto f = locate(id, bottle);
  if (!f) {
    err << "bottle: " << f.error() << "\n";
    return 1;
  }
  const Proposal& p = f->entry.proposal;
  out << "proposal " << p.id << " (" << to_string(p.kind) << ") in bottle " << f->md.slug
      << (f->alive ? "" : " (not running)") << "\n"
      << "created:  " << p.created << " (" << age_since(p.created) << " ago)\n"
      << "status:   " << shown(status_of(f->entry)) << "\n"
      << "asked:    " << shown(what_of(p), 500) << "\n"
      << "reason:   " << shown(p.reason, 4096) << "\n"
      << "request:  " << shown(p.request.dump(), 4096) << "\n";
  if (const auto& r = f->entry.response) {
    out << "answer:   " << to_string(r->decision) << " by " << shown(r->by) << " at "
        << r->decided << (r->text.empty() ? "" : ": " + shown(r->text, 4096)) << "\n";
  }
  if (const auto& o = f->entry.outcome) {
    out << "outcome:  " << (o->ok ? "ok: " : "failed: ") << shown(o->detail, 4096) << "\n";
  }
  if (p.kind == ProposalKind::egress_route && !f->entry.response && !f->entry.archived) {
    out << "\n";
    print_route_diff(*f, p.request.value("route", json()), config::RouteSource::agent, out);
  }
  return 0;
}

int proposals_answer(const AnswerOptions& o, std::ostream& out, std::ostream& err) {
  auto fail = [&](const std::string& why) {
    err << "bottle: " << why << "\n";
    return 1;
  };
  auto f = locate(o.id, o.bottle);
  if (!f) return fail(f.error());
  const Proposal& p = f->entry.proposal;
  // Answered before (by someone else, or by us a moment ago): report, do not overwrite.
  auto report_existing = [&](const Response& r) {
    out << "proposal " << p.id << " was already answered: " << to_string(r.decision) << " by "
        << shown(r.by) << (r.text.empty() ? "" : ": " + shown(r.text, 500)) << "\n";
    return r.decision == o.decision ? 0 : 1;
  };
  if (f->entry.response) return report_existing(*f->entry.response);
  if (f->entry.archived) return fail("proposal " + p.id + " was archived without an answer");
  if (o.decision == Decision::answer && p.kind != ProposalKind::capability &&
      p.kind != ProposalKind::stuck) {
    return fail("answer is for capability-block and report-stuck proposals; use approve or reject");
  }
  if (o.edit && p.kind != ProposalKind::egress_route) {
    return fail("--edit is for route requests (egress-route proposals)");
  }
  Response r;
  r.id = p.id;
  r.decision = o.decision;
  r.text = o.text;
  r.by = operator_name();
  r.decided = now_iso8601();
  if (o.edit) {
    auto edited = edit_route(*f, err);
    if (!edited) return fail(edited.error());
    r.route = *edited;
    print_route_diff(*f, *edited, config::RouteSource::operator_edit, out);
  }
  if (queue_in_cluster(f->md) && p.kind == ProposalKind::egress_route &&
      o.decision == Decision::approve) {
    const json route = r.route ? *r.route : p.request.value("route", json());
    auto st = apply_route_in_cluster(
        *f, route, r.route ? config::RouteSource::operator_edit : config::RouteSource::agent, out);
    if (!st) return fail(st.error());
  }
  auto answered = queue_in_cluster(f->md) ? k8s_queue_answer(f->md, r)
                                          : ProposalQueue(queue_dir_of(f->md.slug)).answer(r);
  if (!answered) return fail(answered.error());
  if (*answered == ProposalQueue::AnswerResult::already_answered) {
    // Pending or archived by the consumer meanwhile: the scan finds it either way.
    auto again = locate(o.id, f->md.slug);
    if (again && again->entry.response) return report_existing(*again->entry.response);
    return fail("proposal " + p.id + " was answered by someone else and archived");
  }
  out << (o.decision == Decision::approve  ? "approved "
          : o.decision == Decision::reject ? "rejected "
                                           : "answered ")
      << p.id << " (" << to_string(p.kind) << ", bottle " << f->md.slug << ")\n";
  return await_outcome(f->md, p.id, o.wait, consumer_of(p.kind), out, err);
}

int proposals_watch(std::ostream& out, std::ostream& err) {
  watch_stop_signals();
  RawKeyboard keyboard;
  const bool tty = keyboard.active();
  std::map<std::string, Found> on_screen;  // pending proposals on screen, by id
  std::set<std::string> reported_problems;
  bool first = true;
  size_t selected = 0;
  std::string status = "watching every running bottle for proposals";

  auto ordered = [&] {
    std::vector<const Found*> v;
    for (const auto& [id, f] : on_screen) v.push_back(&f);
    std::stable_sort(v.begin(), v.end(), [](const Found* a, const Found* b) {
      return parse_iso8601(a->entry.proposal.created).value_or(0) <
             parse_iso8601(b->entry.proposal.created).value_or(0);
    });
    return v;
  };
  auto draw = [&] {
    if (!tty) return;
    auto rows = ordered();
    if (selected >= rows.size()) selected = rows.empty() ? 0 : rows.size() - 1;
    std::string screen = "\x1b[H\x1b[2J";
    screen +=
        "bottle proposals  (j/k move, a approve, e edit+approve, r reject, t answer, q "
        "quit)\r\n\r\n";
    if (rows.empty()) screen += "  no pending proposals\r\n";
    for (size_t i = 0; i < rows.size(); ++i) {
      const Proposal& p = rows[i]->entry.proposal;
      std::string line = (i == selected ? "> " : "  ") + p.id + "  " +
                         shown(rows[i]->md.label, 20) + "  " + std::string(to_string(p.kind)) +
                         "  " + age_since(p.created) + "  " + shown(what_of(p), 50) + " -- " +
                         shown(p.reason, 60);
      if (i == selected) line = "\x1b[7m" + line + "\x1b[0m";
      screen += line + "\r\n";
    }
    screen += "\r\n" + shown(status, 200) + "\r\n";
    out << screen << std::flush;
  };
  auto act = [&](Decision d, bool edit) {
    auto rows = ordered();
    if (rows.empty()) return;
    const Found& f = *rows[selected];
    AnswerOptions o;
    o.id = f.entry.proposal.id;
    o.bottle = f.md.slug;
    o.decision = d;
    o.edit = edit;
    o.wait = 0ms;  // the list shows the outcome when the proposal leaves the queue
    if (d == Decision::reject)
      o.text = keyboard.prompt(out, "\r\nreason for rejecting " + o.id + ": ");
    if (d == Decision::answer) o.text = keyboard.prompt(out, "\r\nanswer to " + o.id + ": ");
    if (edit) keyboard.suspend();
    std::ostringstream msg, errs;
    int code = proposals_answer(o, msg, errs);
    if (edit) keyboard.resume();
    std::string text = code == 0 ? msg.str() : errs.str();
    while (!text.empty() && (text.back() == '\n')) text.pop_back();
    status = text;
  };

  while (!live_view_ended()) {
    std::vector<std::string> problems;
    auto found = collect(false, problems);
    for (const auto& p : problems) {
      if (reported_problems.insert(p).second && !tty)
        err << "bottle: warning: " << shown(p, 300) << "\n";
    }
    std::map<std::string, Found> now;
    for (auto& f : found) now.emplace(f.entry.proposal.id, std::move(f));
    bool changed = false, arrived = false;
    for (const auto& [id, f] : now) {
      if (on_screen.count(id)) continue;
      changed = true;
      arrived = arrived || !first;
      if (!tty) {
        const Proposal& p = f.entry.proposal;
        out << (first ? "pending " : "new ") << p.id << " " << shown(f.md.label, 40) << " "
            << to_string(p.kind) << " " << shown(what_of(p), 200) << " -- "
            << shown(p.reason, 500) << "\n";
      }
    }
    for (const auto& [id, f] : on_screen) {
      if (now.count(id)) continue;
      changed = true;
      // Answered or archived: say by whom and how it ended.
      std::string line = answered_line(f.md.slug, id);
      if (tty) {
        status = line;
      } else {
        out << line << "\n";
      }
    }
    on_screen = std::move(now);
    if (arrived && tty) out << "\a";
    if (changed || first) {
      draw();
      out << std::flush;
    }
    first = false;
    // Keys (terminal) or a pause before the next scan: the queues have no event to wait on
    // across bottles.
    const std::string keys = keyboard.read_keys(250);
    if (keys.empty()) continue;
    for (char k : keys) {
      const size_t count = on_screen.size();
      if (k == 'q') end_live_view();
      if (k == 'j' && selected + 1 < count) ++selected;
      if (k == 'k' && selected > 0) --selected;
      if (k == 'a') act(Decision::approve, false);
      if (k == 'e') act(Decision::approve, true);
      if (k == 'r') act(Decision::reject, false);
      if (k == 't') act(Decision::answer, false);
    }
    draw();
  }
  if (tty) out << "\r\n";
  return 0;
}

}  // namespace bottle::orchestrator
