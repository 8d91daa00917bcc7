// The HTTP/2 connection engine (RFC 9113 §3–§8, RFC 9218): a state machine fed with bytes and
// a `now`, reporting events to an EventSink and queueing output the caller writes. Client and
// server roles. No socket, no clock, no logging: the session owns I/O and timers and calls
// tick() at next_deadline(). See docs/http2.md for states, invariants and the error table.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "kakehi/common/fifo.hpp"
#include "kakehi/common/node_cache.hpp"
#include "kakehi/common/result.hpp"
#include "kakehi/http2/events.hpp"
#include "kakehi/http2/flood.hpp"
#include "kakehi/http2/frame.hpp"
#include "kakehi/http2/frame_encoder.hpp"
#include "kakehi/http2/hpack/decoder.hpp"
#include "kakehi/http2/hpack/encoder.hpp"
#include "kakehi/http2/scheduler.hpp"
#include "kakehi/http2/settings.hpp"
#include "kakehi/http2/stream.hpp"

namespace kakehi::http2 {

enum class Role : uint8_t { Client, Server };

/// When received body bytes are given back to the peer as WINDOW_UPDATE.
struct WindowPolicy {
  /// true: credit returns as soon as on_data returns; false: only through consume().
  bool auto_update = true;
  /// Our connection receive window (raised from 65535 by a WINDOW_UPDATE at start).
  uint32_t connection_window = 1u << 24;
  /// A WINDOW_UPDATE is sent once this percentage of a window has been consumed.
  uint32_t update_threshold_percent = 50;
};

struct ConnectionConfig {
  Role role = Role::Server;
  /// What we advertise. Streams beyond max_concurrent_streams are refused (REFUSED_STREAM).
  Settings local = [] {
    Settings s;
    s.max_concurrent_streams = 100;
    s.enable_push = 0;
    s.max_header_list_size = 64 * 1024;
    return s;
  }();
  WindowPolicy window;
  Millis settings_timeout{10000};  // §6.5.3: no ACK in time → SETTINGS_TIMEOUT
  Millis drain_timeout{5000};      // graceful shutdown: wait for the PING round trip at most
  hpack::EncoderOptions encoder;
  uint32_t max_header_fields = 256;
  FloodLimits flood;
  uint32_t scheduler_quantum = 16384;
  size_t output_watermark = 64 * 1024;  // next_output() stops adding DATA beyond this
  /// Body slices (submit_slice) the connection's streams may hold at once, each keeping a
  /// pool buffer; beyond this, and for a slice under min_slice_bytes that would start a
  /// stream's queue, the bytes are copied and the buffer is let go at once.
  size_t max_queued_slices = 128;
  size_t min_slice_bytes = 1024;
  /// DATA cut from body slices is not copied into the output queue: take_output(OutputBatch&)
  /// hands the slices over beside the queued bytes, for a vectored write. next_output() and
  /// take_output(vector&) still work (they copy the slices in first).
  bool gather_slices = false;
};

/// Output handed over in one piece (take_output): `bytes`, with `slices` inserted at their
/// offsets. The writer sends bytes[0, slices[0].at), slices[0].slice, bytes[slices[0].at,
/// slices[1].at), ... then the rest of `bytes`; it keeps the slices until the write is done.
struct OutputBatch {
  struct Piece {
    size_t at;  // offset in `bytes` the slice goes before
    buffer::Slice slice;
  };
  std::vector<std::byte> bytes;
  std::vector<Piece> slices;
  size_t size() const noexcept;
  bool empty() const noexcept { return bytes.empty() && slices.empty(); }
};

/// Calls `fn` with each non-empty run of `bytes` and each slice, in wire order.
template <class Fn>
void for_each_in_order(std::span<const std::byte> bytes, std::span<const OutputBatch::Piece> slices,
                       Fn&& fn) {
  size_t at = 0;
  for (const OutputBatch::Piece& p : slices) {
    if (p.at > at) fn(bytes.subspan(at, p.at - at));
    fn(p.slice.bytes());
    at = p.at;
  }
  if (at < bytes.size()) fn(bytes.subspan(at));
}

/// Why a submit_* call was refused (the application's error, never the peer's).
enum class SubmitError : uint8_t {
  WrongRole,
  NoSuchStream,
  StreamClosedLocally,  // END_STREAM already queued
  ConcurrencyLimit,     // the peer's MAX_CONCURRENT_STREAMS is reached
  StreamIdsExhausted,
  GoingAway,  // a GOAWAY was sent or received: no new streams
  ConnectionClosed,
};

class Connection {
 public:
  Connection(const ConnectionConfig& config, EventSink& sink);

