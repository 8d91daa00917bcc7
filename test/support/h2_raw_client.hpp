// A blocking raw-frame HTTP/2 client over a real 127.0.0.1 socket, cleartext (prior knowledge)
// or TLS (ALPN "h2", through the library's TLS client codec), for the integration tests that
// speak HTTP/2 to the proxy frame by frame (h2 abuse cases, RFC 9113 / RFC 7541
// conformance): it sends what the test builds, parses what the proxy sends (HPACK-decoding
// response heads with its own decoder), keeps a log of every frame received, answers SETTINGS
// (and PING, unless told not to) and returns flow-control credit for received DATA (unless told
// not to). Every wait has a time bound. Test-only code.
#pragma once

#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "integration/harness.hpp"
#include "kakehi/http2/frame_decoder.hpp"
#include "kakehi/http2/hpack/decoder.hpp"
#include "kakehi/tls/client.hpp"
#include "support/h2_harness.hpp"
#include "support/origin.hpp"

namespace kakehi::test {

using ms = std::chrono::milliseconds;

inline constexpr uint32_t kMaxWindow = 0x7fffffffu;

/// A GET for `path` on `host` over cleartext (optionally with an RFC 9218 priority field).
inline h2::FieldList h2c_get(std::string_view path, std::string_view host = "app.test",
                             std::string_view priority = {}) {
  h2::FieldList f{{":method", "GET"}, {":scheme", "http"}, {":authority", host}, {":path", path}};
  if (!priority.empty()) f.add("priority", priority);
  return f;
}

/// Pattern bytes [0, n): the body of the origin's /bytes/n.
inline std::string pattern(size_t n) {
  std::string s(n, '\0');
  fill_pattern(0, std::span<char>(s.data(), s.size()));
  return s;
}

inline Bytes rst(uint32_t id, h2::H2Error code) {
  Bytes b;
  h2::encode_rst_stream(b, id, code);
  return b;
}

inline Bytes window_update(uint32_t id, uint32_t increment) {
  Bytes b;
  h2::encode_window_update(b, id, increment);
  return b;
}

/// A PING whose opaque data ends with `n`.
inline Bytes ping(uint8_t n, bool ack = false) {
  std::array<std::byte, 8> opaque{};
  opaque[7] = std::byte{n};
  Bytes b;
  h2::encode_ping(b, opaque, ack);
  return b;
}

struct Goaway {
  uint32_t last = 0;
  h2::H2Error code = h2::H2Error::NoError;
  std::string debug;
};

/// What one stream received.
struct Received {
  int status = 0;                                         ///< final status
  std::vector<int> informational;                         ///< 1xx statuses, in order
  std::vector<std::pair<std::string, std::string>> head;  ///< fields of the final head
  std::string body;
  std::vector<size_t> data_frames;  ///< DATA payload length of each frame, in order
  bool ended = false;               ///< END_STREAM seen
  std::optional<h2::H2Error> reset;
  int end_order = -1;  ///< 0 for the first stream to end, 1 for the next...

  std::string field(std::string_view name) const {
    for (const auto& [n, v] : head)
      if (n == name) return v;
    return {};
  }
};

/// Where an H2Client connects: 127.0.0.1:`port`, over TLS when `tls` is set.
struct H2Endpoint {
  uint16_t port = 0;
  std::shared_ptr<const tls::ClientContext> tls;
};

/// A TLS client context offering only "h2" and sending SNI `name`; the server's certificate is
/// not verified (the tests are about HTTP/2, not PKI).
inline std::shared_ptr<const tls::ClientContext> h2_tls_context(const std::string& name) {
  tls::ClientOptions o;
  o.verify = false;
  o.server_name = name;
  o.alpn = {"h2"};
  o.resume = false;
  auto ctx = tls::ClientContext::create(std::move(o));
  REQUIRE_MESSAGE(ctx, "TLS client context");
  return std::move(ctx).value();
}

class H2Client {
 public:
  h2::hpack::Encoder enc;
  std::map<uint32_t, Received> streams;
  std::vector<Goaway> goaways;
  /// Every frame received, in order (DATA frames without their payload, which goes to
  /// `streams`).
  std::vector<OutFrame> frames;
  uint32_t settings_received = 0;  ///< non-ACK SETTINGS from the proxy
  uint32_t settings_acks = 0;
  uint32_t ping_acks = 0;
  uint32_t pings_received = 0;
  uint64_t data_bytes = 0;      ///< DATA payload received on every stream
  bool auto_ping_ack = true;    ///< answer the proxy's PINGs
  bool auto_window = true;      ///< give DATA credit back (stream and connection)
  size_t window_batch = 16384;  ///< credit is returned in increments of at least this

