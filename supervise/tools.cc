#include "supervise/tools.h"

#include <algorithm>

#include "common/files.h"
#include "common/log.h"
#include "config/route_table.h"
#include "common/http/admin_client.h"

namespace bottle::supervise {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kListRoutes = "list-egress-routes";
constexpr const char* kRequestRoute = "request-egress-route";
constexpr const char* kCapabilityBlock = "capability-block";
constexpr const char* kReportStuck = "report-stuck";
constexpr const char* kSupervise = "bottle-supervise";
constexpr size_t kMaxReason = 4096;
constexpr size_t kMaxWhat = 1024;
constexpr auto kTick = 100ms;
constexpr auto kRescan = 1s;

json match_value_schema() {
  return {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"additionalProperties", false},
            {"required", {"name", "value"}},
            {"properties",
             {{"name", {{"type", "string"}}},
              {"type", {{"type", "string"}, {"enum", {"Exact", "RegularExpression"}}}},
              {"value", {{"type", "string"}}}}}}}};
}

json tool_list() {
  json routes_props = {
      {"host",
       {{"type", "string"},
        {"minLength", 1},
        {"maxLength", 253},
        {"description",
         "Host name only, e.g. \"pypi.org\", or \"*.example.com\" for all its subdomains. No "
         "scheme, port or path."}}},
      {"port",
       {{"type", "integer"},
        {"minimum", 1},
        {"maximum", 65535},
        {"description", "Only for a port other than 443 (HTTPS) and 80 (HTTP)."}}},
      {"matches",
       {{"type", "array"},
        {"maxItems", 64},
        {"description",
         "Optional request rules (Gateway API HTTPRoute matches). A request is allowed when it "
         "fits any one entry; inside an entry every field must fit. Omit to allow every "
         "request to the host. Ask for the narrowest access that does the job."},
        {"items",
         {{"type", "object"},
          {"additionalProperties", false},
          {"properties",
           {{"path",
             {{"type", "object"},
              {"additionalProperties", false},
              {"required", {"type", "value"}},
              {"properties",
               {{"type",
                 {{"type", "string"}, {"enum", {"Exact", "PathPrefix", "RegularExpression"}}}},
                {"value",
                 {{"type", "string"},
                  {"description",
                   "e.g. /simple/ for PathPrefix; RE2 syntax for RegularExpression"}}}}}}},
            {"method", {{"type", "string"}, {"description", "HTTP method, e.g. GET"}}},
            {"headers", match_value_schema()},
            {"queryParams", match_value_schema()}}}}}}},
      {"reason",
       {{"type", "string"},
        {"minLength", 1},
        {"maxLength", kMaxReason},
        {"description",
         "For the operator: what you are doing, why you need this host, and what failed "
         "(e.g. the 403 you got)."}}}};
  auto obj = [](json props, std::vector<std::string> required) {
    json s{{"type", "object"}, {"properties", std::move(props)}, {"additionalProperties", false}};
    if (!required.empty()) s["required"] = required;
    return s;
  };
  return json::array(
      {{{"name", kListRoutes},
        {"title", "List egress routes"},
        {"description",
         "List the egress routes this sandbox allows right now, as YAML: each host (and port) "
         "the proxy lets you reach and any path/method rules. Credentials are never shown; the "
         "proxy adds them itself. Check this before asking for a new route: a 403 with "
         "X-Bottle-Block: route_not_matched means the host is allowed, but not that path or "
         "method."},
        {"inputSchema", obj(json::object(), {})},
        {"annotations", {{"readOnlyHint", true}, {"openWorldHint", false}}}},
       {{"name", kRequestRoute},
        {"title", "Request an egress route"},
        {"description",
         "Ask the operator to let HTTP(S) requests through to a host the egress proxy blocks "
         "(you got HTTP 403 with X-Bottle-Block: host_not_allowed or route_not_matched). The "
         "call waits until the operator approves or rejects (up to a few minutes) and reports "
         "progress meanwhile. When it returns without error the route is already live in the "
         "proxy: retry your request. A rejection or a timeout returns an error with the "
         "reason; do not ask again for the same thing unless something changed."},
        {"inputSchema", obj(routes_props, {"host", "reason"})},
        {"annotations",
         {{"readOnlyHint", false}, {"destructiveHint", false}, {"openWorldHint", false}}}},
       {{"name", kCapabilityBlock},
        {"title", "Report a missing capability"},
        {"description",
         "Tell the operator you are blocked because something is missing from this sandbox (a "
         "tool, a package, a credential, or access request-egress-route cannot give) and ask "
         "what to do. The call waits for the operator's free-text answer (up to a few "
         "minutes) and returns it. A rejection or a timeout returns an error with the reason."},
        {"inputSchema", obj({{"what",
                              {{"type", "string"},
                               {"minLength", 1},
                               {"maxLength", kMaxWhat},
                               {"description", "What is missing, e.g. \"the psql client\"."}}},
                             {"reason",
                              {{"type", "string"},
                               {"minLength", 1},
                               {"maxLength", kMaxReason},
                               {"description", "Why you need it and what you tried."}}}},
                            {"what", "reason"})},
        {"annotations", {{"readOnlyHint", true}, {"openWorldHint", false}}}},
       {{"name", kReportStuck},
        {"title", "Report being stuck"},
        {"description",
         "Tell the operator you are stuck and need a human to look: failing in a loop, "
         "unclear instructions, a decision only they can make. Returns at once; the operator "
         "is notified. Carry on with what you can meanwhile."},
        {"inputSchema",
         obj({{"reason",
               {{"type", "string"},
                {"minLength", 1},
                {"maxLength", kMaxReason},
                {"description", "What you were doing, where you are stuck, what you tried."}}}},
             {"reason"})},
        {"annotations", {{"readOnlyHint", true}, {"openWorldHint", false}}}}});
}

