// Fuzz target h2_server: a whole server engine fed a valid preface and SETTINGS, then the
// input in chunks (sizes taken from the input), with an application that answers requests
// with bodies and trailers, so receive, send, flow-control and error paths all run.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "kakehi/http2/connection.hpp"

using namespace kakehi::http2;

namespace {

class App : public EventSink {
 public:
  Connection* conn = nullptr;
  void on_headers(uint32_t id, HeadKind kind, const FieldList&, bool end) override {
    if (kind == HeadKind::Request && end) answer(id);
  }
  void on_data(uint32_t id, std::span<const std::byte> data, bool end) override {
    if (!data.empty() && data[0] == std::byte{'r'})
      (void)conn->reset_stream(id, H2Error::Cancel);
    else if (end)
      answer(id);
  }
  void on_stream_reset(uint32_t, H2Error, ResetOrigin, bool) override {}
  void answer(uint32_t id) {
    static const std::byte body[40000] = {};
    (void)conn->submit_response(id, {{":status", "200"}, {"server", "fuzz"}}, false);
    (void)conn->submit_data(id, std::span(body, id % 7 * 5000), false);
    (void)conn->submit_trailers(id, {{"x-done", "1"}});
  }
};

void drain(Connection& c, size_t limit) {
  auto out = c.next_output();
  c.consume_output(std::min(out.size(), limit));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ConnectionConfig cfg;
  cfg.role = Role::Server;
  cfg.local.max_concurrent_streams = 8;
  cfg.flood.max_queued_control_frames = 64;
  App app;
  Connection conn(cfg, app);
  app.conn = &conn;
  conn.start(Millis{0});
  static const uint8_t kStart[] = {'P',  'R',  'I', ' ',  '*',  ' ',  'H',  'T', 'T', 'P',  '/',
                                   '2',  '.',  '0', '\r', '\n', '\r', '\n', 'S', 'M', '\r', '\n',
                                   '\r', '\n', 0,   0,    0,    4,    0,    0,   0,   0,    0};
  if (!conn.feed(std::as_bytes(std::span(kStart)), Millis{0})) std::abort();
  auto in = std::as_bytes(std::span(data, size));
  int64_t now = 0;
  while (!in.empty()) {
    size_t chunk = 1 + static_cast<size_t>(in[0]) * 4;  // the first byte sizes the chunk
    in = in.subspan(1);
    chunk = std::min(chunk, in.size());
    auto r = conn.feed(in.first(chunk), Millis{now});
    in = in.subspan(chunk);
    drain(conn, chunk * 64);
    now += 7;
    conn.tick(Millis{now});
    if (!r) break;
  }
  for (int i = 0; i < 64 && !conn.next_output().empty(); ++i) drain(conn, SIZE_MAX);
  return 0;
}
