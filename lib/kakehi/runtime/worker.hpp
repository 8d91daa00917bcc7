// Worker: one single-threaded event loop — a Ring, the worker's BufferPool fed to the kernel,
// a TimerWheel, a ready queue and the detached tasks it owns. One loop turn: run ready
// coroutines, refill the provided-buffer ring, submit everything and wait (until a completion
// or the next timer), read the clock once, dispatch the completions in a batch, fire due
// timers. Teardown cancels every pending operation, drains their completions, then destroys
// the tasks that are still suspended, so nothing dangles.
#pragma once

#include <coroutine>
#include <cstdint>
#include <memory>
#include <vector>

#include "kakehi/buffer/buffer_pool.hpp"
#include "kakehi/common/intrusive_list.hpp"
#include "kakehi/runtime/provided_buffers.hpp"
#include "kakehi/runtime/ring.hpp"
#include "kakehi/runtime/task.hpp"
#include "kakehi/runtime/timer_wheel.hpp"

namespace kakehi::runtime {

struct WorkerOptions {
  Ring::Options ring;
  uint32_t buffer_count = 4096;  ///< pool buffers (≤ 32768)
  uint32_t buffer_size = 16384;  ///< bytes per buffer
  uint32_t write_reserve = 64;   ///< free buffers kept out of the kernel ring for writers
  uint32_t max_queued_recv = 8;  ///< received-but-unread buffers per connection before the
                                 ///< worker stops reading it (per-connection back-pressure)
  uint64_t timer_tick_ns = 1'000'000;
  size_t send_zc_threshold = 64 * 1024;  ///< writes of at least this many bytes use SEND_ZC
};

struct WorkerStats {
  uint64_t turns = 0;      ///< loop turns
  uint64_t sends = 0;      ///< send/sendmsg submissions by TcpStream writes
  uint64_t zc_sends = 0;   ///< of which SEND_ZC / SENDMSG_ZC
  uint64_t zc_copied = 0;  ///< SEND_ZC the kernel copied anyway (that socket stops using it)
  uint64_t tasks_spawned = 0;
  uint64_t task_exceptions = 0;  ///< detached tasks that ended with an exception (bugs)
};

class Worker;

namespace detail {
// A detached coroutine owned by its worker: it destroys itself when done, and the worker
// destroys any that remain suspended at teardown.
struct DetachedPromise;
struct Detached {
  using promise_type = DetachedPromise;
  std::coroutine_handle<DetachedPromise> h;
};
struct DetachedPromise : PromiseBase, IntrusiveHook {
  Worker* worker = nullptr;
  Detached get_return_object() noexcept {
    return {std::coroutine_handle<DetachedPromise>::from_promise(*this)};
  }
  struct Final {
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<DetachedPromise> h) noexcept { h.destroy(); }
    void await_resume() noexcept {}
  };
  Final final_suspend() noexcept { return {}; }
  void return_void() noexcept {}
  void unhandled_exception() noexcept;
};
}  // namespace detail

class Worker {
 public:
  /// Throws RuntimeStartError (clear message) if io_uring cannot be set up.
  explicit Worker(const WorkerOptions& opts = {});
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// The worker running on this thread (nullptr outside a worker's loop or constructor).
  static Worker* current() noexcept;

  Ring& ring() noexcept { return ring_; }
  buffer::BufferPool& pool() noexcept { return *pool_; }
  ProvidedBuffers& buffers() noexcept { return *buffers_; }
  TimerWheel& timers() noexcept { return *timers_; }
  const WorkerOptions& options() const noexcept { return opts_; }
  const WorkerStats& stats() const noexcept { return stats_; }
  WorkerStats& stats() noexcept { return stats_; }

  /// Monotonic time in ns, read once per loop turn.
  uint64_t now() const noexcept { return now_; }

  /// Starts `t` on the next loop turn; the worker owns it until it finishes.
  void spawn(Task<void> t);
  size_t live_tasks() const noexcept { return tasks_.size(); }

  /// Queues a coroutine to be resumed on the next loop turn.
  void post(std::coroutine_handle<> h) { ready_.push_back(h); }

  /// Runs the loop until `t` completes; returns its value (or rethrows its exception).
  template <class T>
  T block_on(Task<T> t) {
    auto h = t.release();
    Task<T> owner(h);
    post(h);
    run_until([&] { return h.done(); });
    return owner.result();
  }

  /// Runs the loop until `stop()` is called (from a coroutine on this worker).
  void run() {
    run_until([this] { return stopping_; });
  }
  void stop() noexcept { stopping_ = true; }
  /// True while the destructor cancels what is in flight: a cancelled operation must end its
  /// reader (not be re-armed), so that every coroutine runs to its end or suspends for good.
  bool tearing_down() const noexcept { return tearing_down_; }

  template <class Pred>
  void run_until(Pred done) {
    Scope scope(this);
    for (;;) {
      run_ready();
      buffers_->replenish();
      if (done()) break;
      wait_and_dispatch();
    }
    io_uring_submit(ring_.raw());
  }

 private:
  friend struct detail::DetachedPromise;
  struct Scope {  // sets Worker::current() for the duration of a run
    Worker* prev;
    explicit Scope(Worker* w);
    ~Scope();
  };
  void run_ready();
  void wait_and_dispatch();
  static uint64_t clock_ns() noexcept;

  WorkerOptions opts_;
  Ring ring_;
  std::unique_ptr<buffer::BufferPool> pool_;
  std::unique_ptr<ProvidedBuffers> buffers_;
  std::unique_ptr<TimerWheel> timers_;
  uint64_t now_ = 0;
  bool stopping_ = false;
  bool tearing_down_ = false;
  std::vector<std::coroutine_handle<>> ready_;
  std::vector<std::coroutine_handle<>> running_;  // swapped with ready_ each turn
  IntrusiveList<detail::DetachedPromise> tasks_;
  WorkerStats stats_;
};

/// Suspends the calling coroutine for `ns` nanoseconds on the current worker's timer wheel.
struct SleepAwaiter : TimerEntry {
  uint64_t deadline;
  std::coroutine_handle<> waiter;
  explicit SleepAwaiter(uint64_t deadline_ns) : TimerEntry(&on_timer), deadline(deadline_ns) {}
  static void on_timer(TimerEntry* t) { static_cast<SleepAwaiter*>(t)->waiter.resume(); }
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) noexcept {
    waiter = h;
    Worker::current()->timers().arm(*this, deadline);
  }
  void await_resume() const noexcept {}
};
inline SleepAwaiter sleep_for(uint64_t ns) { return SleepAwaiter(Worker::current()->now() + ns); }
inline SleepAwaiter sleep_until(uint64_t deadline_ns) { return SleepAwaiter(deadline_ns); }

/// Yields to the other ready coroutines: resumes on the next loop turn.
struct YieldAwaiter {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { Worker::current()->post(h); }
  void await_resume() const noexcept {}
};
inline YieldAwaiter yield() { return {}; }

}  // namespace kakehi::runtime
