// Small shared utilities (lib/kakehi/common): log::Throttle (the first occurrence passes, then
// at most one per interval, and the ones left out are counted for the next message) and Fifo
// (FIFO order, no storage while empty, bounded storage under a steady flow).
#include <doctest/doctest.h>

#include <deque>
#include <random>

#include "kakehi/common/fifo.hpp"
#include "kakehi/common/log.hpp"

using kakehi::Fifo;
using kakehi::log::Throttle;

namespace {
constexpr uint64_t kS = 1'000'000'000;
}

TEST_CASE("Throttle: one message per interval, with the count of those left out") {
  Throttle t(kS);
  CHECK(t.allow(5 * kS));  // the first one, whatever the clock says
  CHECK(t.take_suppressed() == 0);
  int passed = 0;
  for (uint64_t i = 1; i <= 100; ++i)  // 10 ms apart for 1 s: all inside the interval
    if (t.allow(5 * kS + i * 10'000'000 - 1)) ++passed;
  CHECK(passed == 0);
  CHECK(t.allow(6 * kS));  // the interval is over
  CHECK(t.take_suppressed() == 100);
  CHECK(t.take_suppressed() == 0);  // taken: reset
  CHECK_FALSE(t.allow(6 * kS + kS / 2));
  CHECK(t.allow(7 * kS + 1));
  CHECK(t.take_suppressed() == 1);
}

TEST_CASE("Throttle: a clock starting at zero still lets the first message through") {
  Throttle t(kS);
  CHECK(t.allow(0));
  CHECK_FALSE(t.allow(1));
  CHECK(t.allow(kS));
}

TEST_CASE("Fifo: first in, first out, against std::deque, with erasures in the middle") {
  std::mt19937 rng(7);
  Fifo<uint32_t> f;
  std::deque<uint32_t> model;
  uint32_t next = 0;
  for (int step = 0; step < 100000; ++step) {
    const unsigned op = rng() % 10;
    if (op < 5 || model.empty()) {
      f.push_back(next);
      model.push_back(next++);
    } else if (op < 9) {
      REQUIRE(f.front() == model.front());
      f.pop_front();
      model.pop_front();
    } else {
      const uint32_t v = model[rng() % model.size()];
      REQUIRE(f.erase_value(v));
      model.erase(std::find(model.begin(), model.end(), v));
      CHECK_FALSE(f.erase_value(v));
    }
    REQUIRE(f.size() == model.size());
    REQUIRE(f.empty() == model.empty());
    if (!model.empty()) REQUIRE(f.front() == model.front());
  }
}

TEST_CASE("Fifo: storage stays within twice what is queued (plus 16) under a steady flow") {
  Fifo<int> f;
  size_t worst = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    f.push_back(i);
    if (i % 3 != 0) f.pop_front();  // grows by one every third step, then drains
    if (f.size() > 100)
      while (f.size() > 1) f.pop_front();
    REQUIRE(f.footprint() <= 2 * f.size() + 16);
    worst = std::max(worst, f.footprint());
  }
  CHECK(worst <= 2 * 101 + 16);
  while (!f.empty()) f.pop_front();
  CHECK(f.footprint() == 0);
}
