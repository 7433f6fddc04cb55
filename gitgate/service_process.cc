#include "gitgate/service_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "common/log.h"

namespace bottle::gitgate {
namespace {

struct WriteReq {
  uv_write_t req;
  std::string data;
};

}  // namespace

ServiceProcess::ServiceProcess(uv_loop_t* loop, Spec spec, Handlers handlers)
    : loop_(loop), spec_(std::move(spec)), handlers_(std::move(handlers)) {}

Result<ServiceProcess*> ServiceProcess::start(uv_loop_t* loop, Spec spec, Handlers handlers) {
  auto* self = new ServiceProcess(loop, std::move(spec), std::move(handlers));
  int child_hook_fd = -1;
  if (self->spec_.hook) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      std::string why = std::strerror(errno);
      delete self;
      return Error{"socketpair: " + why};
    }
    self->hook_fd_ = pair[0];
    child_hook_fd = pair[1];
  }
  for (uv_pipe_t* p : {&self->in_, &self->out_, &self->err_}) {
    uv_pipe_init(loop, p, 0);
    p->data = self;
    ++self->open_handles_;
  }
  uv_timer_init(loop, &self->kill_timer_);
  self->kill_timer_.data = self;
  ++self->open_handles_;

  std::vector<char*> argv, env;
  for (auto& a : self->spec_.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : self->spec_.env) env.push_back(e.data());
  env.push_back(nullptr);
  uv_stdio_container_t stdio[4];
  stdio[0].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_READABLE_PIPE);
  stdio[0].data.stream = reinterpret_cast<uv_stream_t*>(&self->in_);
  stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(&self->out_);
  stdio[2].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[2].data.stream = reinterpret_cast<uv_stream_t*>(&self->err_);
  stdio[3].flags = UV_INHERIT_FD;
  stdio[3].data.fd = child_hook_fd;
  uv_process_options_t opt{};
  opt.file = argv[0];
  opt.args = argv.data();
  opt.env = env.data();
  opt.stdio = stdio;
  opt.stdio_count = child_hook_fd >= 0 ? 4 : 3;
  opt.exit_cb = &ServiceProcess::on_exit;
  opt.flags = UV_PROCESS_DETACHED;  // its own process group: a kill reaches its hook too
  self->process_.data = self;
  int rc = uv_spawn(loop, &self->process_, &opt);
  ++self->open_handles_;
  if (child_hook_fd >= 0) ::close(child_hook_fd);
  if (rc != 0) {
    self->exited_ = true;
    self->detached_ = true;
    self->handlers_ = {};
    if (self->hook_fd_ >= 0) ::close(self->hook_fd_);
    self->hook_fd_ = -1;
    for (uv_handle_t* h :
         {reinterpret_cast<uv_handle_t*>(&self->process_),
          reinterpret_cast<uv_handle_t*>(&self->in_), reinterpret_cast<uv_handle_t*>(&self->out_),
          reinterpret_cast<uv_handle_t*>(&self->err_),
          reinterpret_cast<uv_handle_t*>(&self->kill_timer_)}) {
      self->close_handle(h);
    }
    return Error{std::string("spawn git: ") + uv_strerror(rc)};
  }
  if (self->spec_.metrics)
    self->spec_.metrics->active_children.fetch_add(1, std::memory_order_relaxed);
  if (self->hook_fd_ >= 0) {
    uv_poll_init(loop, &self->hook_poll_, self->hook_fd_);
    self->hook_poll_.data = self;
    ++self->open_handles_;
    uv_poll_start(&self->hook_poll_, UV_READABLE, &ServiceProcess::on_hook_readable);
  }
  uv_read_start(reinterpret_cast<uv_stream_t*>(&self->out_), &ServiceProcess::on_alloc,
                &ServiceProcess::on_out);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&self->err_), &ServiceProcess::on_alloc,
                &ServiceProcess::on_err);
  return self;
}

void ServiceProcess::on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  static thread_local char buffer[64 * 1024];
  buf->base = buffer;
  buf->len = sizeof buffer;
}

