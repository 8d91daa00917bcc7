// Task<T> and when_all: values, exceptions, laziness, destruction without resumption, frame
// counting (no leaked frames), pooled frames in steady state, deep symmetric-transfer chains.
#include "kakehi/runtime/task.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "kakehi/runtime/when_all.hpp"
#include "kakehi/runtime/worker.hpp"

using namespace kakehi::runtime;

namespace {

struct Counted {  // counts live instances to catch leaked frames' locals
  static inline int live = 0;
  Counted() { ++live; }
  Counted(const Counted&) { ++live; }
  ~Counted() { --live; }
};

Task<int> answer() { co_return 42; }
Task<int> add(int a, int b) { co_return (co_await answer()) - 42 + a + b; }
Task<std::string> fails() {
  throw std::runtime_error("boom");
  co_return "";
}
Task<void> sets(bool& flag) {
  flag = true;
  co_return;
}
Task<int> holds_counted() {
  Counted c;
  co_return 1;
}
Task<int> chain(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await chain(depth - 1);
}
Task<int> sleepy(int ms, int value, std::vector<int>& order) {
  co_await sleep_for(static_cast<uint64_t>(ms) * 1'000'000);
  order.push_back(value);
  co_return value;
}

}  // namespace

TEST_CASE("a task is lazy and yields its value when awaited") {
  Worker w;
  bool ran = false;
  Task<void> t = sets(ran);
  CHECK_FALSE(ran);
  w.block_on(std::move(t));
  CHECK(ran);
  CHECK(w.block_on(add(1, 2)) == 3);
}

TEST_CASE("an exception inside a task propagates to the awaiter") {
  Worker w;
  auto outer = []() -> Task<int> {
    try {
      co_await fails();
    } catch (const std::runtime_error& e) {
      co_return std::string(e.what()) == "boom" ? 7 : 0;
    }
    co_return 0;
  };
  CHECK(w.block_on(outer()) == 7);
  CHECK_THROWS_AS(w.block_on(fails()), std::runtime_error);
}

TEST_CASE("destroying a task that never ran frees its frame and its locals") {
  const uint64_t before = FramePool::stats().live;
  {
    Task<int> t = holds_counted();  // frame allocated, body not started
    CHECK(FramePool::stats().live == before + 1);
  }
  CHECK(FramePool::stats().live == before);
  CHECK(Counted::live == 0);
}

TEST_CASE("no frame is leaked by completed tasks, when_all or spawned tasks") {
  const uint64_t before = FramePool::stats().live;
  {
    Worker w;
    w.block_on(add(2, 3));
    std::vector<Task<int>> ts;
    for (int i = 0; i < 10; ++i) ts.push_back(holds_counted());
    CHECK(w.block_on(when_all(std::move(ts))).size() == 10);
    int done = 0;
    for (int i = 0; i < 5; ++i)
      w.spawn([](int& d) -> Task<void> {
        co_await yield();
        ++d;
      }(done));
    w.block_on([]() -> Task<void> {
      for (int i = 0; i < 3; ++i) co_await yield();
    }());
    CHECK(done == 5);
    CHECK(w.live_tasks() == 0);
  }
  CHECK(FramePool::stats().live == before);
  CHECK(Counted::live == 0);
}

TEST_CASE("a worker destroys tasks still suspended at teardown") {
  const uint64_t before = FramePool::stats().live;
  {
    Worker w;
    w.spawn([]() -> Task<void> {
      Counted c;
      co_await sleep_for(3'600'000'000'000);  // an hour: never fires in this test
    }());
    w.block_on([]() -> Task<void> { co_await yield(); }());
    CHECK(w.live_tasks() == 1);
    CHECK(Counted::live == 1);
  }
  CHECK(Counted::live == 0);
  CHECK(FramePool::stats().live == before);
}

TEST_CASE("a worker's teardown destroys when_all children still suspended (a tunnel's pumps)") {
  const uint64_t before = FramePool::stats().live;
  {
    Worker w;
    auto pump = [](bool forever) -> Task<void> {
      Counted c;
      if (forever) co_await sleep_for(3'600'000'000'000);
      co_await yield();
    };
    w.spawn([](auto p) -> Task<void> {
      std::vector<Task<void>> ts;
      ts.push_back(p(true));
      ts.push_back(p(false));  // finishes: its frame waits at its end for the parent
      co_await when_all(std::move(ts));
    }(pump));
    w.block_on([]() -> Task<void> {
      for (int i = 0; i < 3; ++i) co_await yield();
    }());
    CHECK(w.live_tasks() == 1);
    CHECK(Counted::live == 1);
  }
  CHECK(Counted::live == 0);
  CHECK(FramePool::stats().live == before);
}

TEST_CASE("deep chains of awaits complete by symmetric transfer without exhausting the stack") {
  Worker w;
  // GCC turns the resumption into a tail call only with optimization and without ASan's
  // instrumentation; under ASan each level still takes stack, so the chain is shorter there.
  const int depth = kFramePooling ? 200000 : 2000;
  CHECK(w.block_on(chain(depth)) == depth);
}

TEST_CASE("frames are reused: steady state allocates nothing new") {
  if (!kFramePooling) {
    MESSAGE("frame pooling is off under AddressSanitizer; skipping the reuse check");
    return;
  }
  Worker w;
  for (int i = 0; i < 10; ++i) w.block_on(add(i, i));
  const uint64_t fresh = FramePool::stats().fresh;
  for (int i = 0; i < 1000; ++i) w.block_on(add(i, i));
  CHECK(FramePool::stats().fresh == fresh);
}

TEST_CASE("when_all runs tasks concurrently and returns results in argument order") {
  Worker w;
  std::vector<int> order;
  auto [a, b, c] =
      w.block_on(when_all(sleepy(30, 1, order), sleepy(10, 2, order), sleepy(20, 3, order)));
  CHECK(a == 1);
  CHECK(b == 2);
  CHECK(c == 3);
  CHECK(order == std::vector<int>{2, 3, 1});  // completion order follows the sleeps
}

TEST_CASE("when_all waits for every child before rethrowing the first exception") {
  Worker w;
  std::vector<int> order;
  std::vector<Task<int>> ts;
  ts.push_back(sleepy(20, 1, order));
  ts.push_back([]() -> Task<int> {
    throw std::logic_error("child failed");
    co_return 0;
  }());
  CHECK_THROWS_AS(w.block_on(when_all(std::move(ts))), std::logic_error);
  CHECK(order == std::vector<int>{1});  // the sleeping child finished first
}

TEST_CASE("when_all of an empty list completes at once") {
  Worker w;
  CHECK(w.block_on(when_all(std::vector<Task<int>>{})).empty());
}
