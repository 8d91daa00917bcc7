// WorkerGroup: N worker threads, each running its own Worker loop, driven from outside through
// one Mailbox per worker. `broadcast` runs a task on every worker and resolves a future with
// their results in worker order — the transport of the config channel (validate a diff once,
// publish the resulting immutable snapshot to every worker, aggregate the answers). Listeners
// are opened per worker with SO_REUSEPORT. Stopping asks every loop to return, then joins; each
// Worker's teardown cancels and drains what is still in flight.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "kakehi/runtime/mailbox.hpp"
#include "kakehi/runtime/worker.hpp"

namespace kakehi::runtime {

class WorkerGroup {
 public:
  /// A job runs as a task on one worker; `index` is the worker's position in the group.
  using Job = std::function<Task<void>(Worker&, size_t index)>;

  /// Starts `n` workers. Throws RuntimeStartError (the first worker's message) if any of them
  /// cannot start; the ones that did are stopped first.
  WorkerGroup(size_t n, const WorkerOptions& opts = {});
  ~WorkerGroup();
  WorkerGroup(const WorkerGroup&) = delete;
  WorkerGroup& operator=(const WorkerGroup&) = delete;

  size_t size() const noexcept { return slots_.size(); }

  /// Runs `job` on worker `index` (any thread).
  void post(size_t index, Job job);

  /// Runs `fn(worker, index)` on every worker; the future holds the results in worker order, or
  /// the first exception thrown by one of them (after all have finished).
  template <class R>
  std::future<std::vector<R>> broadcast(std::function<Task<R>(Worker&, size_t)> fn);

  /// Asks every worker's loop to return and joins the threads. Idempotent.
  void stop();

 private:
  struct Slot {
    std::thread thread;
    Mailbox<Job>* mailbox = nullptr;  // owned by the worker thread while it runs
  };
  void run_worker(size_t index, const WorkerOptions& opts, std::promise<void>& started);

  std::vector<Slot> slots_;
};

template <class R>
std::future<std::vector<R>> WorkerGroup::broadcast(std::function<Task<R>(Worker&, size_t)> fn) {
  struct Gather {
    std::mutex mu;
    std::vector<std::optional<R>> results;
    size_t remaining;
    std::exception_ptr error;
    std::promise<std::vector<R>> done;
  };
  auto g = std::make_shared<Gather>();
  g->results.resize(size());
  g->remaining = size();
  auto fut = g->done.get_future();
  for (size_t i = 0; i < size(); ++i) {
    post(i, [g, fn](Worker& w, size_t index) -> Task<void> {
      std::optional<R> value;
      std::exception_ptr err;
      try {
        value.emplace(co_await fn(w, index));
      } catch (...) {
        err = std::current_exception();
      }
      std::lock_guard lock(g->mu);
      if (err && !g->error) g->error = err;
      g->results[index] = std::move(value);
      if (--g->remaining > 0) co_return;
      if (g->error) {
        g->done.set_exception(g->error);
        co_return;
      }
      std::vector<R> out;
      out.reserve(g->results.size());
      for (auto& r : g->results) out.push_back(std::move(*r));
      g->done.set_value(std::move(out));
    });
  }
  return fut;
}

}  // namespace kakehi::runtime
