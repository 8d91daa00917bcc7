// RFC 9218 §10 scheduler with fake streams: urgency order, in-order non-incremental streams,
// byte-based round robin for incremental ones, reprioritisation.
#include "kakehi/http2/scheduler.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>

using namespace kakehi::http2;

namespace {

/// Fake streams with a byte count each; sends up to `frame` bytes per turn.
std::string run(Scheduler& s, std::map<uint32_t, size_t> left, size_t frame) {
  std::string order;
  while (auto id = s.next()) {
    size_t n = std::min(frame, left[*id]);
    left[*id] -= n;
    order += std::to_string(*id) + " ";
    s.sent(*id, n);
    if (left[*id] == 0) s.remove(*id);
  }
  return order;
}

}  // namespace

TEST_CASE("lower urgency value goes first; non-incremental in stream-id order") {
  Scheduler s;
  s.push(9, {3, false});
  s.push(5, {3, false});
  s.push(11, {1, false});
  s.push(7, {7, false});
  CHECK(run(s, {{5, 2}, {7, 1}, {9, 1}, {11, 1}}, 1) == "11 5 5 9 7 ");
}

TEST_CASE("incremental streams of one urgency share by byte quantum") {
  Scheduler s(100);
  s.push(1, {3, true});
  s.push(3, {3, true});
  s.push(5, {3, true});
  // 50-byte frames: each stream sends 2 frames (its 100-byte quantum) before the next.
  CHECK(run(s, {{1, 200}, {3, 200}, {5, 100}}, 50) == "1 1 3 3 5 5 1 1 3 3 ");
}

TEST_CASE("non-incremental before incremental of the same urgency") {
  Scheduler s;
  s.push(1, {3, true});
  s.push(3, {3, false});
  CHECK(s.next() == 3u);
}

TEST_CASE("update moves a ready stream; remove and re-push are idempotent") {
  Scheduler s;
  s.push(1, {3, false});
  s.push(3, {3, false});
  s.update(3, {0, false});
  CHECK(s.next() == 3u);
  s.push(3, {7, false});  // already queued: no effect
  CHECK(s.next() == 3u);
  s.remove(3);
  s.remove(3);
  CHECK(s.next() == 1u);
  CHECK(s.size() == 1);
  s.remove(1);
  CHECK(s.empty());
  CHECK(!s.next());
}
