// submit_slice: body bytes queued as pool slices (no copy into the engine). The DATA frames
// carry the same bytes in the same order as copied bodies; a slice's pool buffer is let go as
// soon as its bytes are cut into frames, when its stream closes, or at once when it is copied
// (small slices, the per-connection cap, behind copied bytes).
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "kakehi/buffer/buffer_pool.hpp"
#include "kakehi/http2/connection.hpp"
#include "support/h2_harness.hpp"

using namespace kakehi;
using namespace kakehi::http2;
using namespace kakehi::test;

namespace {

constexpr uint32_t kBuffers = 8;

/// A slice of `n` bytes, byte i = (seed + i) mod 251.
buffer::Slice make_slice(buffer::BufferPool& pool, size_t n, int seed) {
  auto b = pool.acquire();
  REQUIRE(b);
  REQUIRE(n <= b->size());
  auto w = b->writable();
  for (size_t i = 0; i < n; ++i) w[i] = std::byte(static_cast<uint8_t>((seed + i) % 251));
  b->remove_suffix(static_cast<uint32_t>(b->size() - n));
  return std::move(*b);
}

/// SETTINGS with SETTINGS_INITIAL_WINDOW_SIZE = v.
Bytes initial_window(uint32_t v) {
  return settings_frame({{static_cast<uint16_t>(SettingId::InitialWindowSize), v}});
}

Bytes pattern(size_t n, int seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = std::byte(static_cast<uint8_t>((seed + i) % 251));
  return b;
}

struct Server {
  buffer::BufferPool pool{kBuffers, 32768};  // before the engine: its streams hold slices
  EngineDriver d;
  hpack::Encoder enc;
  explicit Server(const ConnectionConfig& c) : d(c) {
    REQUIRE(d.feed(cat({client_magic(), settings_frame()})));
    d.output();
    REQUIRE(d.feed(settings_ack()));
    d.rec.events.clear();
  }
  /// The peer's SETTINGS_INITIAL_WINDOW_SIZE (acknowledged; its output dropped).
  void set_initial_window(uint32_t v) {
    REQUIRE(d.feed(initial_window(v)));
    d.output();
  }
  void open(uint32_t id) {
    REQUIRE(d.feed(headers_frame(enc, id, get_request(), true)));
    REQUIRE(d.conn.submit_response(id, {{":status", "200"}}, false));
  }
  /// The DATA payloads written, joined per stream; `ended`: streams whose last DATA frame had
  /// END_STREAM.
  std::map<uint32_t, Bytes> bodies(std::set<uint32_t>* ended = nullptr) {
    std::map<uint32_t, Bytes> all;
    for (auto& f : d.output()) {
      if (f.type() != FrameType::Data) continue;
      Bytes& to = all[f.h.stream_id];
      to.insert(to.end(), f.payload.begin(), f.payload.end());
      if (ended && (f.h.flags & flag::kEndStream) != 0) ended->insert(f.h.stream_id);
    }
    return all;
  }
  Bytes body(uint32_t id, bool* ended = nullptr) {
    std::set<uint32_t> done;
    Bytes b = bodies(&done)[id];
    if (ended) *ended = done.count(id) > 0;
    return b;
  }
};

ConnectionConfig config() {
  ConnectionConfig c;
  c.role = Role::Server;
  return c;
}

}  // namespace

TEST_CASE("submit_slice: DATA carries the slice's bytes; its buffer is freed once they are cut") {
  Server s(config());
  s.open(1);
  // 20000 bytes: two DATA frames (MAX_FRAME_SIZE 16384), the slice cut in the middle.
  REQUIRE(s.d.conn.submit_slice(1, make_slice(s.pool, 20000, 7), true));
  CHECK(s.pool.free_count() == kBuffers - 1);  // held by the stream, not copied
  CHECK(s.d.conn.queued_data(1) == 20000);
  bool ended = false;
  CHECK(s.body(1, &ended) == pattern(20000, 7));
  CHECK(ended);
  CHECK(s.pool.free_count() == kBuffers);
}