// Checks the arguments of one tool against its keys; "" when fine. Tool input errors are
// tool results (isError), so the model can correct itself (MCP 2025-11-25).
std::string check_strings(const json& args, const std::vector<std::string>& keys,
                          const std::vector<std::pair<std::string, size_t>>& required) {
  for (const auto& [key, value] : args.items()) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      std::string known;
      for (const auto& k : keys) known += (known.empty() ? "" : ", ") + k;
      return "unknown argument '" + key.substr(0, 64) + "' (expected: " + known + ")";
    }
  }
  for (const auto& [key, max] : required) {
    if (!args.contains(key) || !args[key].is_string() ||
        args[key].get_ref<const std::string&>().empty()) {
      return "'" + key + "' is required (a non-empty string)";
    }
    if (args[key].get_ref<const std::string&>().size() > max) {
      return "'" + key + "' is longer than " + std::to_string(max) + " bytes";
    }
  }
  return "";
}

std::string seconds(std::chrono::milliseconds ms) {
  auto s = ms.count() / 1000.0;
  char buf[32];
  std::snprintf(buf, sizeof buf, s == static_cast<int64_t>(s) ? "%.0f s" : "%.1f s", s);
  return buf;
}

std::string note(const std::string& text) {
  return text.empty() ? "" : "\nOperator's note: " + text;
}

}  // namespace

struct SuperviseTools::Open {
  Proposal proposal;
  std::shared_ptr<ToolCall> call;  // null once nobody waits (stuck reports, leftovers)
  Clock::time_point started;
  std::optional<Clock::time_point> deadline;
  Clock::time_point next_progress;
  bool acting = false;  // an answer is being carried out
};

struct SuperviseTools::Job {
  uv_work_t req{};
  std::function<void()> work;
  std::function<void()> done;
  SuperviseTools* owner = nullptr;
  std::weak_ptr<bool> alive;
  bool serial = false;
};

SuperviseTools::SuperviseTools(uv_loop_t* loop, ToolSettings settings)
    : loop_(loop), settings_(std::move(settings)), queue_(settings_.queue_dir) {}

SuperviseTools::~SuperviseTools() {
  *alive_ = false;
}

