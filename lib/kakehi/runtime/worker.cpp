// Worker loop turn, detached task ownership and teardown.
#include "kakehi/runtime/worker.hpp"

#include <time.h>

#include <algorithm>
#include <exception>

#include "kakehi/common/log.hpp"

namespace kakehi::runtime {
namespace {
thread_local Worker* tls_current = nullptr;

detail::Detached run_detached(Task<void> t) { co_await std::move(t); }
}  // namespace

void detail::DetachedPromise::unhandled_exception() noexcept {
  ++worker->stats_.task_exceptions;
  try {
    throw;
  } catch (const std::exception& e) {
    log::error("detached task ended with an exception: {}", e.what());
  } catch (...) {
    log::error("detached task ended with an unknown exception");
  }
}

Worker::Scope::Scope(Worker* w) : prev(tls_current) { tls_current = w; }
Worker::Scope::~Scope() { tls_current = prev; }

Worker* Worker::current() noexcept { return tls_current; }

uint64_t Worker::clock_ns() noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);  // vDSO: no syscall
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

Worker::Worker(const WorkerOptions& opts)
    : opts_(opts),
      ring_(opts.ring),
      pool_(std::make_unique<buffer::BufferPool>(opts.buffer_count, opts.buffer_size)),
      // The kernel always gets at least half the pool, whatever the writers' reserve.
      buffers_(std::make_unique<ProvidedBuffers>(
          ring_, *pool_, std::min(opts.write_reserve, opts.buffer_count / 2))),
      now_(clock_ns()) {
  timers_ = std::make_unique<TimerWheel>(now_, opts.timer_tick_ns);
  ready_.reserve(256);
  running_.reserve(256);
}

Worker::~Worker() {
  Scope scope(this);
  tearing_down_ = true;
  // 1. Cancel every operation in flight and dispatch completions until the kernel has none
  //    left for us. Coroutines resumed with -ECANCELED may start new operations (a close):
  //    go round a bounded number of times.
  for (int round = 0; round < 64; ++round) {
    run_ready();
    ring_.cancel_all();
    __kernel_timespec ts{0, 20'000'000};
    bool got = ring_.submit_and_wait(&ts);
    unsigned n = ring_.reap();
    if (!got && n == 0 && ready_.empty()) break;
  }
  // 2. Destroy the tasks still suspended (on timers, mailboxes...). Their destructors release
  //    slices and unlink timers.
  while (detail::DetachedPromise* p = tasks_.pop_front()) {
    std::coroutine_handle<detail::DetachedPromise>::from_promise(*p).destroy();
  }
  ready_.clear();
}

void Worker::spawn(Task<void> t) {
  detail::Detached d = run_detached(std::move(t));
  d.h.promise().worker = this;
  tasks_.push_back(d.h.promise());
  ++stats_.tasks_spawned;
  post(d.h);
}

void Worker::run_ready() {
  // Coroutines posted while running go to the next batch; bounded by what is ready now.
  while (!ready_.empty()) {
    running_.swap(ready_);
    for (auto h : running_) h.resume();
    running_.clear();
    if (ready_.size() > 0) break;  // newly posted ones run after this turn's I/O
  }
}

void Worker::wait_and_dispatch() {
  __kernel_timespec ts;
  const __kernel_timespec* timeout = nullptr;
  if (!ready_.empty()) {
    ts = {0, 0};
    timeout = &ts;
  } else if (auto wake = timers_->next_wakeup()) {
    uint64_t delta = *wake > now_ ? *wake - now_ : 0;
    ts = {static_cast<long long>(delta / 1'000'000'000),
          static_cast<long long>(delta % 1'000'000'000)};
    if (delta == 0) ts.tv_nsec = 1;  // already due: poll the ring without blocking long
    timeout = &ts;
  }
  ring_.submit_and_wait(timeout);
  now_ = clock_ns();
  ++stats_.turns;
  ring_.reap();
  timers_->advance(now_);
}

}  // namespace kakehi::runtime
