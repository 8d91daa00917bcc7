// log::Throttle: the first occurrence passes, then at most one per interval, and the ones left
// out in between are counted for the next message.
#include <doctest/doctest.h>

#include "kakehi/common/log.hpp"

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
