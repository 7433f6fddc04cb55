#include "gitgate/push_gate.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/files.h"
#include "common/log.h"
#include "common/proposal_queue.h"
#include "config/dlp_actions.h"
#include "gitgate/subprocess.h"

namespace bottle::gitgate {
namespace {

constexpr const char* kQuarantineVars[] = {
    "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH"};
constexpr size_t kMaxRequestLine = 16 << 20;

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Every path of a (colon-separated) object directory list lies in <repo>/objects.
bool inside_objects(const std::string& repo_dir, std::string_view list) {
  const std::filesystem::path objects =
      std::filesystem::path(repo_dir + "/objects").lexically_normal();
  while (true) {
    size_t colon = list.find(':');
    auto p = std::filesystem::path(std::string(list.substr(0, colon))).lexically_normal();
    auto rel = p.lexically_relative(objects);
    if (!p.is_absolute() || rel.empty() || rel.native().starts_with("..")) return false;
    if (colon == std::string_view::npos) return true;
    list.remove_prefix(colon + 1);
  }
}

uint64_t ms_since(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
}

// Ref names were scanned with the push; one that carried a finding is not logged.
nlohmann::json loggable_refs(const std::vector<RefUpdate>& updates, const PushScan& scan) {
  bool secret_ref = false;
  for (const auto& f : scan.findings) secret_ref |= f.where == "a ref name";
  nlohmann::json refs = nlohmann::json::array();
  for (const auto& u : updates) refs.push_back(secret_ref ? std::string("********") : u.ref);
  return refs;
}

nlohmann::json findings_json(const PushScan& scan) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : scan.findings) out.push_back({{"detector", f.detector}, {"where", f.where}});
  return out;
}

std::vector<std::string> detector_ids(const PushScan& scan) {
  std::vector<std::string> ids;
  for (const auto& f : scan.findings) {
    if (std::find(ids.begin(), ids.end(), f.detector) == ids.end()) ids.push_back(f.detector);
  }
  return ids;
}