Status SuperviseTools::start() {
  uv_timer_init(loop_, &tick_);
  tick_.data = this;
  uv_fs_event_init(loop_, &fs_event_);
  fs_event_.data = this;
  started_ = true;
  int r =
      uv_fs_event_start(&fs_event_, &SuperviseTools::on_fs_event, settings_.queue_dir.c_str(), 0);
  if (r != 0) {
    // No inotify here (or no such directory yet): the one-second rescan still finds answers.
    log::warn("queue_watch_unavailable",
              {{"queue", settings_.queue_dir}, {"error", uv_strerror(r)}});
  } else {
    watching_ = true;
  }
  adopt_leftovers();
  update_tick_timer();
  return OkStatus();
}

void SuperviseTools::stop() {
  std::vector<std::string> ids;
  for (const auto& [id, o] : open_) {
    if (o->call && !o->acting) ids.push_back(id);
  }
  for (const auto& id : ids) {
    withdraw(id, "bottle-supervise stopped before an answer",
             "bottle-supervise is shutting down; the request was withdrawn.");
  }
  if (started_) {
    started_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&fs_event_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
  }
}

json SuperviseTools::list() const {
  static const json tools = tool_list();
  return tools;
}

bool SuperviseTools::has(std::string_view name) const {
  return name == kListRoutes || name == kRequestRoute || name == kCapabilityBlock ||
         name == kReportStuck;
}

void SuperviseTools::call(std::string_view name, const json& args, std::shared_ptr<ToolCall> call) {
  if (name == kListRoutes) return list_routes(call);
  if (name == kRequestRoute) return request_route(args, call);
  if (name == kCapabilityBlock) return capability_block(args, call);
  return report_stuck(args, call);
}

void SuperviseTools::list_routes(const std::shared_ptr<ToolCall>& call) {
  auto result = std::make_shared<ToolResult>();
  const RouteApplySettings routes = settings_.routes;
  run_job(
      [result, routes] {
        // What egress runs, if it can be asked; else what the file says.
        if (routes.egress_admin) {
          auto live = admin_get(*routes.egress_admin, "/routes", 5s);
          if (live) {
            result->text = "# Effective egress routes (tokens omitted)\n" + *live;
            return;
          }
          log::warn("routes_unavailable", {{"error", live.error()}});
        }
        if (routes.routes_file.empty()) {
          *result = {"This sandbox's supervise has no routes file to read.", true};
          return;
        }
        auto table = config::load_routes_file(routes.routes_file);
        if (!table) {
          *result = {"The routes file cannot be read: " + table.error(), true};
          return;
        }
        result->text = "# Egress routes from routes.yaml (tokens omitted)\n" + (*table)->to_yaml();
      },
      [result, call] { call->finish(*result); }, false);
}

void SuperviseTools::request_route(const json& args, const std::shared_ptr<ToolCall>& call) {
  auto bad = [&](const std::string& why) {
    call->finish({"Invalid request-egress-route arguments: " + why, true});
  };
  if (auto e = check_strings(args, {"host", "port", "matches", "reason"}, {{"reason", kMaxReason}});
      !e.empty()) {
    return bad(e);
  }
  json route = json::object();
  for (const char* key : {"host", "port", "matches"}) {
    if (args.contains(key)) route[key] = args[key];
  }
  auto node = config::route_from_json(route, config::RouteSource::agent);
  if (!node) return bad(node.error());
  if (!settings_.routes_by_operator &&
      (settings_.routes.routes_file.empty() || settings_.routes.init_ctl.empty())) {
    return call->finish(
        {"This sandbox's supervise cannot change egress routes (it runs without --routes and "
         "--init-ctl); ask the operator another way.",
         true});
  }
  Proposal p;
  p.kind = ProposalKind::egress_route;
  p.reason = args["reason"];
  p.request = {{"route", route}};
  open_proposal(std::move(p), call, true);
}

void SuperviseTools::capability_block(const json& args, const std::shared_ptr<ToolCall>& call) {
  if (auto e =
          check_strings(args, {"what", "reason"}, {{"what", kMaxWhat}, {"reason", kMaxReason}});
      !e.empty()) {
    return call->finish({"Invalid capability-block arguments: " + e, true});
  }
  Proposal p;
  p.kind = ProposalKind::capability;
  p.reason = args["reason"];
  p.request = {{"what", args["what"]}};
  open_proposal(std::move(p), call, true);
}

