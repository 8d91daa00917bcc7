// StringArena: owned storage for header names and values created by edits (X-Forwarded-For,
// lowercased h2 names, joined cookies). Memory comes in blocks that are kept across clear(), so a
// connection that reuses its message objects stops allocating once warm. Views handed out stay
// valid until clear() or destruction. Single-threaded; no I/O.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string_view>
#include <vector>

namespace kakehi::http {

class StringArena {
 public:
  static constexpr size_t kBlockSize = 4096;

  StringArena() = default;
  StringArena(const StringArena&) = delete;
  StringArena& operator=(const StringArena&) = delete;
  StringArena(StringArena&&) noexcept = default;
  StringArena& operator=(StringArena&&) noexcept = default;

  /// Writable storage for `n` bytes, valid until clear().
  char* allocate(size_t n);
  /// Copies `s` into the arena and returns a view of the copy.
  std::string_view store(std::string_view s);
  /// Stores the concatenation of `parts`.
  std::string_view concat(std::initializer_list<std::string_view> parts);
  /// Forgets every stored string; keeps the standard blocks for reuse.
  void clear() noexcept;
  size_t blocks_for_test() const noexcept { return blocks_.size() + large_.size(); }

 private:
  std::vector<std::unique_ptr<char[]>> blocks_;  // kBlockSize each
  std::vector<std::unique_ptr<char[]>> large_;   // one per oversized string, freed by clear()
  size_t current_ = 0;                           // index of the block being filled
  size_t used_ = 0;                              // bytes used in blocks_[current_]
};

}  // namespace kakehi::http