  /// Connects (and completes the TLS handshake) and sends the preface with SETTINGS
  /// `settings`.
  explicit H2Client(const H2Endpoint& at, std::initializer_list<h2::Setting> settings = {})
      : sock_(at.port) {
    connect(at);
    REQUIRE(send(cat({client_magic(), settings_frame(settings)})));
  }
  explicit H2Client(uint16_t port, std::initializer_list<h2::Setting> settings = {})
      : H2Client(H2Endpoint{port, nullptr}, settings) {}
  /// Connects and sends nothing (the test writes its own preface).
  struct NoPreface {};
  H2Client(const H2Endpoint& at, NoPreface) : sock_(at.port) { connect(at); }

  /// Sends `b` (encrypted first over TLS); false once the connection failed.
  bool send(const Bytes& b) {
    if (!tls_) return sock_.send_all(as_text(b));
    return tls_->write(b) && flush_tls();
  }
  bool headers(uint32_t id, const h2::FieldList& f, bool end_stream = true) {
    return send(headers_frame(enc, id, f, end_stream));
  }
  int fd() const { return sock_.fd(); }
  bool closed() const { return sock_.eof(); }

  /// Waits for the proxy's SETTINGS (answered) and the ACK of ours.
  void handshake() {
    REQUIRE(wait_for([&] { return settings_received > 0 && settings_acks > 0; }));
  }

  /// Reads and processes frames until `pred()` holds, the connection ends, or `limit`.
  template <class Pred>
  bool wait_for(Pred pred, ms limit = ms{5000}) {
    const auto end = Clock::now() + limit;
    while (!pred()) {
      const auto left = std::chrono::duration_cast<ms>(end - Clock::now());
      if (left <= ms{0} || sock_.eof()) return pred();
      pump(left);
    }
    return true;
  }
  /// The first GOAWAY, if one arrives within `limit`.
  std::optional<Goaway> wait_goaway(ms limit = ms{5000}) {
    wait_for([&] { return !goaways.empty(); }, limit);
    if (goaways.empty()) return std::nullopt;
    return goaways.front();
  }
  /// Whether the proxy closes the connection within `limit`.
  bool wait_closed(ms limit = ms{5000}) {
    idle(limit);
    return sock_.eof();
  }
  /// Whether stream `id` ends (END_STREAM or RST_STREAM) within `limit`.
  bool wait_done(uint32_t id, ms limit = ms{10000}) {
    return wait_for(
        [&] {
          auto it = streams.find(id);
          return it != streams.end() && (it->second.ended || it->second.reset);
        },
        limit);
  }
  /// The first frame of `type` received so far (nullptr if none).
  const OutFrame* first(h2::FrameType type) const {
    for (const auto& f : frames)
      if (f.type() == type) return &f;
    return nullptr;
  }
  /// Our decoder's SETTINGS_HEADER_TABLE_SIZE (what the client advertised): the proxy's next
  /// header block must start with a matching dynamic table size update, or it fails to decode.
  void decoder_table_size(uint32_t size) { dec_.set_max_table_size_setting(size); }
  /// The same, from the next SETTINGS ACK on (for a SETTINGS_HEADER_TABLE_SIZE sent
  /// mid-connection: blocks before the ACK may still use the old table).
  void decoder_table_size_on_ack(uint32_t size) { table_size_on_ack_ = size; }
  /// Answers the last PING received.
  void ack_ping() {
    Bytes b;
    h2::encode_ping(b, last_ping_, true);
    (void)send(b);
  }
  /// Keeps reading (and answering) for `d`.
  void idle(ms d) {
    wait_for([] { return false; }, d);
  }

 private:
  void connect(const H2Endpoint& at) {
    REQUIRE(sock_.connected());
    if (!at.tls) return;
    tls_ = std::make_unique<tls::ClientConnection>(at.tls);
    REQUIRE(tls_->start());
    REQUIRE(flush_tls());
    const auto end = Clock::now() + ms{5000};
    while (tls_->state() == tls::ConnState::Handshaking && Clock::now() < end && !sock_.eof())
      in_ += recv_plain(ms{100});
    REQUIRE_MESSAGE(tls_->state() == tls::ConnState::Open, "TLS handshake");
    REQUIRE(tls_->handshake().alpn == "h2");
  }

  bool flush_tls() {
    auto out = tls_->output();
    const bool ok = out.empty() || sock_.send_all(as_text(out));
    tls_->consume_output(out.size());
    return ok;
  }

  // What arrives within `timeout`, decrypted over TLS (a TLS failure reads as nothing more).
  std::string recv_plain(ms timeout) {
    std::string got = sock_.recv_some(timeout);
    if (!tls_ || got.empty()) return got;
    auto r = tls_->feed(std::as_bytes(std::span(got.data(), got.size())));
    (void)flush_tls();  // handshake records, alerts
    if (!r) return {};
    auto plain = tls_->plaintext();
    std::string text(as_text(plain));
    tls_->consume_plaintext(plain.size());
    return text;
  }

