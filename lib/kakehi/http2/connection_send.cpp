// Connection engine, send part: the application's submit_* calls, the stream table, flow
// control credit (auto or manual WINDOW_UPDATE policy, §6.9), header block encoding split into
// HEADERS + CONTINUATION (§4.3), and the output queue that the scheduler (RFC 9218) fills with
// DATA frames within the connection and stream windows.
#include <algorithm>

#include "kakehi/http2/connection.hpp"

namespace kakehi::http2 {

bool Connection::peer_initiated(uint32_t id) const {
  return (config_.role == Role::Server) == (id % 2 == 1);
}

bool Connection::is_idle(uint32_t id) const {
  return peer_initiated(id) ? id > last_peer_stream_id_ : id >= next_local_stream_id_;
}

Stream& Connection::open_stream(uint32_t id) {
  Stream& s = stream_nodes_.insert(streams_, id)->second;
  // A reused node: a fresh stream that keeps its body queue's storage.
  std::vector<std::byte> out = std::move(s.out);
  std::vector<buffer::Slice> slices = std::move(s.slices);  // empty: close_stream dropped them
  out.clear();
  s = Stream{};
  s.out = std::move(out);
  s.slices = std::move(slices);
  s.id = id;
  s.send_window = peer_.initial_window_size;
  s.recv_window = local_initial_window_;
  if (peer_initiated(id))
    ++peer_streams_;
  else
    ++local_streams_;
  return s;
}

void Connection::close_stream(uint32_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  scheduler_.remove(id);
  if (peer_initiated(id))
    --peer_streams_;
  else
    --local_streams_;
  drop_slices(it->second);
  // A kept node keeps its body queue's storage only when small (the next stream reuses it).
  if (it->second.out.capacity() > kKeptQueueBytes) it->second.out = {};
  it->second.trailers.reset();
  stream_nodes_.erase(streams_, it);
  recently_closed_.add(id);
}

void Connection::queue_rst(uint32_t id, H2Error code) {
  encode_rst_stream(out_, id, code);
  recently_reset_.add(id);
}

void Connection::end_local(Stream& s) {
  if (s.state == StreamState::HalfClosedRemote) {
    uint32_t id = s.id;
    close_stream(id);
    sink_.on_stream_closed(id);
  } else {
    s.state = StreamState::HalfClosedLocal;
    scheduler_.remove(s.id);
  }
}

// Returns received bytes to the peer's windows once enough have been consumed (§6.9).
void Connection::credit(Stream* s, size_t n) {
  if (n == 0 || error_) return;
  uint64_t pct = config_.window.update_threshold_percent;
  conn_recv_unacked_ += static_cast<uint32_t>(n);
  int64_t conn_target = std::max<int64_t>(config_.window.connection_window, kDefaultWindowSize);
  if (conn_recv_unacked_ >= static_cast<uint64_t>(conn_target) * pct / 100) {
    encode_window_update(out_, 0, conn_recv_unacked_);
    conn_recv_window_ += conn_recv_unacked_;
    conn_recv_unacked_ = 0;
  }
  if (!s || s->remote_closed()) return;
  s->recv_unacked += static_cast<uint32_t>(n);
  if (s->recv_unacked >=
      static_cast<uint64_t>(std::max<int64_t>(local_initial_window_, 1)) * pct / 100) {
    encode_window_update(out_, s->id, s->recv_unacked);
    s->recv_window += s->recv_unacked;
    s->recv_unacked = 0;
  }
}

void Connection::consume(uint32_t stream_id, size_t n) {
  auto it = streams_.find(stream_id);
  credit(it == streams_.end() ? nullptr : &it->second, n);
}

// §4.3: one field block, as HEADERS then CONTINUATION frames no larger than the peer allows.
void Connection::write_headers(uint32_t id, const FieldList& fields, bool end_stream) {
  fields.views(field_views_);
  write_headers(id, field_views_, end_stream);
}

void Connection::write_headers(uint32_t id, std::span<const hpack::HeaderField> fields,
                               bool end_stream) {
  header_scratch_.clear();
  hpack_encoder_.encode(fields, header_scratch_);
  std::span<const std::byte> block = header_scratch_;
  size_t max = peer_.max_frame_size;
  size_t n = std::min(block.size(), max);
  encode_headers(out_, id, block.first(n), end_stream, n == block.size());
  block = block.subspan(n);
  while (!block.empty()) {
    n = std::min(block.size(), max);
    encode_continuation(out_, id, block.first(n), n == block.size());
    block = block.subspan(n);
  }
}

Result<uint32_t, SubmitError> Connection::submit_request(const FieldList& headers,
                                                         bool end_stream) {
  if (config_.role != Role::Client) return Unexpected(SubmitError::WrongRole);
  if (error_) return Unexpected(SubmitError::ConnectionClosed);
  if (goaway_sent_ || goaway_received_) return Unexpected(SubmitError::GoingAway);
  if (local_streams_ >= peer_.max_concurrent_streams)
    return Unexpected(SubmitError::ConcurrencyLimit);
  if (next_local_stream_id_ > kMaxStreamId) return Unexpected(SubmitError::StreamIdsExhausted);
  uint32_t id = next_local_stream_id_;
  next_local_stream_id_ += 2;
  Stream& s = open_stream(id);
  s.request_is_head = headers.get(":method") == "HEAD";
  if (auto p = headers.get("priority")) s.priority = parse_priority_field(*p);
  write_headers(id, headers, end_stream);
  if (end_stream) s.state = StreamState::HalfClosedLocal;
  return id;
}

Result<void, SubmitError> Connection::submit_response(uint32_t stream_id, const FieldList& headers,
                                                      bool end_stream) {
  headers.views(field_views_);
  return submit_response(stream_id, field_views_, end_stream);
}

Result<void, SubmitError> Connection::submit_response(uint32_t stream_id,
                                                      std::span<const hpack::HeaderField> headers,
                                                      bool end_stream) {
  if (config_.role != Role::Server) return Unexpected(SubmitError::WrongRole);
  if (error_) return Unexpected(SubmitError::ConnectionClosed);
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return Unexpected(SubmitError::NoSuchStream);
  Stream& s = it->second;
  if (s.local_closed() || s.end_queued) return Unexpected(SubmitError::StreamClosedLocally);
  write_headers(stream_id, headers, end_stream);
  if (end_stream) end_local(s);
  return {};
}

Result<Stream*, SubmitError> Connection::data_stream(uint32_t stream_id) {
  if (error_) return Unexpected(SubmitError::ConnectionClosed);
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return Unexpected(SubmitError::NoSuchStream);
  Stream& s = it->second;
  if (s.local_closed() || s.end_queued) return Unexpected(SubmitError::StreamClosedLocally);
  return &s;
}

namespace {

void append_copy(Stream& s, std::span<const std::byte> data) {
  // Drop what was sent once it outweighs what waits (amortized: each byte moves at most once),
  // so a stream that never fully drains holds its pending bytes, not its whole body.
  if (s.out_off > 0 && s.out_off >= s.out.size() - s.out_off) {
    s.out.erase(s.out.begin(), s.out.begin() + static_cast<std::ptrdiff_t>(s.out_off));
    s.out_off = 0;
  }
  s.out.insert(s.out.end(), data.begin(), data.end());
}

}  // namespace

void Connection::drop_slices(Stream& s) {
  queued_slices_ -= s.slices.size();
  s.slices.clear();
  s.slice_bytes = 0;
}

void Connection::copy_slices(Stream& s) {
  for (const buffer::Slice& piece : s.slices) append_copy(s, piece.bytes());
  drop_slices(s);
}

Result<void, SubmitError> Connection::submit_data(uint32_t stream_id,
                                                  std::span<const std::byte> data,
                                                  bool end_stream) {
  auto found = data_stream(stream_id);
  if (!found) return Unexpected(found.error());
  Stream& s = **found;
  if (!data.empty() && !s.slices.empty()) copy_slices(s);
  append_copy(s, data);
  s.end_queued = end_stream;
  reschedule(s);
  return {};
}

Result<void, SubmitError> Connection::submit_slice(uint32_t stream_id, buffer::Slice data,
                                                   bool end_stream) {
  auto found = data_stream(stream_id);
  if (!found) return Unexpected(found.error());
  Stream& s = **found;
  // Copied: a small slice that would start a queue (a queue already of slices takes it, often
  // sharing the previous one's buffer), a slice behind copied bytes, and any beyond the cap.
  const bool copied_waiting = s.out.size() > s.out_off;
  const bool small_start = s.slices.empty() && data.size() < config_.min_slice_bytes;
  if (data.empty()) {
    // Only END_STREAM.
  } else if (small_start || copied_waiting || queued_slices_ >= config_.max_queued_slices) {
    if (!s.slices.empty()) copy_slices(s);
    append_copy(s, data.bytes());
  } else {
    s.slice_bytes += data.size();
    s.slices.push_back(std::move(data));
    ++queued_slices_;
  }
  s.end_queued = end_stream;
  reschedule(s);
  return {};
}

Result<void, SubmitError> Connection::submit_trailers(uint32_t stream_id,
                                                      const FieldList& trailers) {
  if (error_) return Unexpected(SubmitError::ConnectionClosed);
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return Unexpected(SubmitError::NoSuchStream);
  Stream& s = it->second;
  if (s.local_closed() || s.end_queued) return Unexpected(SubmitError::StreamClosedLocally);
  s.trailers = trailers;
  s.end_queued = true;
  reschedule(s);
  return {};
}

Result<void, SubmitError> Connection::reset_stream(uint32_t stream_id, H2Error code) {
  if (error_) return Unexpected(SubmitError::ConnectionClosed);
  if (streams_.find(stream_id) == streams_.end()) return Unexpected(SubmitError::NoSuchStream);
  close_stream(stream_id);
  queue_rst(stream_id, code);
  return {};
}

void Connection::submit_ping(const std::array<std::byte, 8>& opaque) {
  if (!error_) encode_ping(out_, opaque, false);
}

void Connection::set_priority(uint32_t stream_id, Priority p) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end() || error_) return;
  it->second.priority = p;
  scheduler_.update(stream_id, p);
  if (config_.role != Role::Client) return;
  std::string v = "u=" + std::to_string(p.urgency) + (p.incremental ? ", i" : "");
  encode_priority_update(out_, stream_id, v);
}