TEST_CASE("submit_slice: a slice waiting for the stream window is cut as the window opens") {
  Server s(config());
  s.set_initial_window(1000);
  s.open(1);
  REQUIRE(s.d.conn.submit_slice(1, make_slice(s.pool, 3000, 1), true));
  Bytes got = s.body(1);
  CHECK(got.size() == 1000);
  CHECK(s.pool.free_count() == kBuffers - 1);  // 2000 bytes still wait in the slice
  for (int i = 0; i < 2; ++i) {
    Bytes credit;
    encode_window_update(credit, 1, 1000);
    REQUIRE(s.d.feed(credit));
    Bytes more = s.body(1);
    got.insert(got.end(), more.begin(), more.end());
  }
  CHECK(got == pattern(3000, 1));
  CHECK(s.pool.free_count() == kBuffers);
}

TEST_CASE("submit_slice: a small slice starting a queue, and slices beyond the cap, are copied") {
  ConnectionConfig c = config();
  c.min_slice_bytes = 1024;
  c.max_queued_slices = 3;
  Server s(c);
  s.open(1);
  s.open(3);
  REQUIRE(s.d.conn.submit_slice(1, make_slice(s.pool, 100, 0), false));
  CHECK(s.pool.free_count() == kBuffers);  // copied: small, and stream 1 had nothing queued
  REQUIRE(s.d.conn.submit_slice(3, make_slice(s.pool, 2000, 1), false));
  REQUIRE(s.d.conn.submit_slice(3, make_slice(s.pool, 100, 2), false));  // behind a slice: kept
  CHECK(s.pool.free_count() == kBuffers - 2);
  REQUIRE(s.d.conn.submit_slice(1, make_slice(s.pool, 2000, 3), false));  // behind copies
  CHECK(s.pool.free_count() == kBuffers - 2);
  s.open(5);
  REQUIRE(s.d.conn.submit_slice(5, make_slice(s.pool, 2000, 4), false));  // the third slice
  CHECK(s.pool.free_count() == kBuffers - 3);
  // Beyond the cap: stream 5's queue becomes copies, in order, and its buffer goes.
  REQUIRE(s.d.conn.submit_slice(5, make_slice(s.pool, 2000, 5), true));
  CHECK(s.pool.free_count() == kBuffers - 2);
  auto got = s.bodies();
  CHECK(got[1] == cat({pattern(100, 0), pattern(2000, 3)}));
  CHECK(got[3] == cat({pattern(2000, 1), pattern(100, 2)}));
  CHECK(got[5] == cat({pattern(2000, 4), pattern(2000, 5)}));
  CHECK(s.pool.free_count() == kBuffers);
}

TEST_CASE("submit_slice and submit_data mixed on one stream keep their order") {
  Server s(config());
  s.set_initial_window(0);  // nothing is cut before everything is queued
  s.open(1);
  REQUIRE(s.d.conn.submit_data(1, pattern(1500, 10), false));
  REQUIRE(s.d.conn.submit_slice(1, make_slice(s.pool, 3000, 20), false));  // behind copied bytes
  CHECK(s.pool.free_count() == kBuffers);
  s.open(3);
  REQUIRE(s.d.conn.submit_slice(3, make_slice(s.pool, 3000, 30), false));
  REQUIRE(s.d.conn.submit_slice(3, make_slice(s.pool, 3000, 40), false));
  CHECK(s.pool.free_count() == kBuffers - 2);
  REQUIRE(s.d.conn.submit_data(3, pattern(500, 50), true));  // turns the slices into copies
  CHECK(s.pool.free_count() == kBuffers);
  CHECK(s.d.conn.queued_data(3) == 6500);
  REQUIRE(s.d.feed(initial_window(65535)));
  auto got = s.bodies();
  CHECK(got[1] == cat({pattern(1500, 10), pattern(3000, 20)}));
  CHECK(got[3] == cat({pattern(3000, 30), pattern(3000, 40), pattern(500, 50)}));
}

