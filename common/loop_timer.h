// A one-shot uv_timer_t owned by an object that may be deleted from any callback: the
// handle is closed in the destructor and freed by libuv's close callback, so a pending
// expiry can never reach a dead owner.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>

namespace bottle {

class LoopTimer {
 public:
  LoopTimer(uv_loop_t* loop, std::function<void()> on_expiry) : h_(new Handle{}) {
    h_->fire = std::move(on_expiry);
    uv_timer_init(loop, &h_->timer);
    h_->timer.data = h_;
  }
  ~LoopTimer() {
    uv_timer_stop(&h_->timer);
    uv_close(reinterpret_cast<uv_handle_t*>(&h_->timer),
             [](uv_handle_t* t) { delete static_cast<Handle*>(t->data); });
  }
  LoopTimer(const LoopTimer&) = delete;
  LoopTimer& operator=(const LoopTimer&) = delete;

  void arm(uint64_t ms) {
    uv_timer_start(
        &h_->timer, [](uv_timer_t* t) { static_cast<Handle*>(t->data)->fire(); }, ms, 0);
  }
  void disarm() { uv_timer_stop(&h_->timer); }

 private:
  struct Handle {
    uv_timer_t timer;
    std::function<void()> fire;
  };
  Handle* h_;
};

}  // namespace bottle
