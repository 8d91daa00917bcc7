// Per-stream state of the HTTP/2 engine: the RFC 9113 §5.1 state machine (push is never
// enabled, so the reserved states are absent), both flow-control windows, the outgoing body
// queue and what validation needs to remember (content-length, message phase). Plain data:
// the transitions are made by Connection (connection_recv.cpp / connection_send.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "kakehi/buffer/buffer_pool.hpp"
#include "kakehi/http2/field_list.hpp"
#include "kakehi/http2/priority.hpp"

namespace kakehi::http2 {

// RFC 9113 §5.1 (without PUSH_PROMISE, which we never enable):
//
//                             +--------+
//                             |  idle  |
//                             +--------+
//                                  | send H / recv H
//                                  v
//             recv ES         +--------+         send ES
//        ,--------------------|  open  |--------------------.
//        v                    +--------+                    v
//   +----------+                   |                   +----------+
//   |  half-   |                   | send R /          |  half-   |
//   |  closed  |                   | recv R            |  closed  |
//   | (remote) |                   |                   | (local)  |
//   +----------+                   v                   +----------+
//        |  send ES / send R  +--------+  recv ES / send R  |
//        `------------------->| closed |<-------------------'
//              / recv R       +--------+       / recv R
//
// H: HEADERS (with its CONTINUATIONs), ES: END_STREAM flag, R: RST_STREAM.
// "idle" and "closed" streams have no Stream object: a stream id above the highest id seen
// for its initiator is idle, one at or below it that is not in the table is closed.
enum class StreamState : uint8_t { Open, HalfClosedLocal, HalfClosedRemote };

struct Stream {
  uint32_t id = 0;
  StreamState state = StreamState::Open;
  int64_t send_window = 0;    // what we may still send (peer's INITIAL_WINDOW_SIZE + updates)
  int64_t recv_window = 0;    // what the peer may still send us
  uint32_t recv_unacked = 0;  // bytes consumed by the application, not yet returned by WU

  // Receive side: message phase and content-length accounting (§8.1.1).
  bool head_received = false;   // request head, or final response head
  bool expect_no_body = false;  // response to HEAD, 204, 304
  int64_t content_length = -1;
  uint64_t data_received = 0;
  bool request_is_head = false;  // client side: our request was HEAD

  // Send side: body bytes queued by the application, then optional trailers. The body waits
  // either as copied bytes (`out` from `out_off`) or as pool slices (`slices`), never both:
  // a slice queued behind copied bytes is copied too, and copied bytes queued behind slices
  // first turn the slices into copied bytes, so the order is kept.
  std::vector<std::byte> out;
  size_t out_off = 0;
  std::vector<buffer::Slice> slices;
  size_t slice_bytes = 0;
  bool end_queued = false;  // END_STREAM after `out` (and trailers) drains
  std::optional<FieldList> trailers;
  Priority priority;

  size_t pending() const noexcept { return out.size() - out_off + slice_bytes; }
  bool local_closed() const noexcept { return state == StreamState::HalfClosedLocal; }
  bool remote_closed() const noexcept { return state == StreamState::HalfClosedRemote; }
};

}  // namespace kakehi::http2