// A stream is scheduled when it can put bytes on the wire: body bytes and stream window, or
// only an END_STREAM / trailers left (these need no window).
void Connection::reschedule(Stream& s) {
  bool ready =
      !s.local_closed() && ((s.pending() > 0 && s.send_window > 0) ||
                            (s.pending() == 0 && (s.end_queued || s.trailers.has_value())));
  if (ready)
    scheduler_.push(s.id, s.priority);
  else
    scheduler_.remove(s.id);
}

void Connection::send_from(Stream& s) {
  int64_t room = std::min<int64_t>(
      {static_cast<int64_t>(s.pending()), s.send_window, conn_send_window_, peer_.max_frame_size});
  size_t n = static_cast<size_t>(std::max<int64_t>(room, 0));
  bool drains = n == s.pending();
  bool end = drains && s.end_queued && !s.trailers;
  if (n > 0 || end) {
    encode_data_header(out_, s.id, static_cast<uint32_t>(n), end);
    if (!s.slices.empty()) {
      // Gathered: the slices go to the writer beside the queue. Otherwise the body's only
      // copy: from the pool slices straight into the output queue.
      size_t left = n;
      size_t used = 0;
      for (buffer::Slice& piece : s.slices) {
        if (left == 0) break;
        const size_t take = std::min<size_t>(left, piece.size());
        const bool whole = take == piece.size();
        if (config_.gather_slices) {
          out_slices_.push_back(
              {out_.size(), whole ? std::move(piece) : piece.sub(0, static_cast<uint32_t>(take))});
          out_slice_bytes_ += take;
        } else {
          out_.insert(out_.end(), piece.data(), piece.data() + take);
        }
        left -= take;
        if (whole) {
          piece.reset();
          ++used;
        } else {
          piece.remove_prefix(static_cast<uint32_t>(take));
        }
      }
      s.slices.erase(s.slices.begin(), s.slices.begin() + static_cast<std::ptrdiff_t>(used));
      queued_slices_ -= used;
      s.slice_bytes -= n;
    } else {
      auto from = s.out.begin() + static_cast<std::ptrdiff_t>(s.out_off);
      out_.insert(out_.end(), from, from + static_cast<std::ptrdiff_t>(n));
      s.out_off += n;
    }
    s.send_window -= static_cast<int64_t>(n);
    conn_send_window_ -= static_cast<int64_t>(n);
    scheduler_.sent(s.id, n);
    if (n > 0)
      window_update_allowance_ = std::min<uint64_t>(window_update_allowance_ + 2, 1u << 20);
  }
  if (s.pending() == 0) {
    s.out.clear();
    s.out_off = 0;
  }
  if (end) return end_local(s);
  if (drains && s.trailers) {
    write_headers(s.id, *s.trailers, true);
    s.trailers.reset();
    return end_local(s);
  }
  reschedule(s);
}

