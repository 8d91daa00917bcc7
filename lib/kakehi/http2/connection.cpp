// Connection engine, lifecycle part: construction and preface (§3.4), the input loop that cuts
// frames and dispatches one handler per type, connection and stream error handling (§5.4),
// timers (SETTINGS ACK §6.5.3, drain) and graceful shutdown (§6.8).
#include "kakehi/http2/connection.hpp"

#include <algorithm>
#include <cstring>

#include "kakehi/http2/frame_decoder.hpp"

namespace kakehi::http2 {
namespace {

constexpr std::array<std::byte, 8> kDrainPing = {std::byte{'k'}, std::byte{'d'}, std::byte{'r'},
                                                 std::byte{'a'}, std::byte{'i'}, std::byte{'n'},
                                                 std::byte{'0'}, std::byte{'1'}};

hpack::DecoderLimits decoder_limits(const ConnectionConfig& c) {
  hpack::DecoderLimits l;
  l.max_table_size = 4096;  // until the peer acknowledges our SETTINGS
  l.max_header_list_size = c.local.max_header_list_size;
  l.max_field_count = c.max_header_fields;
  return l;
}

/// The SETTINGS we send: every value that differs from the §6.5.2 initial value, plus
/// ENABLE_PUSH=0 for clients (we never accept pushes).
std::vector<Setting> settings_to_send(const ConnectionConfig& c) {
  Settings d;
  const Settings& l = c.local;
  std::vector<Setting> v;
  auto add = [&](SettingId id, uint32_t ours, uint32_t initial) {
    if (ours != initial) v.push_back({static_cast<uint16_t>(id), ours});
  };
  add(SettingId::HeaderTableSize, l.header_table_size, d.header_table_size);
  if (c.role == Role::Client) v.push_back({static_cast<uint16_t>(SettingId::EnablePush), 0});
  add(SettingId::MaxConcurrentStreams, l.max_concurrent_streams, d.max_concurrent_streams);
  add(SettingId::InitialWindowSize, l.initial_window_size, d.initial_window_size);
  add(SettingId::MaxFrameSize, l.max_frame_size, d.max_frame_size);
  add(SettingId::MaxHeaderListSize, l.max_header_list_size, d.max_header_list_size);
  add(SettingId::EnableConnectProtocol, l.enable_connect_protocol, 0);
  add(SettingId::NoRfc7540Priorities, l.no_rfc7540_priorities, 0);
  return v;
}

}  // namespace

Connection::Connection(const ConnectionConfig& config, EventSink& sink)
    : config_(config),
      sink_(sink),
      hpack_decoder_(decoder_limits(config)),
      hpack_encoder_(config.encoder),
      next_local_stream_id_(config.role == Role::Client ? 1 : 2),
      scheduler_(config.scheduler_quantum) {}

void Connection::start(Millis now) {
  now_ = now;
  if (config_.role == Role::Client) {
    auto magic = std::as_bytes(std::span(kClientPreface, kClientPrefaceSize));
    out_.insert(out_.end(), magic.begin(), magic.end());
    phase_ = Phase::FirstSettings;
  }
  auto settings = settings_to_send(config_);
  encode_settings(out_, settings);
  local_unacked_.push_back(config_.local);
  settings_deadline_ = now + config_.settings_timeout;
  uint32_t target = std::clamp<uint32_t>(config_.window.connection_window, 65535, kMaxStreamId);
  if (target > kDefaultWindowSize) {
    encode_window_update(out_, 0, target - static_cast<uint32_t>(kDefaultWindowSize));
    conn_recv_window_ = target;
  }
}

Result<void, FrameError> Connection::feed(std::span<const std::byte> bytes, Millis now) {
  if (error_) return Unexpected(*error_);
  now_ = now;
  if (phase_ == Phase::Closed) return {};
  Result<void, FrameError> r;
  if (in_.empty()) {
    std::span<const std::byte> in = bytes;
    r = process(in);
    if (r && phase_ != Phase::Closed) in_.assign(in.begin(), in.end());
  } else {
    in_.insert(in_.end(), bytes.begin(), bytes.end());
    std::span<const std::byte> in = in_;
    r = process(in);
    in_.erase(in_.begin(), in_.end() - static_cast<std::ptrdiff_t>(in.size()));
  }
  if (!r) {
    connection_fail(r.error());
    in_.clear();
  }
  return r;
}

Result<void, FrameError> Connection::process(std::span<const std::byte>& in) {
  if (phase_ == Phase::Preface) {  // server: the 24-byte client magic (§3.4)
    size_t n = std::min(in.size(), kClientPrefaceSize - preface_seen_);
    if (std::memcmp(in.data(), kClientPreface + preface_seen_, n) != 0)
      return Unexpected(connection_error(H2Error::ProtocolError, "invalid connection preface"));
    preface_seen_ += n;
    in = in.subspan(n);
    if (preface_seen_ < kClientPrefaceSize) return {};
    phase_ = Phase::FirstSettings;
  }
  uint32_t max_frame = std::max(local_acked_.max_frame_size, config_.local.max_frame_size);
  while (phase_ != Phase::Closed) {
    auto hr = decode_frame_header(in);
    if (!hr.ok()) break;
    const FrameHeader h = hr.value();
    if (auto ok = check_frame_size(h, max_frame); !ok) return Unexpected(ok.error());
    size_t total = kFrameHeaderSize + h.length;
    if (in.size() < total) break;
    // §3.4: the first frame from either side is a SETTINGS frame (not an ACK).
    if (phase_ == Phase::FirstSettings &&
        (h.type != static_cast<uint8_t>(FrameType::Settings) || h.has(flag::kAck)))
      return Unexpected(connection_error(H2Error::ProtocolError, "preface without SETTINGS"));
    auto frame = in.first(total);
    in = in.subspan(total);
    if (auto ok = on_frame(h, frame); !ok) return ok;
  }
  return {};
}

Result<void, FrameError> Connection::on_frame(const FrameHeader& h,
                                              std::span<const std::byte> frame) {
  // §6.10: an open header block admits only CONTINUATION frames on the same stream.
  if (block_stream_ != 0 &&
      (h.type != static_cast<uint8_t>(FrameType::Continuation) || h.stream_id != block_stream_))
    return Unexpected(
        connection_error(H2Error::ProtocolError, "frame interleaved in a header block"));
  auto r = decode_frame(frame, kMaxMaxFrameSize);
  if (r.is_error()) {
    const FrameError& e = r.error();
    if (e.is_connection_error()) return Unexpected(e);
    // §6.4: no RST_STREAM for an idle stream; §5.4.1 lets us widen it to the connection.
    if (is_idle(e.stream_id)) return Unexpected(connection_error(e.code, e.reason));
    return stream_fail(e.stream_id, e.code, e.reason);
  }
  const Frame& f = r.value();
  switch (static_cast<FrameType>(h.type)) {
    case FrameType::Data:
      return on_data(std::get<DataFrame>(f));
    case FrameType::Headers:
      return on_headers(std::get<HeadersFrame>(f));
    case FrameType::Priority:  // §5.3.2: parsed (errors above) and otherwise ignored
      return {};
    case FrameType::RstStream:
      return on_rst_stream(std::get<RstStreamFrame>(f));
    case FrameType::Settings:
      return on_settings(std::get<SettingsFrame>(f));
    case FrameType::PushPromise:  // §8.4: we never enable push; servers never accept it
      return Unexpected(connection_error(H2Error::ProtocolError, "PUSH_PROMISE not enabled"));
    case FrameType::Ping:
      return on_ping(std::get<PingFrame>(f));
    case FrameType::Goaway:
      return on_goaway(std::get<GoawayFrame>(f));
    case FrameType::WindowUpdate:
      return on_window_update(std::get<WindowUpdateFrame>(f));
    case FrameType::Continuation:
      return on_continuation(std::get<ContinuationFrame>(f));
    case FrameType::PriorityUpdate:
      return on_priority_update(std::get<PriorityUpdateFrame>(f));
  }
  return {};  // §5.5: unknown frame types are ignored
}

Result<void, FrameError> Connection::stream_fail(uint32_t id, H2Error code, const char* reason) {
  (void)reason;
  ++flood_stats_.stream_errors_sent;
  if (auto it = streams_.find(id); it != streams_.end()) {
    close_stream(id);
    sink_.on_stream_reset(id, code, ResetOrigin::Local, false);
  }
  queue_rst(id, code);
  if (auto ok = flood_check(stream_errors_, config_.flood.max_stream_errors_per_window,
                            "too many stream errors");
      !ok)
    return ok;
  return note_control();
}

Result<void, FrameError> Connection::flood_check(RateCounter& c, uint32_t limit,
                                                 const char* reason) {
  if (c.hit(now_, config_.flood.window, limit)) return {};
  ++flood_stats_.trips;
  flood_stats_.tripped = reason;
  return Unexpected(connection_error(H2Error::EnhanceYourCalm, reason));
}

Result<void, FrameError> Connection::note_control() {
  control_ends_.push_back(out_base_ + out_.size() + out_slice_bytes_);
  if (control_ends_.size() <= config_.flood.max_queued_control_frames) return {};
  ++flood_stats_.trips;
  flood_stats_.tripped = "too many queued control frames";
  return Unexpected(connection_error(H2Error::EnhanceYourCalm, flood_stats_.tripped));
}

void Connection::connection_fail(const FrameError& e) {
  if (error_) return;
  error_ = e;
  phase_ = Phase::Closed;
  std::string_view reason(e.reason);
  encode_goaway(out_, last_peer_stream_id_, e.code,
                std::as_bytes(std::span(reason.data(), reason.size())));
  goaway_sent_ = true;
  draining_ = false;
  settings_deadline_.reset();
  drain_deadline_.reset();
  std::vector<uint32_t> ids;
  for (const auto& [id, s] : streams_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (uint32_t id : ids) {
    close_stream(id);
    sink_.on_stream_reset(id, e.code, ResetOrigin::Local, false);
  }
  sink_.on_connection_error(e);
}

void Connection::terminate(H2Error code, const char* reason) {
  connection_fail(connection_error(code, reason));
}

std::optional<Millis> Connection::next_deadline() const {
  std::optional<Millis> d = settings_deadline_;
  if (drain_deadline_ && (!d || *drain_deadline_ < *d)) d = drain_deadline_;
  return d;
}

void Connection::tick(Millis now) {
  now_ = now;
  if (settings_deadline_ && now >= *settings_deadline_)
    connection_fail(connection_error(H2Error::SettingsTimeout, "SETTINGS not acknowledged"));
  if (drain_deadline_ && now >= *drain_deadline_) send_final_goaway();
}

void Connection::shutdown(Millis now) {
  now_ = now;
  if (goaway_sent_ || error_) return;
  goaway_sent_ = true;
  if (config_.role == Role::Client) {  // our GOAWAY names server-initiated streams: none
    goaway_last_id_ = last_peer_stream_id_;
    encode_goaway(out_, goaway_last_id_, H2Error::NoError);
    return;
  }
  // §6.8: first a GOAWAY that refuses nothing, then after one round trip the real last id.
  encode_goaway(out_, kMaxStreamId, H2Error::NoError);
  encode_ping(out_, kDrainPing, false);
  draining_ = true;
  drain_deadline_ = now + config_.drain_timeout;
}

void Connection::send_final_goaway() {
  if (!draining_) return;
  draining_ = false;
  drain_deadline_.reset();
  goaway_last_id_ = last_peer_stream_id_;
  encode_goaway(out_, goaway_last_id_, H2Error::NoError);
}

Result<void, FrameError> Connection::on_ping(const PingFrame& f) {
  if (f.ack) {
    if (draining_ && f.opaque == kDrainPing)
      send_final_goaway();
    else
      sink_.on_ping_ack(f.opaque);
    return {};
  }
  ++flood_stats_.pings_received;
  if (auto ok = flood_check(pings_, config_.flood.max_pings_per_window, "PING flood"); !ok)
    return ok;
  encode_ping(out_, f.opaque, true);  // §6.7: answer with the same opaque data
  return note_control();
}

bool Connection::is_closed() const noexcept {
  bool drained = out_off_ == out_.size();
  if (error_) return drained;
  if (goaway_sent_ && !draining_ && streams_.empty()) return drained;
  return goaway_received_ && streams_.empty() && drained;
}

size_t Connection::queued_data(uint32_t id) const noexcept {
  auto it = streams_.find(id);
  return it == streams_.end() ? 0 : it->second.pending();
}

std::optional<StreamState> Connection::stream_state(uint32_t id) const {
  auto it = streams_.find(id);
  if (it == streams_.end()) return std::nullopt;
  return it->second.state;
}

const Stream* Connection::stream_for_test(uint32_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

}  // namespace kakehi::http2
