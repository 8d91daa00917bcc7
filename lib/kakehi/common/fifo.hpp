// Fifo: a first-in first-out queue over one std::vector, for the small queues an HTTP/2
// connection keeps (SETTINGS awaiting their ACK, queued control frames, incremental streams of
// a priority level). Unlike std::deque (libstdc++ allocates a 512-byte block and its map as
// soon as one is constructed, so ten of them cost every idle connection ~6 KiB) an empty Fifo
// holds no storage. pop_front is O(1) amortized: the consumed prefix is dropped once it is at
// least half of the vector.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace kakehi {

template <class T>
class Fifo {
 public:
  bool empty() const noexcept { return head_ == items_.size(); }
  size_t size() const noexcept { return items_.size() - head_; }
  /// Elements stored, the consumed prefix included: at most 2 * size() + 16.
  size_t footprint() const noexcept { return items_.size(); }
  T& front() noexcept { return items_[head_]; }
  const T& front() const noexcept { return items_[head_]; }
  void push_back(T v) { items_.push_back(std::move(v)); }
  void pop_front() {
    ++head_;
    if (head_ == items_.size()) {
      clear();
    } else if (head_ >= 16 && 2 * head_ >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  /// Removes the first element equal to `v`; false when there is none.
  bool erase_value(const T& v) {
    auto it = std::find(items_.begin() + static_cast<std::ptrdiff_t>(head_), items_.end(), v);
    if (it == items_.end()) return false;
    items_.erase(it);
    if (empty()) clear();
    return true;
  }
  void clear() noexcept {
    items_.clear();
    head_ = 0;
  }

 private:
  std::vector<T> items_;
  size_t head_ = 0;
};

}  // namespace kakehi