  void pump(ms timeout) {
    in_ += recv_plain(timeout);  // may complete what the TLS handshake left in in_
    std::span<const std::byte> b = std::as_bytes(std::span(in_.data(), in_.size()));
    size_t used = 0;
    while (b.size() - used >= h2::kFrameHeaderSize) {
      auto h = h2::decode_frame_header(b.subspan(used)).value();
      const size_t total = h2::kFrameHeaderSize + h.length;
      if (b.size() - used < total) break;
      auto payload = b.subspan(used + h2::kFrameHeaderSize, h.length);
      const bool data = static_cast<h2::FrameType>(h.type) == h2::FrameType::Data;
      frames.push_back({h, data ? Bytes{} : Bytes(payload.begin(), payload.end())});
      on_frame(h, payload);
      used += total;
    }
    in_.erase(0, used);
    flush_credit(false);
  }

  void on_frame(const h2::FrameHeader& h, std::span<const std::byte> p) {
    using T = h2::FrameType;
    namespace flag = h2::flag;
    switch (static_cast<T>(h.type)) {
      case T::Data: {
        if (h.has(flag::kPadded)) p = p.subspan(1, p.size() - 1 - static_cast<uint8_t>(p[0]));
        Received& s = streams[h.stream_id];
        s.body.append(as_text(p));
        s.data_frames.push_back(p.size());
        data_bytes += p.size();
        if (h.has(flag::kEndStream)) end(s);
        if (auto_window && h.length > 0) {
          conn_credit_ += h.length;
          if (!h.has(flag::kEndStream)) stream_credit_[h.stream_id] += h.length;
        }
        break;
      }
      case T::Headers: {
        if (h.has(flag::kPadded)) p = p.subspan(1, p.size() - 1 - static_cast<uint8_t>(p[0]));
        if (h.has(flag::kPriority)) p = p.subspan(5);
        block_.assign(p.begin(), p.end());
        block_stream_ = h.stream_id;
        block_end_stream_ = h.has(flag::kEndStream);
        if (h.has(flag::kEndHeaders)) head_done();
        break;
      }
      case T::Continuation:
        block_.insert(block_.end(), p.begin(), p.end());
        if (h.has(flag::kEndHeaders)) head_done();
        break;
      case T::RstStream:
        streams[h.stream_id].reset = static_cast<h2::H2Error>(u32(p, 0));
        break;
      case T::Settings:
        if (h.has(flag::kAck)) {
          ++settings_acks;
          if (table_size_on_ack_) dec_.set_max_table_size_setting(*table_size_on_ack_);
          table_size_on_ack_.reset();
        } else {
          ++settings_received;
          (void)send(settings_ack());
        }
        break;
      case T::Ping:
        if (h.has(flag::kAck)) {
          ++ping_acks;
        } else {
          ++pings_received;
          std::copy(p.begin(), p.end(), last_ping_.begin());
          if (auto_ping_ack) ack_ping();
        }
        break;
      case T::Goaway:
        goaways.push_back({u32(p, 0) & kMaxWindow, static_cast<h2::H2Error>(u32(p, 4)),
                           std::string(as_text(p.subspan(8)))});
        break;
      default:
        break;
    }
  }

  void head_done() {
    Received& s = streams[block_stream_];
    int status = 0;
    std::vector<std::pair<std::string, std::string>> fields;
    auto r = dec_.decode(block_, [&](const h2::hpack::HeaderField& f) {
      if (f.name == ":status") status = std::stoi(std::string(f.value));
      fields.emplace_back(std::string(f.name), std::string(f.value));
    });
    REQUIRE_MESSAGE(r, "the proxy's header block does not decode");
    if (status >= 200) {
      s.status = status;
      s.head = std::move(fields);
    } else if (status > 0) {
      s.informational.push_back(status);
    }
    if (block_end_stream_) end(s);
  }

  void end(Received& s) {
    s.ended = true;
    s.end_order = ends_++;
  }

  // Returns credit once enough has gathered (the proxy counts WINDOW_UPDATEs as a flood).
  void flush_credit(bool all) {
    Bytes out;
    if (conn_credit_ > 0 && (all || conn_credit_ >= window_batch)) {
      h2::encode_window_update(out, 0, static_cast<uint32_t>(conn_credit_));
      conn_credit_ = 0;
    }
    for (auto it = stream_credit_.begin(); it != stream_credit_.end();) {
      if (all || it->second >= window_batch) {
        h2::encode_window_update(out, it->first, static_cast<uint32_t>(it->second));
        it = stream_credit_.erase(it);
      } else {
        ++it;
      }
    }
    if (!out.empty()) (void)send(out);
  }

  static uint32_t u32(std::span<const std::byte> p, size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[at + i]);
    return v;
  }

  RawClient sock_;
  std::unique_ptr<tls::ClientConnection> tls_;  // over TLS only
  std::string in_;
  std::array<std::byte, 8> last_ping_{};
  std::optional<uint32_t> table_size_on_ack_;
  h2::hpack::Decoder dec_;
  Bytes block_;
  uint32_t block_stream_ = 0;
  bool block_end_stream_ = false;
  int ends_ = 0;
  size_t conn_credit_ = 0;
  std::map<uint32_t, size_t> stream_credit_;
};

}  // namespace kakehi::test
