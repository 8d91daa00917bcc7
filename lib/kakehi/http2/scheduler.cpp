// RFC 9218 scheduler implementation (see scheduler.hpp for the policy).
#include "kakehi/http2/scheduler.hpp"

#include <algorithm>

namespace kakehi::http2 {

void Scheduler::push(uint32_t stream_id, Priority p) {
  if (where_.contains(stream_id)) return;
  where_nodes_.insert(where_, stream_id)->second = p;
  Level& l = levels_[p.urgency];
  if (p.incremental)
    l.round_robin.push_back(stream_id);
  else
    order_nodes_.insert(l.in_order, stream_id);
}

void Scheduler::remove(uint32_t stream_id) {
  auto it = where_.find(stream_id);
  if (it == where_.end()) return;
  Level& l = levels_[it->second.urgency];
  if (it->second.incremental) {
    if (l.round_robin.front() == stream_id) l.front_sent = 0;
    l.round_robin.erase_value(stream_id);
  } else {
    if (auto at = l.in_order.find(stream_id); at != l.in_order.end())
      order_nodes_.erase(l.in_order, at);
  }
  where_nodes_.erase(where_, it);
}

void Scheduler::update(uint32_t stream_id, Priority p) {
  auto it = where_.find(stream_id);
  if (it == where_.end() || it->second == p) return;
  remove(stream_id);
  push(stream_id, p);
}

std::optional<uint32_t> Scheduler::next() const {
  for (const Level& l : levels_) {
    if (!l.in_order.empty()) return *l.in_order.begin();
    if (!l.round_robin.empty()) return l.round_robin.front();
  }
  return std::nullopt;
}

void Scheduler::sent(uint32_t stream_id, size_t bytes) {
  auto it = where_.find(stream_id);
  if (it == where_.end() || !it->second.incremental) return;
  Level& l = levels_[it->second.urgency];
  if (l.round_robin.empty() || l.round_robin.front() != stream_id) return;
  l.front_sent += bytes;
  if (l.front_sent >= quantum_) {
    l.round_robin.pop_front();
    l.round_robin.push_back(stream_id);
    l.front_sent = 0;
  }
}

}  // namespace kakehi::http2
