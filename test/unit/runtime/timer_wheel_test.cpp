// TimerWheel: ordering, never early, O(1) cancel, re-arm, callbacks that cancel or destroy other
// due timers, deadlines beyond one rotation, next_wakeup as a lower bound.
#include "kakehi/runtime/timer_wheel.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <random>
#include <vector>

using kakehi::runtime::TimerEntry;
using kakehi::runtime::TimerWheel;

namespace {
constexpr uint64_t kMs = 1'000'000;

struct Probe : TimerEntry {
  int id;
  uint64_t deadline;
  std::vector<std::pair<int, uint64_t>>* log;
  uint64_t* now;
  Probe(int i, uint64_t d, std::vector<std::pair<int, uint64_t>>* l, uint64_t* n)
      : TimerEntry(&fire), id(i), deadline(d), log(l), now(n) {}
  static void fire(TimerEntry* t) {
    auto* p = static_cast<Probe*>(t);
    p->log->push_back({p->id, *p->now});
  }
};
}  // namespace

TEST_CASE("timers fire in deadline order and never before their deadline") {
  uint64_t now = 1000 * kMs;
  TimerWheel wheel(now, kMs);
  std::vector<std::pair<int, uint64_t>> log;
  std::vector<std::unique_ptr<Probe>> probes;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    uint64_t d = now + rng() % (10'000 * kMs);  // up to 10 s: beyond one 4096-tick rotation
    probes.push_back(std::make_unique<Probe>(i, d, &log, &now));
    wheel.arm(*probes.back(), d);
  }
  CHECK(wheel.size() == 2000);
  while (wheel.size() > 0) {
    now += (rng() % 7) * kMs + 1;  // irregular loop turns
    wheel.advance(now);
  }
  REQUIRE(log.size() == 2000);
  uint64_t prev_deadline = 0;
  for (auto& [id, fired_at] : log) {
    CHECK(fired_at >= probes[id]->deadline);                   // never early
    CHECK(fired_at < probes[id]->deadline + 8 * kMs);          // and late by ≤ one turn + tick
    CHECK(probes[id]->deadline / kMs >= prev_deadline / kMs);  // ordered by tick
    prev_deadline = probes[id]->deadline;
  }
}

TEST_CASE("cancel and re-arm") {
  uint64_t now = 0;
  TimerWheel wheel(now, kMs);
  std::vector<std::pair<int, uint64_t>> log;
  Probe a(1, 5 * kMs, &log, &now), b(2, 5 * kMs, &log, &now), c(3, 5 * kMs, &log, &now);
  wheel.arm(a, 5 * kMs);
  wheel.arm(b, 5 * kMs);
  wheel.arm(c, 5 * kMs);
  TimerWheel::cancel(b);
  CHECK_FALSE(b.armed());
  wheel.arm(c, 9 * kMs);  // re-arm moves it
  now = 6 * kMs;
  CHECK(wheel.advance(now) == 1);
  CHECK(log == std::vector<std::pair<int, uint64_t>>{{1, 6 * kMs}});
  now = 9 * kMs;
  CHECK(wheel.advance(now) == 1);
  CHECK(log.back().first == 3);
  CHECK(wheel.size() == 0);
}

TEST_CASE("same-tick timers fire in arming order") {
  uint64_t now = 0;
  TimerWheel wheel(now, kMs);
  std::vector<std::pair<int, uint64_t>> log;
  std::vector<std::unique_ptr<Probe>> ps;
  for (int i = 0; i < 10; ++i) {
    ps.push_back(std::make_unique<Probe>(i, 3 * kMs, &log, &now));
    wheel.arm(*ps.back(), 3 * kMs);
  }
  now = 3 * kMs;
  wheel.advance(now);
  REQUIRE(log.size() == 10);
  for (int i = 0; i < 10; ++i) CHECK(log[i].first == i);
}

TEST_CASE("a callback may destroy or cancel another timer that is due in the same advance") {
  uint64_t now = 0;
  TimerWheel wheel(now, kMs);
  int fired = 0;
  struct Killer : TimerEntry {
    std::unique_ptr<TimerEntry>* victim;
    int* fired;
  };
  auto victim = std::make_unique<TimerEntry>([](TimerEntry*) { FAIL("victim fired"); });
  Killer k;
  k.on_expire = [](TimerEntry* t) {
    auto* self = static_cast<Killer*>(t);
    ++*self->fired;
    self->victim->reset();  // destroying an armed (due) timer unlinks it
  };
  k.victim = &victim;
  k.fired = &fired;
  wheel.arm(k, 2 * kMs);
  wheel.arm(*victim, 2 * kMs);
  now = 2 * kMs;
  CHECK(wheel.advance(now) == 1);
  CHECK(fired == 1);
  CHECK(wheel.size() == 0);
}

TEST_CASE("past deadlines fire on the next tick; next_wakeup is a lower bound") {
  uint64_t now = 100 * kMs;
  TimerWheel wheel(now, kMs);
  CHECK_FALSE(wheel.next_wakeup().has_value());
  std::vector<std::pair<int, uint64_t>> log;
  Probe late(1, 0, &log, &now), later(2, now + 5000 * kMs, &log, &now);
  wheel.arm(late, 0);
  wheel.arm(later, now + 5000 * kMs);
  REQUIRE(wheel.next_wakeup().has_value());
  CHECK(*wheel.next_wakeup() == 101 * kMs);
  now = 101 * kMs;
  CHECK(wheel.advance(now) == 1);
  // The far timer's slot comes round before its round: the wake-up is early, never late.
  CHECK(*wheel.next_wakeup() <= 5100 * kMs);
  now = 5100 * kMs;
  CHECK(wheel.advance(now) == 1);
  CHECK_FALSE(wheel.next_wakeup().has_value());
}
