// FieldList: an owned, ordered list of header fields stored in one byte arena (names and values
// back to back) plus an index of offsets, so a decoded header block costs two allocations that
// are reused when the list is cleared. Views handed out stay valid until the next add/clear.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kakehi/http2/hpack/header_field.hpp"

namespace kakehi::http2 {

class FieldList {
 public:
  FieldList() = default;
  FieldList(std::initializer_list<hpack::HeaderField> fields) {
    for (const auto& f : fields) add(f.name, f.value, f.never_indexed);
  }

  void add(std::string_view name, std::string_view value, bool never_indexed = false) {
    entries_.push_back({static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(name.size()),
                        static_cast<uint32_t>(value.size()), never_indexed});
    arena_.append(name);
    arena_.append(value);
  }
  void clear() noexcept {
    arena_.clear();
    entries_.clear();
  }

  size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  hpack::HeaderField operator[](size_t i) const noexcept {
    const Entry& e = entries_[i];
    std::string_view a(arena_);
    return {a.substr(e.off, e.name_len), a.substr(e.off + e.name_len, e.value_len),
            e.never_indexed};
  }
  /// The value of the first field named `name`, if any.
  std::optional<std::string_view> get(std::string_view name) const noexcept {
    for (size_t i = 0; i < size(); ++i)
      if ((*this)[i].name == name) return (*this)[i].value;
    return std::nullopt;
  }
  /// All fields as views (for the HPACK encoder), into `out` (cleared first; its storage is
  /// reused, so the engine's steady state does not allocate for it).
  void views(std::vector<hpack::HeaderField>& out) const {
    out.clear();
    for (size_t i = 0; i < size(); ++i) out.push_back((*this)[i]);
  }
  std::vector<hpack::HeaderField> views() const {
    std::vector<hpack::HeaderField> v;
    views(v);
    return v;
  }

 private:
  struct Entry {
    uint32_t off;
    uint32_t name_len;
    uint32_t value_len;
    bool never_indexed;
  };
  std::string arena_;
  std::vector<Entry> entries_;
};

}  // namespace kakehi::http2