TEST_CASE("submit_slice: a reset stream lets its slices go") {
  Server s(config());
  s.set_initial_window(0);
  s.open(1);
  REQUIRE(s.d.conn.submit_slice(1, make_slice(s.pool, 5000, 0), false));
  REQUIRE(s.d.conn.submit_slice(1, make_slice(s.pool, 5000, 1), false));
  CHECK(s.pool.free_count() == kBuffers - 2);
  REQUIRE(s.d.conn.reset_stream(1, H2Error::Cancel));
  CHECK(s.pool.free_count() == kBuffers);
  // The connection's slice count went down with them: a new stream queues a slice again.
  s.open(3);
  REQUIRE(s.d.conn.submit_slice(3, make_slice(s.pool, 5000, 2), false));
  CHECK(s.pool.free_count() == kBuffers - 1);
}

TEST_CASE("submit_slice: an empty slice only ends the stream") {
  Server s(config());
  s.open(1);
  REQUIRE(s.d.conn.submit_slice(1, make_slice(s.pool, 4000, 9), false));
  REQUIRE(s.d.conn.submit_slice(1, buffer::Slice{}, true));
  CHECK(s.d.conn.queued_data(1) == 4000);
  bool ended = false;
  CHECK(s.body(1, &ended) == pattern(4000, 9));
  CHECK(ended);
  CHECK(s.pool.free_count() == kBuffers);
  CHECK(!s.d.conn.stream_state(1));
}

namespace {

ConnectionConfig gather_config() {
  ConnectionConfig c = config();
  c.gather_slices = true;
  return c;
}

/// The bytes a vectored write of `b` puts on the wire: its bytes with the slices in between.
Bytes flatten(const OutputBatch& b) {
  Bytes all;
  size_t at = 0;
  for (const OutputBatch::Piece& p : b.slices) {
    REQUIRE(p.at >= at);
    all.insert(all.end(), b.bytes.begin() + static_cast<long>(at),
               b.bytes.begin() + static_cast<long>(p.at));
    all.insert(all.end(), p.slice.data(), p.slice.data() + p.slice.size());
    at = p.at;
  }
  all.insert(all.end(), b.bytes.begin() + static_cast<long>(at), b.bytes.end());
  return all;
}

/// DATA payloads per stream in `wire`.
std::map<uint32_t, Bytes> data_of(const Bytes& wire, std::set<uint32_t>* ended = nullptr) {
  std::map<uint32_t, Bytes> all;
  for (auto& f : split_frames(wire)) {
    if (f.type() != FrameType::Data) continue;
    Bytes& to = all[f.h.stream_id];
    to.insert(to.end(), f.payload.begin(), f.payload.end());
    if (ended && (f.h.flags & flag::kEndStream) != 0) ended->insert(f.h.stream_id);
  }
  return all;
}

}  // namespace