void Connection::flush_data() {
  while (!error_ && out_.size() - out_off_ + out_slice_bytes_ < config_.output_watermark) {
    auto id = scheduler_.next();
    if (!id) return;
    auto it = streams_.find(*id);
    if (it == streams_.end()) {
      scheduler_.remove(*id);
      continue;
    }
    if (it->second.pending() > 0 && conn_send_window_ <= 0) return;  // connection-blocked
    send_from(it->second);
  }
}

std::span<const std::byte> Connection::next_output() {
  if (phase_ != Phase::Closed) flush_data();
  inline_slices();
  return std::span<const std::byte>(out_).subspan(out_off_);
}

void Connection::consume_output(size_t n) {
  inline_slices();
  out_off_ += std::min(n, out_.size() - out_off_);
  forget_written_control();
  if (out_off_ == out_.size()) {
    out_base_ += out_.size();
    out_.clear();
    out_off_ = 0;
  } else if (out_off_ >= 65536 && out_off_ * 2 >= out_.size()) {
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_off_));
    out_base_ += out_off_;
    out_off_ = 0;
  }
}

void Connection::take_output(std::vector<std::byte>& into) {
  if (phase_ != Phase::Closed) flush_data();
  inline_slices();
  into.clear();
  if (out_off_ == 0) {
    into.swap(out_);
  } else {
    into.assign(out_.begin() + static_cast<std::ptrdiff_t>(out_off_), out_.end());
    out_.clear();
  }
  out_base_ += out_off_ + into.size();
  out_off_ = 0;
  forget_written_control();
}

