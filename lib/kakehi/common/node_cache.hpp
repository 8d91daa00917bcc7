// NodeCache: keeps the nodes of a node-based standard container (std::unordered_map, std::set)
// whose elements come and go at a steady rate, such as the streams of an HTTP/2 connection.
// `erase` extracts the node and keeps it (up to `keep` of them); `insert` puts a kept node back
// under a new key. A container whose size stays below `keep` then allocates nothing for its
// elements after warm-up. A reused map node keeps its old mapped value: the caller resets it.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace kakehi {

template <class Container>
class NodeCache {
 public:
  using Key = typename Container::key_type;
  using Iterator = typename Container::iterator;

  explicit NodeCache(size_t keep) : keep_(keep) {}

  /// Inserts `key` (absent from `c`) into `c`, in a kept node when there is one. The mapped
  /// value of a map is then the one its node held before (a fresh node: value-initialised).
  Iterator insert(Container& c, const Key& key) {
    if (spare_.empty()) {
      if constexpr (requires { typename Container::mapped_type; })
        return c.try_emplace(key).first;
      else
        return c.insert(key).first;
    }
    auto node = std::move(spare_.back());
    spare_.pop_back();
    if constexpr (requires { node.key(); })
      node.key() = key;
    else
      node.value() = key;
    return c.insert(std::move(node)).position;
  }

  /// Erases the element at `it` from `c`, keeping its node if fewer than `keep` are kept.
  void erase(Container& c, Iterator it) {
    auto node = c.extract(it);
    if (spare_.size() < keep_) spare_.push_back(std::move(node));
  }

 private:
  std::vector<typename Container::node_type> spare_;
  size_t keep_;
};

}  // namespace kakehi