// The refs' current values in the mirror, for the refs this push updates.
Result<std::map<std::string, std::string>> current_refs(const QuarantineGit& git,
                                                        const std::vector<RefUpdate>& updates) {
  SpawnSpec spec;
  spec.env = git.env;
  spec.argv = {git.git, "-C", git.repo_dir, "for-each-ref", "--format=%(objectname) %(refname)"};
  for (const auto& u : updates) spec.argv.push_back(u.ref);
  auto r = run_command(spec, 60'000);
  if (!r) return Error{r.error()};
  if (!r->ok()) return Error{"git for-each-ref: " + tail_lines(r->err, 3)};
  std::map<std::string, std::string> out;
  size_t p = 0;
  while (p < r->out.size()) {
    size_t nl = r->out.find('\n', p);
    std::string line = r->out.substr(p, nl == std::string::npos ? std::string::npos : nl - p);
    size_t sp = line.find(' ');
    if (sp != std::string::npos) out[line.substr(sp + 1)] = line.substr(0, sp);
    if (nl == std::string::npos) break;
    p = nl + 1;
  }
  return out;
}

// "+<new>:<ref>" unless the update is a fast-forward of a branch; ":<ref>" deletes.
Result<std::string> refspec(const QuarantineGit& git, const RefUpdate& u) {
  if (u.deletes()) return ":" + u.ref;
  if (u.creates()) return u.new_id + ":" + u.ref;
  if (!u.ref.starts_with("refs/heads/"))
    return "+" + u.new_id + ":" + u.ref;  // tags move only by force
  SpawnSpec spec;
  spec.env = git.env;
  spec.argv = {git.git, "-C", git.repo_dir, "merge-base", "--is-ancestor", u.old_id, u.new_id};
  auto r = run_command(spec, 5 * 60 * 1000);
  if (!r) return Error{r.error()};
  if (r->status == 0) return u.new_id + ":" + u.ref;
  if (r->status == 1) return "+" + u.new_id + ":" + u.ref;
  return Error{"git merge-base: " + tail_lines(r->err, 3)};
}

// The operator's verdict on a gitleaks-allow proposal.
struct OperatorVerdict {
  std::string id;  // "" when no proposal could be filed
  bool allowed = false;
};

OperatorVerdict ask_operator(const PushGateContext& ctx, const std::vector<RefUpdate>& updates,
                             const PushScan& scan) {
  const config::GateProposals& cfg = *ctx.proposals;
  ProposalQueue queue(cfg.queue);
  Proposal p;
  p.id = new_proposal_id();
  p.kind = ProposalKind::gitleaks_allow;
  p.created = now_iso8601();
  p.bottle = cfg.bottle;
  p.reason = "a push to " + ctx.repo->name + " adds " + std::to_string(scan.findings.size()) +
             " secret(s); forward it to the upstream anyway?";
  p.request = {{"repo", ctx.repo->name},
               {"refs", loggable_refs(updates, scan)},
               {"findings", findings_json(scan)}};
  OperatorVerdict v;
  if (auto st = queue.create(p); !st) {
    log::error("gitgate_override_unavailable", {{"repo", ctx.repo->name}, {"error", st.error()}});
    ctx.say("gitgate: could not ask the operator (" + st.error() + ")");
    return v;
  }
  v.id = p.id;
  log::info("gitgate_override_requested",
            {{"repo", ctx.repo->name}, {"proposal", p.id}, {"wait_ms", cfg.wait_ms}});
  ctx.say("gitgate: asked the operator to allow it: proposal " + p.id +
          " (bottle proposals approve|reject " + p.id + "); waiting up to " +
          std::to_string(cfg.wait_ms / 1000) + " s");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(cfg.wait_ms);
  std::optional<Response> answer;
  while (true) {
    auto r = queue.response(p.id);
    if (r.ok() && *r) {
      answer = **r;
      break;
    }
    if (!r.ok())
      log::warn("gitgate_override_unreadable", {{"proposal", p.id}, {"error", r.error()}});
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!answer) {
    // Nobody answered: record that through the same race an operator's answer takes, so
    // an answer landing at this very moment still counts.
    Response timeout{p.id,
                     Decision::reject,
                     "no answer within " + std::to_string(cfg.wait_ms / 1000) + " s",
                     "bottle-gitgate",
                     now_iso8601(),
                     std::nullopt};
    (void)queue.answer(timeout);
    auto r = queue.response(p.id);
    answer = r.ok() && *r ? **r : timeout;
  }
  v.allowed = answer->decision == Decision::approve;
  log::info("gitgate_override_answered", {{"repo", ctx.repo->name},
                                          {"proposal", p.id},
                                          {"decision", std::string(to_string(answer->decision))},
                                          {"by", answer->by}});
  ctx.say("gitgate: the operator " + std::string(v.allowed ? "allowed" : "did not allow") +
          " it (" + answer->by + (answer->text.empty() ? "" : ": " + answer->text) + ")");
  return v;
}

void archive_proposal(const PushGateContext& ctx, const std::string& id, bool ok,
                      const std::string& detail) {
  if (id.empty()) return;
  Outcome o{id, ok, detail, now_iso8601()};
  if (auto st = ProposalQueue(ctx.proposals->queue).archive(id, o); !st) {
    log::error("gitgate_override_archive_failed", {{"proposal", id}, {"error", st.error()}});
  }
}

}  // namespace

std::string_view outcome_name(PushOutcome::Kind k) {
  switch (k) {
    case PushOutcome::Kind::forwarded:
      return "forwarded";
    case PushOutcome::Kind::rejected:
      return "rejected";
    case PushOutcome::Kind::upstream_failed:
      return "upstream_failed";
    case PushOutcome::Kind::stale:
      return "stale";
    case PushOutcome::Kind::error:
      return "error";
    case PushOutcome::Kind::no_request:
      return "no_request";
  }
  return "error";
}

Result<HookRequest> parse_hook_request(std::string_view line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object() || !j.contains("updates") || !j["updates"].is_array())
    return Error{"bad hook request"};
  HookRequest req;
  for (const auto& u : j["updates"]) {
    if (!u.is_object() || !u.value("old", nlohmann::json()).is_string() ||
        !u.value("new", nlohmann::json()).is_string() ||
        !u.value("ref", nlohmann::json()).is_string()) {
      return Error{"bad hook request update"};
    }
    auto parsed = parse_ref_update(u["old"].get<std::string>() + " " + u["new"].get<std::string>() +
                                   " " + u["ref"].get<std::string>());
    if (!parsed) return Error{parsed.error()};
    req.updates.push_back(*parsed);
  }
  if (j.contains("env") && j["env"].is_object()) {
    for (const char* name : kQuarantineVars) {
      if (j["env"].contains(name) && j["env"][name].is_string())
        req.quarantine[name] = j["env"][name];
    }
  }
  return req;
}

