#include "gitgate/git_connection.h"

#include "common/log.h"

namespace bottle::gitgate {

GitConnection::GitConnection(GateContext& ctx) : ClientConnection(ctx) {
  arm_deadline(ctx_.config->timeouts.request_ms);
}

GitConnection::~GitConnection() {
  *alive_ = false;
  if (child_) child_->detach(kOrphanGraceMs);
}

void GitConnection::refuse(const std::string& message, const std::string& log_reason) {
  if (!log_reason.empty()) {
    ctx_.metrics.bad_requests.fetch_add(1, std::memory_order_relaxed);
    log::warn("gitgate_bad_request",
              {{"protocol", "git"}, {"reason", log_reason}, {"peer", peer()}});
  }
  state_ = State::done;
  send(err_pkt(message));
  finish();
}

void GitConnection::on_bytes(std::string_view data) {
  if (state_ == State::relaying) {
    arm_deadline(ctx_.config->timeouts.idle_ms);
    child_->write_in(data);
    if (child_->in_queued() > ServiceProcess::kHighWater) pause_reading();
    return;
  }
  if (state_ != State::request) {
    pending_.append(data);
    return;
  }
  pending_.append(data);
  PktRead pkt = read_pkt(pending_);
  switch (pkt.status) {
    case PktRead::Status::need_more:
      return;
    case PktRead::Status::error:
      return refuse("gitgate: " + pkt.error, pkt.error);
    case PktRead::Status::data:
      break;
    default:
      return refuse("gitgate: expected a git-upload-pack or git-receive-pack request",
                    "no service request");
  }
  auto request = parse_daemon_request(pkt.payload);
  if (!request) return refuse("gitgate: " + request.error(), request.error());
  const std::string name = repo_name_from_path(request->path);
  const config::GateRepo* repo = name.empty() ? nullptr : ctx_.config->find(name);
  if (!repo) return refuse("gitgate: no such repository on this gate", "unknown repository");
  pending_.erase(0, pkt.consumed);
  ctx_.metrics.git_requests.fetch_add(1, std::memory_order_relaxed);
  log::info("gitgate_request", {{"protocol", "git"},
                                {"service", std::string(service_name(request->service))},
                                {"repo", repo->name},
                                {"peer", peer()}});
  if (request->service == Service::receive_pack) {
    start_child(*repo, *request);
    return;
  }
  // Reads are served only from a mirror fetched after they arrived (fail closed).
  state_ = State::fetching;
  pause_reading();
  disarm_deadline();
  ctx_.queue(*repo).want_fresh([this, alive = alive_, repo,
                                req = *request](const FetchOutcome& fetched) {
    if (!*alive) return;
    if (!fetched.ok) {
      refuse("gitgate: fetch from the upstream failed, so nothing is served (no stale data):\n" +
                 fetched.error,
             "");
      return;
    }
    start_child(*repo, req);
  });
}

void GitConnection::start_child(const config::GateRepo& repo, const DaemonRequest& request) {
  ServiceProcess::Handlers h;
  h.out = [this](std::string_view bytes) {
    arm_deadline(ctx_.config->timeouts.idle_ms);
    child_spoke_ = true;
    send(bytes);
    if (send_queued() > ServiceProcess::kHighWater) child_->pause_out();
  };
  h.out_end = [this] {
    child_out_ended_ = true;
    child_done();
  };
  h.exited = [this](int status) {
    child_exited_ = true;
    child_status_ = status;
    child_done();
  };
  h.in_drained = [this] { resume_reading(); };
  auto child = ServiceProcess::start(
      ctx_.loop, ctx_.service_spec(repo, request.service, false, false, request.protocol),
      std::move(h));
  if (!child) {
    log::error("gitgate_spawn_failed", {{"repo", repo.name}, {"error", child.error()}});
    refuse("gitgate: internal error starting git", "");
    return;
  }
  child_ = *child;
  state_ = State::relaying;
  arm_deadline(ctx_.config->timeouts.idle_ms);
  if (!pending_.empty()) child_->write_in(pending_);
  pending_.clear();
  resume_reading();
}

void GitConnection::child_done() {
  if (!child_exited_ || !child_out_ended_ || state_ == State::done) return;
  if (child_status_ != 0 && !child_spoke_) {
    // git failed before saying anything: say so the way git:// does (its own words, which
    // name host paths, stay in the gate's log).
    refuse("gitgate: git failed on the gate (status " + std::to_string(child_status_) +
               "); see its log",
           "");
    return;
  }
  state_ = State::done;
  finish();
}

void GitConnection::on_client_eof() {
  if (state_ == State::relaying) {
    child_->close_in();  // the child may still have output for a half-closed client
    return;
  }
  close_now();
}

void GitConnection::on_deadline() {
  ctx_.metrics.timeouts.fetch_add(1, std::memory_order_relaxed);
  log::warn("gitgate_timeout", {{"protocol", "git"},
                                {"phase", state_ == State::request ? "request" : "idle"},
                                {"peer", peer()}});
  close_now();
}

void GitConnection::on_drained() {
  if (child_) child_->resume_out();
}

}  // namespace bottle::gitgate