void SuperviseTools::report_stuck(const json& args, const std::shared_ptr<ToolCall>& call) {
  if (auto e = check_strings(args, {"reason"}, {{"reason", kMaxReason}}); !e.empty()) {
    return call->finish({"Invalid report-stuck arguments: " + e, true});
  }
  Proposal p;
  p.kind = ProposalKind::stuck;
  p.reason = args["reason"];
  open_proposal(std::move(p), call, false);
}

void SuperviseTools::open_proposal(Proposal p, std::shared_ptr<ToolCall> call, bool waits) {
  if (open_.size() >= settings_.max_open_proposals) {
    return call->finish({"Too many requests (" + std::to_string(open_.size()) +
                             ") are waiting for the operator already; wait for their answers "
                             "before asking again.",
                         true});
  }
  p.id = new_proposal_id();
  p.created = now_iso8601();
  p.bottle = settings_.bottle;
  if (auto st = queue_.create(p); !st) {
    log::error("proposal_failed",
               {{"kind", std::string(to_string(p.kind))}, {"error", st.error()}});
    return call->finish({"The request could not be queued for the operator: " + st.error(), true});
  }
  const std::string id = p.id;
  log::info("proposal_created", {{"id", id}, {"kind", std::string(to_string(p.kind))}});
  if (!waits) {
    call->finish({"The operator has been notified (proposal " + id +
                      "). Carry on with what you can; their answer reaches you through your "
                      "usual instructions.",
                  false});
    auto o = std::make_unique<Open>();
    o->proposal = std::move(p);
    o->started = Clock::now();
    open_.emplace(id, std::move(o));
    update_tick_timer();
    return;
  }
  auto o = std::make_unique<Open>();
  o->proposal = std::move(p);
  o->call = call;
  o->started = Clock::now();
  o->deadline = o->started + settings_.answer_timeout;
  o->next_progress = o->started + settings_.progress_interval;
  open_.emplace(id, std::move(o));
  std::weak_ptr<bool> alive = alive_;
  call->on_cancel([this, alive, id] {
    if (auto a = alive.lock(); a && *a) {
      withdraw(id, "the agent's call ended before an answer", "");
    }
  });
  call->progress(0, settings_.answer_timeout.count() / 1000.0,
                 "Waiting for the operator to answer proposal " + id +
                     " (bottle proposals "
                     "approve|reject " +
                     id + ")");
  update_tick_timer();
  check_answer(id);  // answered already? (a fast operator, or a test)
}

void SuperviseTools::check_answer(const std::string& id) {
  auto it = open_.find(id);
  if (it == open_.end() || it->second->acting) return;
  auto r = queue_.response(id);
  if (!r) {
    // The answer file is there but unreadable: nobody can answer again (the name is
    // taken), so end the wait with the reason rather than time out in silence.
    log::error("answer_unreadable", {{"id", id}, {"error", r.error()}});
    it->second->acting = true;
    settle(id, {"The operator's answer could not be read: " + r.error(), true}, false,
           "answer unreadable: " + r.error());
    return;
  }
  if (!*r) return;
  act_on(id, **r);
}

