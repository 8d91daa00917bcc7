// RFC 9218 §10 scheduler: decides which ready stream's DATA goes next. One queue per urgency
// (8); within an urgency, non-incremental streams are served one at a time in stream-id order
// (each to completion or until it blocks), then incremental streams share by byte-based round
// robin (each gets `quantum` bytes before the next). Holds only stream ids of streams that have
// data and send window; knows nothing of frames, windows or buffers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <unordered_map>

#include "kakehi/common/fifo.hpp"
#include "kakehi/common/node_cache.hpp"
#include "kakehi/http2/priority.hpp"

namespace kakehi::http2 {

class Scheduler {
 public:
  explicit Scheduler(uint32_t quantum = 16384) : quantum_(quantum) {}

  /// Marks `stream_id` ready to send with priority `p` (no-op if already ready; use `update`
  /// to change the priority of a ready stream).
  void push(uint32_t stream_id, Priority p);
  /// The stream is no longer ready (blocked, drained, or closed). No-op if not queued.
  void remove(uint32_t stream_id);
  /// Moves a ready stream to the queue of its new priority (RFC 9218 §7 reprioritisation).
  void update(uint32_t stream_id, Priority p);
  /// The stream that should send next, if any.
  std::optional<uint32_t> next() const;
  /// Accounts `bytes` just sent by `stream_id` (which must be `next()`): an incremental stream
  /// that has used its quantum moves to the back of its round robin.
  void sent(uint32_t stream_id, size_t bytes);

  bool empty() const noexcept { return where_.empty(); }
  size_t size() const noexcept { return where_.size(); }
  bool contains(uint32_t stream_id) const { return where_.count(stream_id) != 0; }

 private:
  struct Level {
    std::set<uint32_t> in_order;  // non-incremental, lowest id first
    Fifo<uint32_t> round_robin;   // incremental, front is current
    size_t front_sent = 0;        // bytes the front incremental stream sent this turn
  };
  std::array<Level, kUrgencyLevels> levels_;
  std::unordered_map<uint32_t, Priority> where_;
  // Nodes of removed entries, reused by the next pushes: no allocation per stream.
  static constexpr size_t kKeptNodes = 32;
  NodeCache<std::unordered_map<uint32_t, Priority>> where_nodes_{kKeptNodes};
  NodeCache<std::set<uint32_t>> order_nodes_{kKeptNodes};
  uint32_t quantum_;
};

}  // namespace kakehi::http2