std::string hook_request_line(const HookRequest& request) {
  nlohmann::json j;
  j["updates"] = nlohmann::json::array();
  for (const auto& u : request.updates)
    j["updates"].push_back({{"old", u.old_id}, {"new", u.new_id}, {"ref", u.ref}});
  j["env"] = request.quarantine;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string hook_say_line(std::string_view text) {
  return nlohmann::json{{"say", std::string(text)}}.dump(-1, ' ', false,
                                                         nlohmann::json::error_handler_t::replace) +
         "\n";
}

std::string hook_verdict_line(bool accept) {
  return nlohmann::json{{"accept", accept}}.dump() + "\n";
}

int run_pre_receive_hook() {
  const char* fd_text = std::getenv(kHookFdEnv);
  struct stat st;
  const int fd = fd_text ? std::atoi(fd_text) : -1;
  if (fd < 3 || ::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
    std::fprintf(stderr, "gitgate: this pre-receive hook only runs under bottle-gitgate\n");
    return 1;
  }
  HookRequest req;
  std::string line;
  while (std::getline(std::cin, line)) {
    auto u = parse_ref_update(line);
    if (!u) {
      std::fprintf(stderr, "gitgate: unexpected hook input: %s\n", u.error().c_str());
      return 1;
    }
    req.updates.push_back(*u);
  }
  for (const char* name : kQuarantineVars) {
    if (const char* v = std::getenv(name)) req.quarantine[name] = v;
  }
  if (!write_all(fd, hook_request_line(req))) {
    std::fprintf(stderr, "gitgate: the gate is not answering (hook channel closed)\n");
    return 1;
  }
  std::string buffer, answer;
  while (read_line(fd, buffer, answer, kMaxRequestLine)) {
    auto j = nlohmann::json::parse(answer, nullptr, false);
    if (!j.is_object()) continue;
    if (j.contains("say") && j["say"].is_string()) {
      std::fprintf(stderr, "%s\n", j["say"].get<std::string>().c_str());
    } else if (j.contains("accept") && j["accept"].is_boolean()) {
      return j["accept"].get<bool>() ? 0 : 1;
    }
  }
  std::fprintf(stderr, "gitgate: the gate closed the hook channel without an answer\n");
  return 1;
}

PushOutcome gate_push(const PushGateContext& ctx, const HookRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  PushOutcome out;
  const config::GateRepo& repo = *ctx.repo;
  auto finish = [&](PushOutcome::Kind kind, std::string detail) {
    out.kind = kind;
    out.detail = std::move(detail);
    out.ms = ms_since(start);
    return out;
  };

  QuarantineGit git{ctx.tools->git, ctx.state->mirror(repo), base_env(*ctx.tools, *ctx.state)};
  for (const auto& [name, value] : request.quarantine) {
    // receive-pack sets these; anything pointing outside this mirror's objects is not from it.
    if (!inside_objects(git.repo_dir, value)) {
      return finish(PushOutcome::Kind::error, name + " points outside the mirror: " + value);
    }
    git.env.push_back(name + "=" + value);
  }

  // 1. Pushes of one repo run one at a time; a ref that moved since this pusher read the
  //    advertisement means another push won the race.
  auto refs = current_refs(git, request.updates);
  if (!refs) return finish(PushOutcome::Kind::error, refs.error());
  for (const auto& u : request.updates) {
    auto it = refs->find(u.ref);
    const bool matches = it == refs->end() ? u.creates() : it->second == u.old_id;
    if (!matches) {
      ctx.say("gitgate: " + u.ref +
              " moved since this push started (another push landed first); fetch and retry");
      return finish(PushOutcome::Kind::stale, u.ref);
    }
  }

  // 2. The scan.
  std::string override_id;  // a gitleaks-allow proposal the operator approved
  if (ctx.policy.outbound != config::DlpAction::off) {
    auto scan = scan_push(git, request.updates, *ctx.scanner, ctx.policy.max_body_bytes);
    if (!scan) return finish(PushOutcome::Kind::error, "scan: " + scan.error());
    out.scan = std::move(*scan);
    for (const auto& note : out.scan.unscanned) {
      ctx.say("gitgate: " + note + " (per-blob scan cap)");
      log::warn("gitgate_blob_capped", {{"repo", repo.name}, {"blob", note}});
    }
    // The detectors' actions, exactly as egress applies them: `off` findings go, `warn`
    // ones are reported but do not reject.
    bool block = config::judge_findings(ctx.policy, dlp::Direction::outbound, out.scan.findings);
    if (out.scan.findings.empty()) {
      ctx.say("gitgate: scanned " + std::to_string(out.scan.objects) + " new object(s), " +
              std::to_string(out.scan.blobs) + " text file(s): no secrets");
    } else {
      ctx.say(std::string("gitgate: ") + (block ? "push rejected: " : "warning: ") +
              std::to_string(out.scan.findings.size()) + " secret(s) in what this push adds");
      size_t shown = 0;
      for (const auto& f : out.scan.findings) {
        if (++shown > 50) {
          ctx.say("gitgate:   ... and " + std::to_string(out.scan.findings.size() - 50) + " more");
          break;
        }
        ctx.say("gitgate:   " + f.detector + " at " + f.where +
                (block && !f.blocking ? " (warn only)" : ""));
      }
      nlohmann::json fields = {{"repo", repo.name},
                               {"refs", loggable_refs(request.updates, out.scan)},
                               {"detectors", detector_ids(out.scan)},
                               {"findings", findings_json(out.scan)},
                               {"objects", out.scan.objects}};
      if (block && ctx.proposals) {
        OperatorVerdict verdict = ask_operator(ctx, request.updates, out.scan);
        if (verdict.allowed) {
          log::warn("gitgate_push_allowed", std::move(fields));
          override_id = verdict.id;
        } else {
          archive_proposal(ctx, verdict.id, true, "push rejected");
        }
        block = !verdict.allowed;
      }
      if (block) {
        ctx.say(
            "gitgate: nothing was sent upstream; remove the secrets from these commits and push "
            "again");
        log::warn("gitgate_push_rejected", std::move(fields));
        return finish(PushOutcome::Kind::rejected, "");
      }
      if (override_id.empty()) log::warn("gitgate_push_warned", std::move(fields));
    }
  }

  // 3. Forward. The objects are still in the quarantine, which this environment reads.
  std::vector<std::string> specs;
  for (const auto& u : request.updates) {
    auto s = refspec(git, u);
    if (!s) return finish(PushOutcome::Kind::error, s.error());
    specs.push_back(*s);
  }
  SpawnSpec push;
  push.env = upstream_env(*ctx.tools, *ctx.state, repo);
  for (const auto& [name, value] : request.quarantine) push.env.push_back(name + "=" + value);
  push.argv = {ctx.tools->git, "-C", git.repo_dir, "push", "--porcelain", repo.upstream};
  push.argv.insert(push.argv.end(), specs.begin(), specs.end());
  push.live = SpawnSpec::Live::stderr_pipe;
  auto child = Subprocess::start(push);
  if (!child) return finish(PushOutcome::Kind::error, child.error());
  std::string buffer, line, said;
  while (read_line(child->stream_fd(), buffer, line)) {
    if (line.empty()) continue;
    ctx.say("upstream: " + line);
    said += line + "\n";
  }
  const int status = child->wait(kUpstreamCommandTimeoutMs);
  const std::string porcelain = child->captured_stdout(1 << 20);
  if (status != 0 || child->timed_out()) {
    std::string why =
        child->timed_out() ? "the upstream push timed out" : tail_lines(said + porcelain, 6);
    ctx.say("gitgate: the upstream did not take the push; the gate's mirror is unchanged");
    archive_proposal(ctx, override_id, false, "the upstream refused the push: " + why);
    log::warn("gitgate_push_failed", {{"repo", repo.name},
                                      {"refs", loggable_refs(request.updates, out.scan)},
                                      {"status", status},
                                      {"upstream", why}});
    return finish(PushOutcome::Kind::upstream_failed, why);
  }
  archive_proposal(ctx, override_id, true, "push forwarded to the upstream");
  log::info("gitgate_push_forwarded", {{"repo", repo.name},
                                       {"refs", loggable_refs(request.updates, out.scan)},
                                       {"refspecs", specs.size()},
                                       {"objects", out.scan.objects},
                                       {"scanned_bytes", out.scan.bytes},
                                       {"ms", ms_since(start)}});
  return finish(PushOutcome::Kind::forwarded, "");
}

PushOutcome serve_hook_channel(int fd, PushGateContext ctx) {
  timeval tv{60, 0};  // the hook writes its request as soon as it starts
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string buffer, line;
  PushOutcome out;
  if (!read_line(fd, buffer, line, kMaxRequestLine)) {
    out.kind = PushOutcome::Kind::no_request;
    return out;
  }
  auto req = parse_hook_request(line);
  if (!req) {
    out.detail = req.error();
    write_all(fd, hook_say_line("gitgate: " + req.error()) + hook_verdict_line(false));
    return out;
  }
  ctx.say = [fd](std::string_view text) { write_all(fd, hook_say_line(text)); };
  out = gate_push(ctx, *req);
  if (out.kind == PushOutcome::Kind::error) {
    ctx.say("gitgate: internal error, push not forwarded");
    log::error("gitgate_push_error", {{"repo", ctx.repo->name}, {"error", out.detail}});
  }
  write_all(fd, hook_verdict_line(out.kind == PushOutcome::Kind::forwarded));
  return out;
}

}  // namespace bottle::gitgate