void ServiceProcess::close_handle(uv_handle_t* h) {
  if (uv_is_closing(h)) return;
  uv_close(h, [](uv_handle_t* closed) {
    auto* self = static_cast<ServiceProcess*>(closed->data);
    --self->open_handles_;
    self->maybe_free();
  });
}

void ServiceProcess::maybe_free() {
  if (detached_ && open_handles_ == 0 && !hook_release_ && !hook_job_running_) delete this;
}

void ServiceProcess::kill_group(int sig) {
  if (!exited_ && process_.pid > 0) ::kill(-process_.pid, sig);
}

void ServiceProcess::on_exit(uv_process_t* p, int64_t status, int signal) {
  auto* self = static_cast<ServiceProcess*>(p->data);
  self->exited_ = true;
  if (self->spec_.metrics)
    self->spec_.metrics->active_children.fetch_sub(1, std::memory_order_relaxed);
  uv_timer_stop(&self->kill_timer_);
  self->close_handle(reinterpret_cast<uv_handle_t*>(&self->kill_timer_));
  self->close_handle(reinterpret_cast<uv_handle_t*>(p));
  if (self->hook_fd_ >= 0 && !self->hook_job_running_ && !self->hook_release_) {
    // The hook never asked (nothing to update, or the pack was refused).
    self->close_handle(reinterpret_cast<uv_handle_t*>(&self->hook_poll_));
    ::close(self->hook_fd_);
    self->hook_fd_ = -1;
  }
  if (self->hook_release_ && !self->hook_job_running_) {
    // The ref update is done: the next push or fetch of this repo may start.
    auto release = std::move(self->hook_release_);
    self->hook_release_ = nullptr;
    release();
  }
  const int code = signal ? 128 + signal : static_cast<int>(status);
  if (self->handlers_.exited) self->handlers_.exited(code);
  self->maybe_free();
}

void ServiceProcess::on_out(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* self = static_cast<ServiceProcess*>(s->data);
  if (n > 0) {
    if (self->handlers_.out)
      self->handlers_.out(std::string_view(buf->base, static_cast<size_t>(n)));
    return;
  }
  if (n == 0) return;
  self->close_handle(reinterpret_cast<uv_handle_t*>(s));
  if (self->handlers_.out_end) self->handlers_.out_end();
}

void ServiceProcess::on_err(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* self = static_cast<ServiceProcess*>(s->data);
  if (n > 0) {
    self->err_partial_.append(buf->base, static_cast<size_t>(n));
    size_t nl;
    while ((nl = self->err_partial_.find('\n')) != std::string::npos) {
      self->log_stderr_line(std::string_view(self->err_partial_).substr(0, nl));
      self->err_partial_.erase(0, nl + 1);
    }
    if (self->err_partial_.size() > 16 * 1024) {
      self->log_stderr_line(self->err_partial_);
      self->err_partial_.clear();
    }
    return;
  }
  if (n == 0) return;
  if (!self->err_partial_.empty()) self->log_stderr_line(self->err_partial_);
  self->err_partial_.clear();
  self->close_handle(reinterpret_cast<uv_handle_t*>(s));
}

void ServiceProcess::log_stderr_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (line.empty()) return;
  std::string text(line.substr(0, 2000));
  // git may echo what the client sent (a ref name, a path): never a secret into the log.
  if (spec_.scanner && !spec_.scanner->scan(text, dlp::Direction::outbound, "stderr").empty())
    text = "********";
  log::warn("gitgate_child_stderr", {{"child", spec_.name}, {"line", text}});
}