  /// Queues the connection preface (client: the magic then SETTINGS; server: SETTINGS, §3.4)
  /// and starts the SETTINGS timeout. Call once before feed().
  void start(Millis now);

  /// Processes received bytes; incomplete frames are buffered. After a connection error (the
  /// GOAWAY is queued, on_connection_error was called) further input is ignored and the error
  /// is returned again.
  Result<void, FrameError> feed(std::span<const std::byte> bytes, Millis now);

  /// Bytes to write next (control frames first, then DATA chosen by the scheduler, up to the
  /// windows and the output watermark). Empty when there is nothing to send.
  std::span<const std::byte> next_output();
  /// The transport accepted the first `n` bytes of next_output().
  void consume_output(size_t n);
  /// Moves what next_output() would return into `into` (whose old content is dropped) and
  /// counts it as written, as consume_output() of all of it would. The engine goes on with
  /// `into`'s former storage, so a writer that keeps one vector for the bytes in flight and
  /// hands it back on its next call copies nothing and allocates nothing in steady state.
  void take_output(std::vector<std::byte>& into);
  /// The same without copying body slices (with gather_slices): `into.bytes` is swapped like
  /// the vector above, and the slices queued since the last call move to `into.slices` (its
  /// old ones are released).
  void take_output(OutputBatch& into);

  /// Timers: the earliest deadline the engine waits for (SETTINGS ACK, drain), if any.
  std::optional<Millis> next_deadline() const;
  void tick(Millis now);

  // Application side.
  Result<uint32_t, SubmitError> submit_request(const FieldList& headers, bool end_stream);
  Result<void, SubmitError> submit_response(uint32_t stream_id, const FieldList& headers,
                                            bool end_stream);
  /// The same with the fields as views (valid during the call): nothing is copied before
  /// HPACK encodes them.
  Result<void, SubmitError> submit_response(uint32_t stream_id,
                                            std::span<const hpack::HeaderField> headers,
                                            bool end_stream);
  Result<void, SubmitError> submit_data(uint32_t stream_id, std::span<const std::byte> data,
                                        bool end_stream);
  /// submit_data without a copy: the stream keeps a reference to the slice's pool buffer
  /// until its bytes are cut into DATA frames (see max_queued_slices and min_slice_bytes).
  Result<void, SubmitError> submit_slice(uint32_t stream_id, buffer::Slice data, bool end_stream);
  /// Trailers, sent after the queued body; they end the stream.
  Result<void, SubmitError> submit_trailers(uint32_t stream_id, const FieldList& trailers);
  Result<void, SubmitError> reset_stream(uint32_t stream_id, H2Error code);
  void submit_ping(const std::array<std::byte, 8>& opaque);
  /// Client: sends PRIORITY_UPDATE (RFC 9218 §7.1) and uses `p` for the stream locally.
  void set_priority(uint32_t stream_id, Priority p);
  /// Returns `n` received bytes of `stream_id` to the flow-control windows (manual policy).
  void consume(uint32_t stream_id, size_t n);
  /// Graceful shutdown (§6.8): GOAWAY(2^31-1) and a PING now; the GOAWAY with the real last
  /// stream id after the PING ACK or drain_timeout. In-flight streams finish.
  void shutdown(Millis now);
  /// Immediate GOAWAY with `code`; no further streams are processed.
  void terminate(H2Error code, const char* reason = "");

