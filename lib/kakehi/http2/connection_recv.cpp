// Connection engine, receive part: one handler per frame type applying the stream state
// machine (§5.1), flow control (§6.9), header block assembly (§6.10) and message validation
// (§8.1). Each rule names its section; docs/http2.md has the error table.
#include <algorithm>

#include "kakehi/http2/connection.hpp"
#include "kakehi/http2/header_validation.hpp"

namespace kakehi::http2 {
namespace {

Unexpected<FrameError> conn_err(H2Error code, const char* reason) {
  return Unexpected(connection_error(code, reason));
}

}  // namespace

// A frame for a stream that is not in the table and not idle: it was closed. Frames on
// streams we reset are ignored (§5.1 "closed": the peer may not have seen our RST_STREAM yet).
Result<void, FrameError> Connection::check_closed_stream(uint32_t id, bool is_data) {
  if (recently_reset_.contains(id)) return {};
  if (is_data)  // §6.1: DATA on a stream not open/half-closed(local) → STREAM_CLOSED
    return stream_fail(id, H2Error::StreamClosed, "DATA on a closed stream");
  // §5.1: frames after END_STREAM on a closed stream → connection error STREAM_CLOSED.
  if (recently_closed_.contains(id))
    return conn_err(H2Error::StreamClosed, "HEADERS on a closed stream");
  // §5.1.1: a new stream id must exceed every id the peer used before (an id we never saw
  // open, or one closed too long ago to remember, gets this code).
  return conn_err(H2Error::ProtocolError, "stream id lower than a previous one");
}

Result<void, FrameError> Connection::on_data(const DataFrame& f) {
  // §6.9.1: the whole payload (padding included) counts against the connection window.
  if (f.flow_length > conn_recv_window_)
    return conn_err(H2Error::FlowControlError, "DATA exceeds the connection window");
  conn_recv_window_ -= f.flow_length;
  auto it = streams_.find(f.stream_id);
  if (it == streams_.end()) {
    if (is_idle(f.stream_id))  // §5.1 idle: only HEADERS and PRIORITY are allowed
      return conn_err(H2Error::ProtocolError, "DATA on an idle stream");
    credit(nullptr, f.flow_length);
    return check_closed_stream(f.stream_id, true);
  }
  Stream& s = it->second;
  const char* bad = nullptr;
  H2Error code = H2Error::ProtocolError;
  if (s.remote_closed()) {  // §5.1 half-closed (remote) → STREAM_CLOSED
    bad = "DATA after END_STREAM";
    code = H2Error::StreamClosed;
  } else if (!s.head_received) {
    bad = "DATA before the message head";  // §8.1
  } else if (f.flow_length > s.recv_window) {
    bad = "DATA exceeds the stream window";  // §6.9.1
    code = H2Error::FlowControlError;
  } else if (s.expect_no_body && !f.data.empty()) {
    bad = "body in a response that has none";  // §8.1.1
  } else if (s.content_length >= 0 &&
             (s.data_received + f.data.size() > static_cast<uint64_t>(s.content_length) ||
              (f.end_stream &&
               s.data_received + f.data.size() != static_cast<uint64_t>(s.content_length)))) {
    bad = "DATA length does not match content-length";  // §8.1.1
  }
  if (bad) {
    credit(nullptr, f.flow_length);
    return stream_fail(f.stream_id, code, bad);
  }
  s.recv_window -= f.flow_length;
  s.data_received += f.data.size();
  if (f.flow_length == 0 && !f.end_stream) {
    ++flood_stats_.empty_data_received;
    if (auto ok =
            flood_check(empty_data_, config_.flood.max_empty_data_per_window, "empty DATA flood");
        !ok)
      return ok;
  }
  credit(&s, f.flow_length - f.data.size());  // padding is returned at once
  uint32_t id = f.stream_id;
  sink_.on_data(id, f.data, f.end_stream);
  it = streams_.find(id);  // the sink may have reset the stream
  if (it == streams_.end()) {
    credit(nullptr, f.data.size());
    return {};
  }
  if (config_.window.auto_update) credit(&it->second, f.data.size());
  return f.end_stream ? end_remote(it->second) : Result<void, FrameError>{};
}

Result<void, FrameError> Connection::on_headers(const HeadersFrame& f) {
  block_stream_ = f.stream_id;
  block_end_stream_ = f.end_stream;
  block_priority_ = f.priority;
  block_continuations_ = 0;
  block_.assign(f.fragment.begin(), f.fragment.end());
  if (block_.size() > config_.flood.max_header_block_bytes)
    return conn_err(H2Error::EnhanceYourCalm, "header block too large");
  return f.end_headers ? on_header_block_done() : Result<void, FrameError>{};
}

Result<void, FrameError> Connection::on_continuation(const ContinuationFrame& f) {
  if (block_stream_ == 0)  // §6.10: CONTINUATION must follow HEADERS without END_HEADERS
    return conn_err(H2Error::ProtocolError, "CONTINUATION without a header block");
  ++flood_stats_.continuations_received;
  if (++block_continuations_ > config_.flood.max_continuations_per_block ||
      block_.size() + f.fragment.size() > config_.flood.max_header_block_bytes) {
    ++flood_stats_.trips;
    flood_stats_.tripped = "CONTINUATION flood";
    return conn_err(H2Error::EnhanceYourCalm, "CONTINUATION flood");
  }
  block_.insert(block_.end(), f.fragment.begin(), f.fragment.end());
  return f.end_headers ? on_header_block_done() : Result<void, FrameError>{};
}

Result<void, FrameError> Connection::on_header_block_done() {
  uint32_t id = block_stream_;
  block_stream_ = 0;
  fields_.clear();
  auto sink = [this](const hpack::HeaderField& h) {
    fields_.add(h.name, h.value, h.never_indexed);
  };
  auto decoded = hpack_decoder_.decode(block_, sink);
  bool too_large = false;
  if (!decoded) {
    if (!hpack::is_stream_level(decoded.error()))  // §4.3: the HPACK context is lost
      return conn_err(H2Error::CompressionError, "HPACK decoding failed");
    too_large = true;
  }
  auto it = streams_.find(id);
  if (it == streams_.end()) {
    if (config_.role == Role::Server && peer_initiated(id) && is_idle(id))
      return on_new_stream_head(id, block_end_stream_, too_large);
    if (is_idle(id))  // §5.1.1: a server cannot open streams with HEADERS; even ids from clients
      return conn_err(H2Error::ProtocolError, "HEADERS on an idle stream");
    return check_closed_stream(id, false);
  }
  Stream& s = it->second;
  if (s.remote_closed())  // §5.1 half-closed (remote)
    return stream_fail(id, H2Error::StreamClosed, "HEADERS after END_STREAM");
  if (too_large) return stream_fail(id, H2Error::ProtocolError, "header list too large");
  if (block_priority_ && block_priority_->dependency == id)  // §5.3.1
    return stream_fail(id, H2Error::ProtocolError, "stream depends on itself");
  if (config_.role == Role::Client && !s.head_received)
    return on_response_head(s, block_end_stream_);
  return on_trailers(s, block_end_stream_);
}

Result<void, FrameError> Connection::on_new_stream_head(uint32_t id, bool end_stream,
                                                        bool too_large) {
  last_peer_stream_id_ = id;
  if (goaway_sent_ && id > goaway_last_id_) return {};  // §6.8: not processed, not answered
  if (too_large) return stream_fail(id, H2Error::ProtocolError, "header list too large");
  if (block_priority_ && block_priority_->dependency == id)  // §5.3.1
    return stream_fail(id, H2Error::ProtocolError, "stream depends on itself");
  if (peer_streams_ >= config_.local.max_concurrent_streams)  // §5.1.2
    return stream_fail(id, H2Error::RefusedStream, "MAX_CONCURRENT_STREAMS reached");
  ValidationOptions opts{config_.local.enable_connect_protocol == 1};
  auto info = validate_request(fields_, opts);
  if (!info) return stream_fail(id, H2Error::ProtocolError, info.error());  // §8.1.1
  if (end_stream && info->content_length > 0)
    return stream_fail(id, H2Error::ProtocolError, "content-length without a body");
  Stream& s = open_stream(id);
  s.head_received = true;
  s.content_length = info->content_length;
  if (auto p = fields_.get("priority")) s.priority = parse_priority_field(*p);  // RFC 9218 §5
  if (auto pending = pending_priority_.find(id); pending != pending_priority_.end()) {
    s.priority = pending->second;  // RFC 9218 §7.1: PRIORITY_UPDATE wins over the header
    pending_priority_.erase(pending);
  }
  if (end_stream) s.state = StreamState::HalfClosedRemote;
  sink_.on_headers(id, HeadKind::Request, fields_, end_stream);
  return {};
}

Result<void, FrameError> Connection::on_response_head(Stream& s, bool end_stream) {
  uint32_t id = s.id;
  auto info = validate_response(fields_);
  if (!info) return stream_fail(id, H2Error::ProtocolError, info.error());
  if (info->status < 200) {
    // §8.1: informational responses never end the stream; 101 is not used in HTTP/2 (§8.6).
    if (end_stream || info->status == 101)
      return stream_fail(id, H2Error::ProtocolError, "invalid informational response");
    sink_.on_headers(id, HeadKind::Informational, fields_, false);
    return {};
  }
  s.head_received = true;
  s.content_length = info->content_length;
  s.expect_no_body = s.request_is_head || info->status == 204 || info->status == 304;
  if (end_stream && !s.expect_no_body && s.content_length > 0)
    return stream_fail(id, H2Error::ProtocolError, "content-length without a body");
  sink_.on_headers(id, HeadKind::Response, fields_, end_stream);
  if (!end_stream) return {};
  auto it = streams_.find(id);
  return it == streams_.end() ? Result<void, FrameError>{} : end_remote(it->second);
}

Result<void, FrameError> Connection::on_trailers(Stream& s, bool end_stream) {
  uint32_t id = s.id;
  if (!end_stream)  // §8.1: a second HEADERS without END_STREAM is malformed
    return stream_fail(id, H2Error::ProtocolError, "trailers without END_STREAM");
  if (auto ok = validate_trailers(fields_); !ok)
    return stream_fail(id, H2Error::ProtocolError, ok.error());
  if (s.content_length >= 0 && !s.expect_no_body &&
      s.data_received != static_cast<uint64_t>(s.content_length))
    return stream_fail(id, H2Error::ProtocolError, "DATA length does not match content-length");
  sink_.on_headers(id, HeadKind::Trailers, fields_, true);
  auto it = streams_.find(id);
  return it == streams_.end() ? Result<void, FrameError>{} : end_remote(it->second);
}

Result<void, FrameError> Connection::end_remote(Stream& s) {
  if (s.state == StreamState::HalfClosedLocal) {
    uint32_t id = s.id;
    close_stream(id);
    sink_.on_stream_closed(id);
  } else {
    s.state = StreamState::HalfClosedRemote;
  }
  return {};
}

Result<void, FrameError> Connection::on_rst_stream(const RstStreamFrame& f) {
  if (is_idle(f.stream_id))  // §6.4
    return conn_err(H2Error::ProtocolError, "RST_STREAM on an idle stream");
  if (streams_.find(f.stream_id) == streams_.end()) return {};  // closed: ignored
  ++flood_stats_.resets_received;
  close_stream(f.stream_id);
  sink_.on_stream_reset(f.stream_id, f.error_code, ResetOrigin::Remote,
                        f.error_code == H2Error::RefusedStream);  // §8.7
  // CVE-2023-44487: requests opened and reset at a high rate.
  return flood_check(resets_, config_.flood.max_resets_per_window, "rapid reset");
}

Result<void, FrameError> Connection::on_settings(const SettingsFrame& f) {
  if (f.ack) {
    if (local_unacked_.empty())
      return conn_err(H2Error::ProtocolError, "SETTINGS ACK without SETTINGS");
    local_acked_ = local_unacked_.front();
    local_unacked_.pop_front();
    if (local_unacked_.empty()) settings_deadline_.reset();
    hpack_decoder_.set_max_table_size_setting(local_acked_.header_table_size);
    int64_t delta = int64_t{local_acked_.initial_window_size} - local_initial_window_;
    local_initial_window_ = local_acked_.initial_window_size;
    for (auto& [id, s] : streams_) s.recv_window += delta;  // §6.9.2
    return {};
  }
  ++flood_stats_.settings_received;
  if (auto ok = flood_check(settings_, config_.flood.max_settings_per_window, "SETTINGS flood");
      !ok)
    return ok;
  for (size_t i = 0; i < f.settings.size(); ++i) {
    Setting s = f.settings[i];
    if (s.id == static_cast<uint16_t>(SettingId::InitialWindowSize))
      if (auto ok = apply_peer_initial_window(s.value); !ok) return ok;
    if (s.id == static_cast<uint16_t>(SettingId::HeaderTableSize))
      hpack_encoder_.set_peer_max_table_size(s.value);
    peer_.apply(s);
  }
  if (phase_ == Phase::FirstSettings) phase_ = Phase::Open;
  encode_settings_ack(out_);  // §6.5.3
  sink_.on_settings(peer_);
  return note_control();
}

// §6.9.2: a new INITIAL_WINDOW_SIZE changes every stream's send window by the difference;
// a window pushed above 2^31-1 is a connection FLOW_CONTROL_ERROR.
Result<void, FrameError> Connection::apply_peer_initial_window(uint32_t value) {
  int64_t delta = int64_t{value} - peer_.initial_window_size;
  for (auto& [id, s] : streams_)
    if (s.send_window + delta > kMaxWindowSize)
      return conn_err(H2Error::FlowControlError, "INITIAL_WINDOW_SIZE overflows a window");
  for (auto& [id, s] : streams_) {
    s.send_window += delta;
    reschedule(s);
  }
  return {};
}

Result<void, FrameError> Connection::on_goaway(const GoawayFrame& f) {
  goaway_received_ = true;
  peer_goaway_last_id_ = std::min(peer_goaway_last_id_, f.last_stream_id);
  sink_.on_goaway(f.last_stream_id, f.error_code, f.debug_data);
  // §6.8: our streams above the last id were not processed and may be retried elsewhere.
  std::vector<uint32_t> refused;
  for (const auto& [id, s] : streams_)
    if (!peer_initiated(id) && id > f.last_stream_id) refused.push_back(id);
  std::sort(refused.begin(), refused.end());
  for (uint32_t id : refused) {
    close_stream(id);
    sink_.on_stream_reset(id, H2Error::RefusedStream, ResetOrigin::Goaway, true);
  }
  if (f.error_code == H2Error::NoError) return {};
  // An error GOAWAY precedes the peer closing the connection: no stream will complete.
  std::vector<uint32_t> rest;
  for (const auto& [id, s] : streams_) rest.push_back(id);
  std::sort(rest.begin(), rest.end());
  for (uint32_t id : rest) {
    close_stream(id);
    sink_.on_stream_reset(id, f.error_code, ResetOrigin::Remote, false);
  }
  return {};
}

Result<void, FrameError> Connection::on_window_update(const WindowUpdateFrame& f) {
  ++flood_stats_.window_updates_received;
  // A peer answers the DATA it receives with WINDOW_UPDATEs (one for the stream and one for
  // the connection per frame at most): those are earned; only the others count as a flood.
  if (window_update_allowance_ > 0) {
    --window_update_allowance_;
  } else if (auto ok = flood_check(window_updates_, config_.flood.max_window_updates_per_window,
                                   "WINDOW_UPDATE flood");
             !ok) {
    return ok;
  }
  if (f.stream_id == 0) {
    if (conn_send_window_ + f.increment > kMaxWindowSize)  // §6.9.1
      return conn_err(H2Error::FlowControlError, "connection window above 2^31-1");
    conn_send_window_ += f.increment;
    return {};
  }
  if (is_idle(f.stream_id))  // §5.1 idle
    return conn_err(H2Error::ProtocolError, "WINDOW_UPDATE on an idle stream");
  auto it = streams_.find(f.stream_id);
  if (it == streams_.end()) return {};  // §5.1 closed: may arrive after END_STREAM/RST
  Stream& s = it->second;
  if (s.send_window + f.increment > kMaxWindowSize)  // §6.9.1
    return stream_fail(f.stream_id, H2Error::FlowControlError, "stream window above 2^31-1");
  s.send_window += f.increment;
  reschedule(s);
  return {};
}

Result<void, FrameError> Connection::on_priority_update(const PriorityUpdateFrame& f) {
  if (config_.role == Role::Client)  // RFC 9218 §7.1: sent by clients only
    return conn_err(H2Error::ProtocolError, "PRIORITY_UPDATE received by a client");
  if (!peer_initiated(f.prioritized_stream_id)) return {};  // would name a push stream: ignore
  Priority p = parse_priority_field(f.field_value);
  auto it = streams_.find(f.prioritized_stream_id);
  if (it != streams_.end()) {
    it->second.priority = p;
    scheduler_.update(it->first, p);
  } else if (is_idle(f.prioritized_stream_id) &&
             pending_priority_.size() < config_.local.max_concurrent_streams) {
    pending_priority_[f.prioritized_stream_id] = p;  // RFC 9218 §7.1: buffered for later
  }
  return {};
}

}  // namespace kakehi::http2
