// HTTP/2 frame decoding throughput beside nghttp2 on the same bytes, in the same run:
// (1) our frame decoder alone over a mixed frame stream; (2) a whole server engine
// (kakehi Connection vs nghttp2_session_mem_recv with callbacks that do nothing) fed a client
// preface, SETTINGS and 100 requests with 500-byte bodies, plus PING/WINDOW_UPDATE/PRIORITY.
// Executable only (never a timed test); run it from a release build.
#include <benchmark/benchmark.h>
#include <nghttp2/nghttp2.h>

#include <cstring>
#include <vector>

#include "kakehi/http2/connection.hpp"
#include "kakehi/http2/frame_decoder.hpp"
#include "kakehi/http2/frame_encoder.hpp"

using namespace kakehi::http2;

namespace {

std::vector<std::byte> to_bytes(std::string_view s) {
  auto b = std::as_bytes(std::span(s.data(), s.size()));
  return {b.begin(), b.end()};
}

/// Frames after the preface: SETTINGS, then per stream HEADERS (static-table block, literal
/// :authority without indexing) and DATA with END_STREAM, with control frames mixed in.
ByteBuffer workload_frames(int streams, size_t body) {
  ByteBuffer out;
  encode_settings(out, {});
  auto block = to_bytes(std::string("\x82\x87\x84\x01\x0b", 5) + "example.com");
  std::vector<std::byte> payload(body, std::byte{'x'});
  for (int i = 0; i < streams; ++i) {
    uint32_t id = 1 + 2 * static_cast<uint32_t>(i);
    encode_headers(out, id, block, false, true);
    encode_data(out, id, payload, true);
    if (i % 10 == 0) {
      encode_ping(out, {}, false);
      encode_window_update(out, 0, 1000);
      encode_priority(out, id, {0, 15, false});
    }
  }
  return out;
}

ByteBuffer client_input(int streams, size_t body) {
  ByteBuffer in = to_bytes(std::string_view(kClientPreface, kClientPrefaceSize));
  auto frames = workload_frames(streams, body);
  in.insert(in.end(), frames.begin(), frames.end());
  return in;
}

void BM_frame_decode_kakehi(benchmark::State& state) {
  auto frames = workload_frames(100, 500);
  size_t count = 0;
  for (auto _ : state) {
    std::span<const std::byte> in = frames;
    while (!in.empty()) {
      auto r = decode_frame(in, kMinMaxFrameSize);
      if (!r.ok()) state.SkipWithError("decode failed");
      benchmark::DoNotOptimize(r.value().index());
      in = in.subspan(r.consumed());
      ++count;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frames.size()));
  state.counters["frames/s"] =
      benchmark::Counter(static_cast<double>(count), benchmark::Counter::kIsRate);
}

class NullSink : public EventSink {
 public:
  void on_headers(uint32_t, HeadKind, const FieldList&, bool) override {}
  void on_data(uint32_t, std::span<const std::byte>, bool) override {}
  void on_stream_reset(uint32_t, H2Error, ResetOrigin, bool) override {}
};

void BM_server_feed_kakehi(benchmark::State& state) {
  auto input = client_input(100, 500);
  ConnectionConfig cfg;
  cfg.role = Role::Server;
  cfg.local.max_concurrent_streams = 1000;
  NullSink sink;
  for (auto _ : state) {
    Connection conn(cfg, sink);
    conn.start(Millis{0});
    if (!conn.feed(input, Millis{0})) state.SkipWithError("feed failed");
    benchmark::DoNotOptimize(conn.active_streams());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * input.size()));
}

void BM_server_feed_nghttp2(benchmark::State& state) {
  auto input = client_input(100, 500);
  nghttp2_session_callbacks* cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_option* opt;
  nghttp2_option_new(&opt);
  nghttp2_option_set_max_outbound_ack(opt, 100000);
  for (auto _ : state) {
    nghttp2_session* session;
    nghttp2_session_server_new2(&session, cbs, nullptr, opt);
    nghttp2_settings_entry ent{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000};
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, &ent, 1);
    auto n = nghttp2_session_mem_recv(session, reinterpret_cast<const uint8_t*>(input.data()),
                                      input.size());
    if (n != static_cast<ssize_t>(input.size())) state.SkipWithError("mem_recv failed");
    nghttp2_session_del(session);
  }
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * input.size()));
}

}  // namespace

BENCHMARK(BM_frame_decode_kakehi);
BENCHMARK(BM_server_feed_kakehi);
BENCHMARK(BM_server_feed_nghttp2);
BENCHMARK_MAIN();