  // Observers.
  Role role() const noexcept { return config_.role; }
  bool is_closed() const noexcept;  // nothing more will happen: the caller may close
  bool going_away() const noexcept { return goaway_sent_ || goaway_received_; }
  const Settings& peer_settings() const noexcept { return peer_; }
  size_t active_streams() const noexcept { return streams_.size(); }
  std::optional<StreamState> stream_state(uint32_t id) const;
  /// Body bytes the application queued on `id` that are not yet cut into DATA frames (0 when
  /// there is no such stream): what a producer compares with its bound before queueing more.
  size_t queued_data(uint32_t id) const noexcept;
  int64_t connection_send_window() const noexcept { return conn_send_window_; }
  int64_t connection_recv_window() const noexcept { return conn_recv_window_; }
  const Stream* stream_for_test(uint32_t id) const;
  const FloodStats& flood_stats() const noexcept { return flood_stats_; }
  uint32_t last_peer_stream_id() const noexcept { return last_peer_stream_id_; }

 private:
  enum class Phase : uint8_t { Preface, FirstSettings, Open, Closed };

  // Input (connection_recv.cpp).
  Result<void, FrameError> process(std::span<const std::byte>& in);
  Result<void, FrameError> on_frame(const FrameHeader& h, std::span<const std::byte> frame);
  Result<void, FrameError> on_data(const DataFrame& f);
  Result<void, FrameError> on_headers(const HeadersFrame& f);
  Result<void, FrameError> on_continuation(const ContinuationFrame& f);
  Result<void, FrameError> on_header_block_done();
  Result<void, FrameError> on_new_stream_head(uint32_t id, bool end_stream, bool too_large);
  Result<void, FrameError> on_response_head(Stream& s, bool end_stream);
  Result<void, FrameError> on_trailers(Stream& s, bool end_stream);
  Result<void, FrameError> on_rst_stream(const RstStreamFrame& f);
  Result<void, FrameError> on_settings(const SettingsFrame& f);
  Result<void, FrameError> on_ping(const PingFrame& f);
  Result<void, FrameError> on_goaway(const GoawayFrame& f);
  Result<void, FrameError> on_window_update(const WindowUpdateFrame& f);
  Result<void, FrameError> on_priority_update(const PriorityUpdateFrame& f);
  Result<void, FrameError> check_closed_stream(uint32_t id, bool is_data);
  Result<void, FrameError> end_remote(Stream& s);
  Result<void, FrameError> flood_check(RateCounter& c, uint32_t limit, const char* reason);
  Result<void, FrameError> stream_fail(uint32_t id, H2Error code, const char* reason);
  void connection_fail(const FrameError& e);

  // Streams and windows (connection_send.cpp).
  Stream& open_stream(uint32_t id);
  void close_stream(uint32_t id);
  bool is_idle(uint32_t id) const;
  bool peer_initiated(uint32_t id) const;
  void queue_rst(uint32_t id, H2Error code);
  Result<void, FrameError> note_control();
  void end_local(Stream& s);
  void credit(Stream* s, size_t n);
  void write_headers(uint32_t id, const FieldList& fields, bool end_stream);
  void write_headers(uint32_t id, std::span<const hpack::HeaderField> fields, bool end_stream);
  void reschedule(Stream& s);
  void flush_data();
  void send_from(Stream& s);
  void forget_written_control();  // drops the control answers written up to out_base_+out_off_
  void inline_slices();           // copies out_slices_ into out_ (for the flat output calls)
  Result<Stream*, SubmitError> data_stream(uint32_t stream_id);
  void copy_slices(Stream& s);  // the stream's slices become copied bytes
  void drop_slices(Stream& s);
  void send_final_goaway();
  Result<void, FrameError> apply_peer_initial_window(uint32_t value);

  ConnectionConfig config_;
  EventSink& sink_;
  Phase phase_ = Phase::Preface;
  Millis now_{0};

