// Test harness for the HTTP/2 engine: a recording EventSink, a splitter that turns engine
// output into frames, and a driver around one Connection that feeds bytes (from the frame
// builders of h2_frames.hpp and an HPACK encoder) and collects what the engine writes.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "kakehi/http2/connection.hpp"
#include "kakehi/http2/frame_decoder.hpp"
#include "support/h2_frames.hpp"

namespace kakehi::test {

namespace h2 = kakehi::http2;

struct Event {
  enum Kind { Headers, Data, Reset, Closed, SettingsEv, PingAck, Goaway, ConnError } kind;
  uint32_t stream = 0;
  h2::HeadKind head = h2::HeadKind::Request;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string data;
  bool end_stream = false;
  h2::H2Error code = h2::H2Error::NoError;
  h2::ResetOrigin origin = h2::ResetOrigin::Local;
  bool retryable = false;

  std::string field(std::string_view name) const {
    for (const auto& [n, v] : fields)
      if (n == name) return v;
    return {};
  }
};

class Recorder : public h2::EventSink {
 public:
  std::vector<Event> events;
  h2::Connection* conn = nullptr;  // optional: lets on_data return credit manually

  void on_headers(uint32_t id, h2::HeadKind kind, const h2::FieldList& f, bool end) override {
    Event e{Event::Headers};
    e.stream = id;
    e.head = kind;
    e.end_stream = end;
    for (size_t i = 0; i < f.size(); ++i)
      e.fields.emplace_back(std::string(f[i].name), std::string(f[i].value));
    events.push_back(std::move(e));
  }
  void on_data(uint32_t id, std::span<const std::byte> d, bool end) override {
    Event e{Event::Data};
    e.stream = id;
    e.data = std::string(as_text(d));
    e.end_stream = end;
    events.push_back(std::move(e));
  }
  void on_stream_reset(uint32_t id, h2::H2Error code, h2::ResetOrigin o, bool retry) override {
    Event e{Event::Reset};
    e.stream = id;
    e.code = code;
    e.origin = o;
    e.retryable = retry;
    events.push_back(std::move(e));
  }
  void on_stream_closed(uint32_t id) override {
    Event e{Event::Closed};
    e.stream = id;
    events.push_back(std::move(e));
  }
  void on_settings(const h2::Settings&) override { events.push_back(Event{Event::SettingsEv}); }
  void on_ping_ack(const std::array<std::byte, 8>&) override {
    events.push_back(Event{Event::PingAck});
  }
  void on_goaway(uint32_t last, h2::H2Error code, std::span<const std::byte>) override {
    Event e{Event::Goaway};
    e.stream = last;
    e.code = code;
    events.push_back(std::move(e));
  }
  void on_connection_error(const h2::FrameError& err) override {
    Event e{Event::ConnError};
    e.code = err.code;
    events.push_back(std::move(e));
  }

  /// Events of one kind.
  std::vector<Event> of(Event::Kind k) const {
    std::vector<Event> v;
    for (const auto& e : events)
      if (e.kind == k) v.push_back(e);
    return v;
  }
};

/// One frame of engine output, owning its payload.
struct OutFrame {
  h2::FrameHeader h;
  Bytes payload;
  h2::FrameType type() const { return static_cast<h2::FrameType>(h.type); }
  /// RST_STREAM code, or GOAWAY code.
  h2::H2Error code() const {
    size_t at = type() == h2::FrameType::Goaway ? 4 : 0;
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(payload[at + i]);
    return static_cast<h2::H2Error>(v);
  }
  uint32_t u32(size_t at) const {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(payload[at + i]);
    return v;
  }
};

inline std::vector<OutFrame> split_frames(std::span<const std::byte> b) {
  std::vector<OutFrame> v;
  while (b.size() >= h2::kFrameHeaderSize) {
    auto h = h2::decode_frame_header(b).value();
    size_t total = h2::kFrameHeaderSize + h.length;
    if (b.size() < total) break;
    v.push_back({h, Bytes(b.begin() + 9, b.begin() + static_cast<long>(total))});
    b = b.subspan(total);
  }
  return v;
}

inline Bytes client_magic() {
  return Bytes(reinterpret_cast<const std::byte*>(h2::kClientPreface),
               reinterpret_cast<const std::byte*>(h2::kClientPreface) + h2::kClientPrefaceSize);
}

/// Drives one engine: feed bytes, collect output frames.
class EngineDriver {
 public:
  Recorder rec;
  h2::Connection conn;

  explicit EngineDriver(const h2::ConnectionConfig& cfg) : conn(cfg, rec) {
    rec.conn = &conn;
    conn.start(h2::Millis{0});
  }
  kakehi::Result<void, h2::FrameError> feed(const Bytes& b, int64_t now_ms = 0) {
    return conn.feed(b, h2::Millis{now_ms});
  }
  /// Everything the engine wants to write now, as frames (the client magic is skipped).
  std::vector<OutFrame> output() {
    Bytes all;
    for (;;) {
      auto out = conn.next_output();
      if (out.empty()) break;
      all.insert(all.end(), out.begin(), out.end());
      conn.consume_output(out.size());
    }
    std::span<const std::byte> s = all;
    if (s.size() >= h2::kClientPrefaceSize &&
        as_text(s.first(h2::kClientPrefaceSize)) == h2::kClientPreface)
      s = s.subspan(h2::kClientPrefaceSize);
    return split_frames(s);
  }
};

}  // namespace kakehi::test

namespace kakehi::test {

/// An HPACK-encoded header block for `fields` (a fresh encoder per peer keeps tables in step).
inline Bytes block_of(h2::hpack::Encoder& enc, const h2::FieldList& fields) {
  std::vector<std::byte> out;
  auto views = fields.views();
  enc.encode(views, out);
  return out;
}

inline Bytes headers_frame(h2::hpack::Encoder& enc, uint32_t stream, const h2::FieldList& fields,
                           bool end_stream) {
  Bytes out;
  h2::encode_headers(out, stream, block_of(enc, fields), end_stream, true);
  return out;
}

inline Bytes data_frame(uint32_t stream, std::string_view text, bool end_stream) {
  Bytes out;
  h2::encode_data(out, stream, ascii(text), end_stream);
  return out;
}

inline Bytes settings_frame(std::initializer_list<h2::Setting> s = {}) {
  Bytes out;
  h2::encode_settings(out, std::vector<h2::Setting>(s));
  return out;
}

inline Bytes settings_ack() {
  Bytes out;
  h2::encode_settings_ack(out);
  return out;
}

inline h2::FieldList get_request(std::string_view path = "/") {
  return {{":method", "GET"}, {":scheme", "https"}, {":authority", "example.com"}, {":path", path}};
}

inline h2::FieldList post_request(std::string_view path = "/upload") {
  return {
      {":method", "POST"}, {":scheme", "https"}, {":authority", "example.com"}, {":path", path}};
}

}  // namespace kakehi::test