void SuperviseTools::act_on(const std::string& id, const Response& r) {
  Open& o = *open_.at(id);
  o.acting = true;
  log::info("proposal_answered", {{"id", id},
                                  {"kind", std::string(to_string(o.proposal.kind))},
                                  {"decision", std::string(to_string(r.decision))},
                                  {"by", r.by}});
  const std::string who = r.by.empty() ? "the operator" : r.by;
  switch (o.proposal.kind) {
    case ProposalKind::egress_route: {
      if (r.decision != Decision::approve) {
        return settle(
            id,
            {"Rejected by " + who + ": " + (r.text.empty() ? "(no reason given)" : r.text), true},
            true, "rejected");
      }
      const bool edited = r.route.has_value();
      if (settings_.routes_by_operator) {
        return settle(id,
                      {"Approved by " + who + (edited ? " (edited)" : "") +
                           ": the operator applied the route to the egress proxy before "
                           "answering; retry your request." +
                           note(r.text),
                       false},
                      true, "applied by the operator");
      }
      const json route = edited ? *r.route : o.proposal.request.value("route", json::object());
      auto result = std::make_shared<Result<RouteApplyReport>>(Error{"not run"});
      const RouteApplySettings routes = settings_.routes;
      run_job(
          [result, routes, route, edited] {
            *result = apply_route(
                routes, route,
                edited ? config::RouteSource::operator_edit : config::RouteSource::agent);
          },
          [this, id, result, who, text = r.text, edited] {
            if (!*result) {
              log::error("route_apply_failed", {{"id", id}, {"error", result->error()}});
              return settle(id,
                            {"Approved by " + who +
                                 ", but the route could not be applied: " + result->error(),
                             true},
                            false, result->error());
            }
            const RouteApplyReport& rep = **result;
            log::info("route_applied", {{"id", id},
                                        {"changed", rep.changed},
                                        {"confirmed", rep.confirmed},
                                        {"reloads", rep.reloads},
                                        {"edited", edited}});
            std::string msg =
                "Approved by " + who + (edited ? " (edited)" : "") + ": " + rep.summary + ".";
            std::string detail = rep.summary;
            if (!rep.changed) {
              msg +=
                  " If your request is still blocked, compare its path and method with "
                  "list-egress-routes.";
            } else if (rep.confirmed) {
              msg += " The route is live in the egress proxy now; retry your request.";
              detail += "; live in egress (reload " + std::to_string(rep.reloads) + ")";
            } else {
              msg += " Egress was asked to reload; retry your request.";
              detail += "; reload requested, not confirmed (no egress admin address)";
            }
            settle(id, {msg + note(text), false}, true, detail);
          },
          true);
      return;
    }
    case ProposalKind::capability:
      if (r.decision == Decision::reject) {
        return settle(
            id,
            {"Declined by " + who + ": " + (r.text.empty() ? "(no reason given)" : r.text), true},
            true, "declined");
      }
      return settle(id,
                    {(r.decision == Decision::answer ? "Answer from " : "Approved by ") + who +
                         ": " + (r.text.empty() ? "(no text)" : r.text),
                     false},
                    true, "answered");
    case ProposalKind::stuck:
      return settle(id, {"", false}, true, "acknowledged");
    case ProposalKind::gitleaks_allow:
      return;  // gitgate's; never opened here
  }
}

void SuperviseTools::withdraw(const std::string& id, const std::string& why,
                              const std::string& agent_message) {
  auto it = open_.find(id);
  if (it == open_.end() || it->second->acting) return;
  Response r;
  r.id = id;
  r.decision = Decision::reject;
  r.text = why;
  r.by = kSupervise;
  r.decided = now_iso8601();
  auto answered = queue_.answer(r);
  if (!answered) {
    log::error("proposal_withdraw_failed", {{"id", id}, {"error", answered.error()}});
    it->second->acting = true;
    settle(id, {agent_message.empty() ? why : agent_message, true}, false, why);
    return;
  }
  if (*answered == ProposalQueue::AnswerResult::already_answered) {
    check_answer(id);  // the operator was first: their answer counts
    return;
  }
  log::info("proposal_withdrawn", {{"id", id}, {"why", why}});
  it->second->acting = true;
  settle(id, {agent_message.empty() ? why : agent_message, true}, false, "withdrawn: " + why);
}

void SuperviseTools::settle(const std::string& id, ToolResult result, bool ok,
                            const std::string& detail) {
  auto it = open_.find(id);
  if (it == open_.end()) return;
  Outcome outcome{id, ok, detail, now_iso8601()};
  if (auto st = queue_.archive(id, outcome); !st) {
    log::error("proposal_archive_failed", {{"id", id}, {"error", st.error()}});
  }
  auto call = std::move(it->second->call);
  open_.erase(it);
  if (call && !call->cancelled()) call->finish(std::move(result));
  update_tick_timer();
}

