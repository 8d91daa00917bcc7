// WorkerGroup: thread start-up with error hand-back, the per-worker control loop, stop.
#include "kakehi/runtime/worker_group.hpp"

namespace kakehi::runtime {
namespace {

// Keeps the job (a closure whose captures its coroutine refers to) alive until it finishes:
// coroutine parameters live in the frame.
Task<void> run_job(WorkerGroup::Job job, Worker& w, size_t index) { co_await job(w, index); }

// The worker's control task: runs each job as its own task until told to stop (empty job).
Task<void> control_loop(Worker& w, Mailbox<WorkerGroup::Job>& mb, size_t index) {
  for (;;) {
    WorkerGroup::Job job = co_await mb.receive();
    if (!job) break;
    w.spawn(run_job(std::move(job), w, index));
  }
  w.stop();
}

}  // namespace

WorkerGroup::WorkerGroup(size_t n, const WorkerOptions& opts) : slots_(n) {
  std::exception_ptr first_error;
  for (size_t i = 0; i < n; ++i) {
    std::promise<void> started;
    auto ready = started.get_future();
    slots_[i].thread = std::thread([this, i, &opts, &started] { run_worker(i, opts, started); });
    try {
      ready.get();
    } catch (...) {
      first_error = std::current_exception();
      slots_[i].thread.join();
      slots_.resize(i);  // the failed one and those never started
      break;
    }
  }
  if (first_error) {
    stop();
    std::rethrow_exception(first_error);
  }
}

WorkerGroup::~WorkerGroup() { stop(); }

void WorkerGroup::run_worker(size_t index, const WorkerOptions& opts, std::promise<void>& started) {
  std::optional<Worker> w;
  try {
    w.emplace(opts);
  } catch (...) {
    started.set_exception(std::current_exception());
    return;
  }
  {
    Mailbox<Job> mb(*w);
    slots_[index].mailbox = &mb;
    started.set_value();  // `started` and `opts` belong to the constructor: not used after this
    w->spawn(control_loop(*w, mb, index));
    w->run();
    // The mailbox's receive has completed (stop job): no read is pending on it.
  }
  w.reset();  // teardown: cancel and drain whatever jobs are still running
}

void WorkerGroup::post(size_t index, Job job) { slots_.at(index).mailbox->push(std::move(job)); }

void WorkerGroup::stop() {
  for (auto& s : slots_)
    if (s.thread.joinable()) s.mailbox->push(Job{});
  for (auto& s : slots_)
    if (s.thread.joinable()) s.thread.join();
}

}  // namespace kakehi::runtime