  Settings peer_;         // the peer's settings (defaults until its SETTINGS)
  Settings local_acked_;  // ours as the peer has acknowledged them
  Fifo<Settings> local_unacked_;
  std::optional<Millis> settings_deadline_;

  hpack::Decoder hpack_decoder_;
  hpack::Encoder hpack_encoder_;
  ByteBuffer header_scratch_;
  std::vector<hpack::HeaderField> field_views_;  // the field list being encoded

  std::unordered_map<uint32_t, Stream> streams_;
  size_t queued_slices_ = 0;  // slices held by all streams (vs config_.max_queued_slices)
  // Closed streams' nodes, reused by the next ones: no allocation per stream in steady state.
  static constexpr size_t kKeptStreamNodes = 32;
  static constexpr size_t kKeptQueueBytes = 1024;
  NodeCache<std::unordered_map<uint32_t, Stream>> stream_nodes_{kKeptStreamNodes};
  uint32_t last_peer_stream_id_ = 0;
  uint32_t next_local_stream_id_;
  uint32_t peer_streams_ = 0;   // open peer-initiated streams (vs our limit)
  uint32_t local_streams_ = 0;  // open locally initiated streams (vs the peer's limit)
  // The last N stream ids of a kind, in a fixed ring (no allocation as streams come and go).
  template <size_t N>
  class RecentIds {
   public:
    void add(uint32_t id) noexcept {
      ids_[next_ % N] = id;
      ++next_;
    }
    bool contains(uint32_t id) const noexcept {
      const auto end = ids_.begin() + std::min(next_, N);
      return std::find(ids_.begin(), end, id) != end;
    }

   private:
    std::array<uint32_t, N> ids_{};
    size_t next_ = 0;
  };
  RecentIds<128> recently_reset_;   // ids we reset: late frames on them are ignored
  RecentIds<256> recently_closed_;  // ids that were open: tells closed from never used

  int64_t conn_send_window_ = kDefaultWindowSize;
  int64_t conn_recv_window_ = kDefaultWindowSize;
  uint32_t conn_recv_unacked_ = 0;
  int64_t local_initial_window_ = kDefaultWindowSize;  // in effect for our receive windows

  // Header block assembly (HEADERS/PUSH_PROMISE + CONTINUATION, §6.10).
  uint32_t block_stream_ = 0;  // non-zero while a block is open
  bool block_end_stream_ = false;
  std::optional<PrioritySpec> block_priority_;
  ByteBuffer block_;
  uint32_t block_continuations_ = 0;
  FieldList fields_;

  // Input buffering for a frame split across feed() calls.
  ByteBuffer in_;
  size_t preface_seen_ = 0;

  // Output: one byte queue; control answers are counted until written.
  ByteBuffer out_;
  size_t out_off_ = 0;
  Fifo<size_t> control_ends_;  // end offsets (absolute, see out_base_) of queued answers
  uint64_t out_base_ = 0;      // bytes consumed before out_[0]
  // gather_slices: DATA payloads cut from slices, not yet in out_ (offsets into out_, which
  // is not consumed partially in this mode), and their total size.
  std::vector<OutputBatch::Piece> out_slices_;
  size_t out_slice_bytes_ = 0;
  Scheduler scheduler_;

  // GOAWAY and drain (§6.8).
  bool goaway_sent_ = false;
  bool goaway_received_ = false;
  bool draining_ = false;  // first GOAWAY sent, waiting for the PING ACK
  std::optional<Millis> drain_deadline_;
  uint32_t goaway_last_id_ = kMaxStreamId;       // what we announced
  uint32_t peer_goaway_last_id_ = kMaxStreamId;  // what the peer announced
  std::optional<FrameError> error_;

  // Flood protection.
  FloodStats flood_stats_;
  RateCounter resets_, pings_, settings_, window_updates_, empty_data_, stream_errors_;
  uint64_t window_update_allowance_ = 0;  // WINDOW_UPDATEs earned by DATA frames we sent
  std::unordered_map<uint32_t, Priority> pending_priority_;  // PRIORITY_UPDATE for idle streams
};

}  // namespace kakehi::http2