void SuperviseTools::adopt_leftovers() {
  auto scan = queue_.scan(false);
  for (const auto& line : scan.problems) log::warn("queue_file_skipped", {{"problem", line}});
  for (auto& e : scan.entries) {
    const ProposalKind kind = e.proposal.kind;
    if (kind == ProposalKind::gitleaks_allow) continue;  // gitgate's to archive
    const std::string id = e.proposal.id;
    auto o = std::make_unique<Open>();
    o->proposal = std::move(e.proposal);
    o->started = Clock::now();
    open_.emplace(id, std::move(o));
    if (e.response) {
      act_on(id, *e.response);  // answered while no supervise ran: carry it out
    } else if (kind != ProposalKind::stuck) {
      withdraw(id, "bottle-supervise restarted; the agent's call was lost", "");
    }
  }
}

void SuperviseTools::tick() {
  const auto now = Clock::now();
  const bool rescan = !watching_ || now - last_rescan_ >= kRescan;
  if (rescan) last_rescan_ = now;
  std::vector<std::string> ids;
  for (const auto& [id, o] : open_) ids.push_back(id);
  for (const auto& id : ids) {
    auto it = open_.find(id);
    if (it == open_.end() || it->second->acting) continue;
    if (rescan) {
      check_answer(id);
      it = open_.find(id);
      if (it == open_.end() || it->second->acting) continue;
    }
    Open& o = *it->second;
    if (o.call && o.deadline && now >= *o.deadline) {
      withdraw(id, "no answer within " + seconds(settings_.answer_timeout),
               "No answer from the operator within " + seconds(settings_.answer_timeout) +
                   "; the request (proposal " + id +
                   ") was withdrawn. Ask again later only if you still need it.");
      continue;
    }
    if (o.call && now >= o.next_progress) {
      o.next_progress = now + settings_.progress_interval;
      const double waited = std::chrono::duration<double>(now - o.started).count();
      o.call->progress(waited, settings_.answer_timeout.count() / 1000.0,
                       "Still waiting for the operator to answer proposal " + id);
    }
  }
  update_tick_timer();
}

void SuperviseTools::update_tick_timer() {
  if (!started_) return;
  if (open_.empty()) {
    uv_timer_stop(&tick_);
  } else if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&tick_))) {
    uv_timer_start(&tick_, &SuperviseTools::on_tick, kTick.count(), kTick.count());
  }
}

void SuperviseTools::on_tick(uv_timer_t* t) {
  static_cast<SuperviseTools*>(t->data)->tick();
}

void SuperviseTools::on_fs_event(uv_fs_event_t* h, const char* filename, int, int status) {
  auto* self = static_cast<SuperviseTools*>(h->data);
  if (status < 0 || !filename) return;
  std::string_view name = filename;
  constexpr std::string_view kSuffix = ".response.json";
  if (name.size() <= kSuffix.size() || name.substr(name.size() - kSuffix.size()) != kSuffix) return;
  self->check_answer(std::string(name.substr(0, name.size() - kSuffix.size())));
}

void SuperviseTools::run_job(std::function<void()> work, std::function<void()> done, bool serial) {
  auto job = std::make_unique<Job>();
  job->work = std::move(work);
  job->done = std::move(done);
  job->owner = this;
  job->alive = alive_;
  job->serial = serial;
  if (serial) {
    serial_jobs_.push_back(std::move(job));
    start_next_serial();
    return;
  }
  Job* raw = job.release();
  raw->req.data = raw;
  uv_queue_work(
      loop_, &raw->req, [](uv_work_t* r) { static_cast<Job*>(r->data)->work(); },
      [](uv_work_t* r, int) {
        std::unique_ptr<Job> j(static_cast<Job*>(r->data));
        if (auto a = j->alive.lock(); a && *a) j->done();
      });
}

void SuperviseTools::start_next_serial() {
  if (serial_running_ || serial_jobs_.empty()) return;
  serial_running_ = true;
  Job* raw = serial_jobs_.front().release();
  serial_jobs_.pop_front();
  raw->req.data = raw;
  uv_queue_work(
      loop_, &raw->req, [](uv_work_t* r) { static_cast<Job*>(r->data)->work(); },
      [](uv_work_t* r, int) {
        std::unique_ptr<Job> j(static_cast<Job*>(r->data));
        auto a = j->alive.lock();
        if (!a || !*a) return;
        j->done();
        j->owner->serial_running_ = false;
        j->owner->start_next_serial();
      });
}

}  // namespace bottle::supervise
