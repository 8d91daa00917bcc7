// Ring setup with the task-run fallback chain, batched submit/wait, and batched reaping.
#include "kakehi/runtime/ring.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "kakehi/common/log.hpp"

namespace kakehi::runtime {

const char* to_string(TaskRunMode m) noexcept {
  switch (m) {
    case TaskRunMode::DeferTaskrun:
      return "SINGLE_ISSUER|DEFER_TASKRUN";
    case TaskRunMode::CoopTaskrun:
      return "COOP_TASKRUN|TASKRUN_FLAG";
    case TaskRunMode::None:
      return "no task-run flag";
  }
  return "?";
}

namespace {

unsigned flags_for(TaskRunMode m) {
  switch (m) {
    case TaskRunMode::DeferTaskrun:
      return IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    case TaskRunMode::CoopTaskrun:
      return IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
    case TaskRunMode::None:
      return 0;
  }
  return 0;
}

std::string explain_setup_failure(int err) {
  std::string why = std::strerror(err);
  std::ifstream sysctl("/proc/sys/kernel/io_uring_disabled");
  int disabled = 0;
  if (sysctl >> disabled && disabled != 0)
    why += fmt::format(" (kernel.io_uring_disabled = {})", disabled);
  else if (err == EPERM)
    why += " (io_uring blocked by a seccomp filter or container policy?)";
  else if (err == ENOSYS)
    why += " (kernel built without io_uring)";
  else if (err == ENOMEM)
    why += " (locked-memory limit too low? see ulimit -l)";
  return why;
}

}  // namespace

Ring::Ring(const Options& opts) {
  io_uring_params p{};
  const TaskRunMode order[] = {TaskRunMode::DeferTaskrun, TaskRunMode::CoopTaskrun,
                               TaskRunMode::None};
  int err = 0;
  for (TaskRunMode m : order) {
    if (opts.force_mode && m != opts.mode) continue;
    p = io_uring_params{};
    p.flags = flags_for(m) | IORING_SETUP_CQSIZE;
    p.cq_entries = opts.entries * 4;
    err = -io_uring_queue_init_params(opts.entries, &ring_, &p);
    if (err == 0) {
      mode_ = m;
      break;
    }
    if (err != EINVAL) break;  // EINVAL: this kernel lacks the flag; anything else is fatal
  }
  if (err != 0)
    throw RuntimeStartError("kakehi: cannot start worker: io_uring_setup failed: " +
                            explain_setup_failure(err));
  if (mode_ == TaskRunMode::DeferTaskrun)
    log::info("io_uring ring: {} entries, {}", opts.entries, to_string(mode_));
  else if (opts.force_mode)
    log::info("io_uring ring: {} entries, {} (forced)", opts.entries, to_string(mode_));
  else
    log::warn(
        "io_uring ring: kernel refused SINGLE_ISSUER|DEFER_TASKRUN; using {} "
        "(costs more CPU per completion)",
        to_string(mode_));
}

Ring::~Ring() { io_uring_queue_exit(&ring_); }

io_uring_sqe* Ring::flush_and_get() {
  ++stats_.sq_full;
  io_uring_submit(&ring_);
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  if (s == nullptr) throw std::runtime_error("io_uring SQ still full after submit");
  return s;
}

bool Ring::submit_and_wait(const __kernel_timespec* timeout) {
  ++stats_.submits;
  io_uring_cqe* cqe = nullptr;
  int r;
  if (timeout && timeout->tv_sec == 0 && timeout->tv_nsec == 0) {
    // Don't wait: submit and run deferred task work so ready completions are posted.
    r = io_uring_submit_and_get_events(&ring_);
    return r >= 0;
  }
  if (timeout)
    r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, const_cast<__kernel_timespec*>(timeout),
                                         nullptr);
  else
    r = io_uring_submit_and_wait(&ring_, 1);
  return r != -ETIME;  // EINTR/EBUSY: reap what is there and go round again
}

unsigned Ring::reap() {
  unsigned head;
  unsigned n = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++n;
    auto* c = static_cast<Completion*>(io_uring_cqe_get_data(cqe));
    if (c != nullptr) c->fn(c, cqe->res, cqe->flags);
  }
  io_uring_cq_advance(&ring_, n);
  stats_.completions += n;
  return n;
}

}  // namespace kakehi::runtime