TEST_CASE("gather_slices: take_output hands the slices over uncopied, in wire order") {
  Server s(gather_config());
  s.open(1);
  s.open(3);
  buffer::Slice a = make_slice(s.pool, 20000, 3);  // two DATA frames: cut in the middle
  const std::byte* a_data = a.data();
  REQUIRE(s.d.conn.submit_slice(1, std::move(a), true));
  REQUIRE(s.d.conn.submit_data(3, pattern(10, 5), false));  // copied bytes between the slices
  REQUIRE(s.d.conn.submit_data(3, pattern(2000, 6), true));
  buffer::Slice b = make_slice(s.pool, 4000, 4);
  const std::byte* b_data = b.data();
  s.open(5);
  REQUIRE(s.d.conn.submit_slice(5, std::move(b), true));
  OutputBatch out;
  s.d.conn.take_output(out);
  // The payloads are the pool's own bytes: 16384 + 3616 of stream 1's slice, 4000 of stream 5's.
  REQUIRE(out.slices.size() == 3);
  CHECK(out.slices[0].slice.data() == a_data);
  CHECK(out.slices[0].slice.size() == 16384);
  CHECK(out.slices[1].slice.data() == a_data + 16384);
  CHECK(out.slices[1].slice.size() == 3616);
  CHECK(out.slices[2].slice.data() == b_data);
  CHECK(out.size() == flatten(out).size());
  CHECK(s.pool.free_count() == kBuffers - 2);  // held by the batch until it is written
  std::set<uint32_t> ended;
  auto got = data_of(flatten(out), &ended);
  CHECK(got[1] == pattern(20000, 3));
  CHECK(got[3] == cat({pattern(10, 5), pattern(2000, 6)}));
  CHECK(got[5] == pattern(4000, 4));
  CHECK(ended == std::set<uint32_t>{1, 3, 5});
  out.slices.clear();
  CHECK(s.pool.free_count() == kBuffers);
  s.d.conn.take_output(out);
  CHECK(out.empty());
}

TEST_CASE("gather_slices: the flat output calls still carry every byte") {
  Server s(gather_config());
  s.open(1);
  REQUIRE(s.d.conn.submit_slice(1, make_slice(s.pool, 6000, 8), false));
  // next_output() copies the slice in; a partial write then a batch continue where it stopped.
  auto flat = s.d.conn.next_output();
  REQUIRE(flat.size() > 1000);
  Bytes wire(flat.begin(), flat.begin() + 1000);
  s.d.conn.consume_output(1000);
  CHECK(s.pool.free_count() == kBuffers);  // copied: the buffer is back
  REQUIRE(s.d.conn.submit_slice(1, make_slice(s.pool, 3000, 9), true));
  OutputBatch out;
  s.d.conn.take_output(out);
  CHECK(out.slices.size() == 1);
  Bytes rest = flatten(out);
  wire.insert(wire.end(), rest.begin(), rest.end());
  std::set<uint32_t> ended;
  CHECK(data_of(wire, &ended)[1] == cat({pattern(6000, 8), pattern(3000, 9)}));
  CHECK(ended.count(1) == 1);
  // take_output(vector&) copies too.
  s.open(3);
  REQUIRE(s.d.conn.submit_slice(3, make_slice(s.pool, 5000, 10), true));
  std::vector<std::byte> v;
  s.d.conn.take_output(v);
  CHECK(data_of(v)[3] == pattern(5000, 10));
  out.slices.clear();
  CHECK(s.pool.free_count() == kBuffers);
}

TEST_CASE("gather_slices: control answers taken with slices do not count as queued") {
  ConnectionConfig c = gather_config();
  c.flood.max_pings_per_window = 1000000;
  c.flood.max_queued_control_frames = 10;
  Server s(c);
  OutputBatch out;
  for (uint32_t i = 0; i < 30; ++i) {  // 45000 bytes: within the connection window
    const uint32_t id = 1 + 2 * i;
    s.open(id);
    REQUIRE(s.d.conn.submit_slice(id, make_slice(s.pool, 1500, static_cast<int>(i)), true));
    Bytes ping;
    encode_ping(ping, {}, false);
    REQUIRE(s.d.feed(ping));  // its ACK is queued before the DATA is cut
    s.d.conn.take_output(out);
    CHECK(out.slices.size() == 1);
    out.slices.clear();
  }
  CHECK(s.d.conn.flood_stats().trips == 0);
  CHECK(s.pool.free_count() == kBuffers);
  // A peer that stops reading: the answers it leaves count again.
  bool calmed = false;
  for (int i = 0; i < 30 && !calmed; ++i) {
    Bytes ping;
    encode_ping(ping, {}, false);
    calmed = !s.d.feed(ping);
  }
  CHECK(calmed);
  CHECK(s.d.conn.flood_stats().trips == 1);
}