void Connection::take_output(OutputBatch& into) {
  if (phase_ != Phase::Closed) flush_data();
  if (out_off_ > 0) {  // a partial consume_output() before: drop what it wrote
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_off_));
    for (OutputBatch::Piece& p : out_slices_) p.at -= out_off_;
    out_base_ += out_off_;
    out_off_ = 0;
  }
  into.bytes.clear();
  into.bytes.swap(out_);
  into.slices.clear();
  into.slices.swap(out_slices_);
  out_base_ += into.bytes.size() + out_slice_bytes_;
  out_slice_bytes_ = 0;
  forget_written_control();
}

size_t OutputBatch::size() const noexcept {
  size_t n = bytes.size();
  for (const Piece& p : slices) n += p.slice.size();
  return n;
}

// The offsets of control_ends_ count the slices' bytes already, so they stay right.
void Connection::inline_slices() {
  if (out_slices_.empty()) return;
  std::vector<std::byte> merged;
  merged.reserve(out_.size() + out_slice_bytes_);
  for_each_in_order(out_, out_slices_, [&](std::span<const std::byte> run) {
    merged.insert(merged.end(), run.begin(), run.end());
  });
  out_.swap(merged);
  out_slices_.clear();
  out_slice_bytes_ = 0;
}

void Connection::forget_written_control() {
  const uint64_t written = out_base_ + out_off_;
  while (!control_ends_.empty() && control_ends_.front() <= written) control_ends_.pop_front();
}

}  // namespace kakehi::http2
