// Ring: the task-run mode chosen on this kernel, batched submission, io_uring timeouts and
// cancellation of a pending operation leaving no dangling state.
#include "kakehi/runtime/ring.hpp"

#include <doctest/doctest.h>

#include "kakehi/runtime/ops.hpp"
#include "kakehi/runtime/when_all.hpp"
#include "kakehi/runtime/worker.hpp"

using namespace kakehi::runtime;

TEST_CASE("the ring is created with SINGLE_ISSUER | DEFER_TASKRUN on this kernel") {
  Worker w;
  // PERFORMANCE.md: without a task-run flag each completion costs a VM exit here.
  CHECK(w.ring().mode() == TaskRunMode::DeferTaskrun);
  CHECK(std::string(to_string(w.ring().mode())) == "SINGLE_ISSUER|DEFER_TASKRUN");
}

TEST_CASE("the fallback modes can be forced and still work") {
  for (TaskRunMode m : {TaskRunMode::CoopTaskrun, TaskRunMode::None}) {
    WorkerOptions o;
    o.ring.force_mode = true;
    o.ring.mode = m;
    Worker w(o);
    CHECK(w.ring().mode() == m);
    int r = w.block_on(
        [](Worker& wk) -> Task<int> { co_return co_await io_timeout(wk.ring(), 1'000'000); }(w));
    CHECK(r == -ETIME);
  }
}

TEST_CASE("an io_uring timeout can be cancelled; the awaiter sees -ECANCELED") {
  Worker w;
  OpSlot slot;
  int result = 1;
  w.spawn([](Worker& wk, OpSlot& s, int& res) -> Task<void> {
    res = co_await io_timeout(wk.ring(), 3'600'000'000'000, &s);
  }(w, slot, result));
  w.block_on([](Worker& wk, OpSlot& s) -> Task<void> {
    co_await sleep_for(5'000'000);
    CHECK(s.pending != nullptr);
    s.cancel(wk.ring());
    co_await sleep_for(5'000'000);
  }(w, slot));
  CHECK(result == -ECANCELED);
  CHECK(slot.pending == nullptr);
  CHECK(w.live_tasks() == 0);
}

TEST_CASE("many operations queued in one turn are submitted together") {
  Worker w;
  const uint64_t submits_before = w.ring().stats().submits;
  w.block_on([](Worker& wk) -> Task<void> {
    std::vector<Task<void>> ts;
    for (int i = 0; i < 500; ++i)
      ts.push_back([](Worker& k) -> Task<void> {
        int r = co_await io_timeout(k.ring(), 2'000'000);
        CHECK(r == -ETIME);
      }(wk));
    co_await when_all(std::move(ts));
  }(w));
  // 500 timeouts started in one turn: a few io_uring_enter calls, not 500.
  CHECK(w.ring().stats().submits - submits_before < 50);
}
