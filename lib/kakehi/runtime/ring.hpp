// Ring: one io_uring instance per worker thread. Created with SINGLE_ISSUER | DEFER_TASKRUN
// (PERFORMANCE.md: without a task-run flag each completion costs a VM exit here), falling back
// to COOP_TASKRUN | TASKRUN_FLAG, then to no flag, saying which in a start-up log line. SQEs are
// queued during a loop turn and submitted once by `submit_and_wait`; completions are reaped in
// batches and each one is dispatched to the Completion its user_data points at.
// Must not be used from any thread but its owner's.
#pragma once

#include <liburing.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace kakehi::runtime {

/// What a CQE's user_data points at. `fn` is called once per CQE (multishot operations get
/// several calls; the last one lacks IORING_CQE_F_MORE).
struct Completion {
  using Fn = void (*)(Completion* self, int res, uint32_t flags);
  Fn fn = nullptr;
};

/// Thrown when the worker cannot start (io_uring unavailable or refused): control-plane error.
struct RuntimeStartError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class TaskRunMode { DeferTaskrun, CoopTaskrun, None };
const char* to_string(TaskRunMode m) noexcept;

struct RingStats {
  uint64_t submits = 0;      ///< io_uring_enter calls made by submit_and_wait
  uint64_t completions = 0;  ///< CQEs dispatched
  uint64_t sq_full = 0;      ///< times the SQ filled up mid-turn and was flushed early
};

class Ring {
 public:
  struct Options {
    unsigned entries = 4096;  ///< SQ size (CQ is 4x)
    bool force_mode = false;  ///< tests: use `mode` instead of probing the best
    TaskRunMode mode = TaskRunMode::DeferTaskrun;
  };

  /// Throws RuntimeStartError naming the cause if io_uring cannot be set up.
  explicit Ring(const Options& opts);
  Ring() : Ring(Options{}) {}
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  io_uring* raw() noexcept { return &ring_; }
  TaskRunMode mode() const noexcept { return mode_; }
  const RingStats& stats() const noexcept { return stats_; }

  /// A fresh SQE, flushing the SQ if it is full. Its user_data is set to `c`.
  io_uring_sqe* sqe(Completion* c) {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    if (s == nullptr) [[unlikely]]
      s = flush_and_get();
    io_uring_sqe_set_data(s, c);
    return s;
  }

  /// Cancels the operation whose user_data is `target`; its own CQE still arrives (with
  /// -ECANCELED or its real result if it won the race). The cancel's own CQE is ignored.
  void cancel(Completion* target) { io_uring_prep_cancel(sqe(nullptr), target, 0); }
  /// Cancels every operation in flight on this ring (worker teardown).
  void cancel_all() { io_uring_prep_cancel(sqe(nullptr), nullptr, IORING_ASYNC_CANCEL_ANY); }

  /// Submits the queued SQEs and waits for at least one CQE, or until `timeout` (none: wait
  /// forever; zero: don't wait). Returns false on timeout.
  bool submit_and_wait(const __kernel_timespec* timeout);

  /// Dispatches every available CQE; returns how many.
  unsigned reap();

 private:
  io_uring_sqe* flush_and_get();

  io_uring ring_{};
  TaskRunMode mode_ = TaskRunMode::None;
  RingStats stats_;
};

}  // namespace kakehi::runtime