void ServiceProcess::write_in(std::string_view data) {
  if (in_closed_ || data.empty()) return;
  uv_buf_t b = uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
  auto* stream = reinterpret_cast<uv_stream_t*>(&in_);
  if (uv_stream_get_write_queue_size(stream) == 0) {
    int n = uv_try_write(stream, &b, 1);
    if (n == static_cast<int>(data.size())) return;
    if (n > 0)
      data.remove_prefix(static_cast<size_t>(n));
    else if (n != UV_EAGAIN)
      return;  // the child closed its stdin; it has what it wanted
  }
  auto* req = new WriteReq{};
  req->data.assign(data);
  req->req.data = this;
  b = uv_buf_init(req->data.data(), static_cast<unsigned>(req->data.size()));
  if (uv_write(&req->req, stream, &b, 1, [](uv_write_t* r, int) {
        std::unique_ptr<WriteReq> done(reinterpret_cast<WriteReq*>(r));
        auto* self = static_cast<ServiceProcess*>(r->data);
        if (self->in_queued() < kLowWater && self->handlers_.in_drained)
          self->handlers_.in_drained();
      }) != 0) {
    delete req;
  }
}

size_t ServiceProcess::in_queued() const {
  return in_closed_ ? 0
                    : uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&in_));
}

void ServiceProcess::close_in() {
  if (in_closed_) return;
  in_closed_ = true;
  auto* req = new uv_shutdown_t{};
  req->data = this;
  // Pending writes go out first, then the child sees EOF.
  if (uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&in_), [](uv_shutdown_t* r, int) {
        auto* self = static_cast<ServiceProcess*>(r->data);
        delete r;
        self->close_handle(reinterpret_cast<uv_handle_t*>(&self->in_));
      }) != 0) {
    delete req;
    close_handle(reinterpret_cast<uv_handle_t*>(&in_));
  }
}

void ServiceProcess::pause_out() {
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&out_)))
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&out_));
}

void ServiceProcess::resume_out() {
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&out_))) {
    uv_read_start(reinterpret_cast<uv_stream_t*>(&out_), &ServiceProcess::on_alloc,
                  &ServiceProcess::on_out);
  }
}

void ServiceProcess::detach(uint64_t grace_ms) {
  if (detached_) return;
  handlers_ = {};
  detached_ = true;
  close_in();
  resume_out();  // keep draining, so the child never blocks on a full pipe
  if (!exited_) {
    uv_timer_start(
        &kill_timer_,
        [](uv_timer_t* t) {
          auto* self = static_cast<ServiceProcess*>(t->data);
          log::warn("gitgate_child_killed",
                    {{"child", self->spec_.name}, {"why", "outlived its client"}});
          self->kill_group(SIGKILL);
        },
        grace_ms, 0);
  }
  maybe_free();
}

void ServiceProcess::on_hook_readable(uv_poll_t* p, int, int) {
  auto* self = static_cast<ServiceProcess*>(p->data);
  uv_poll_stop(p);
  self->close_handle(reinterpret_cast<uv_handle_t*>(p));
  self->gate_hook_request();
}

void ServiceProcess::gate_hook_request() {
  // Held from now until the child exits (its ref update is the last step of the push).
  hook_job_running_ = true;
  spec_.hook->queue->exclusive([this](RepoQueue::Release release) {
    hook_release_ = std::move(release);
    if (exited_) {
      // receive-pack is gone (and its hook with it): nothing to gate.
      hook_job_running_ = false;
      ::close(hook_fd_);
      hook_fd_ = -1;
      auto r = std::move(hook_release_);
      hook_release_ = nullptr;
      r();
      maybe_free();
      return;
    }
    auto outcome = std::make_shared<PushOutcome>();
    const int fd = hook_fd_;
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);  // uv_poll made it non-blocking; the job blocks
    run_blocking(
        loop_, [fd, outcome, ctx = spec_.hook->context] { *outcome = serve_hook_channel(fd, ctx); },
        [this, outcome] {
          hook_job_running_ = false;
          ::close(hook_fd_);
          hook_fd_ = -1;
          if (spec_.hook->done) spec_.hook->done(*outcome);
          if (exited_ && hook_release_) {
            auto r = std::move(hook_release_);
            hook_release_ = nullptr;
            r();
          }
          maybe_free();
        });
  });
}

}  // namespace bottle::gitgate
