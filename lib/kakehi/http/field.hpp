// Header fields of the protocol-neutral message model: a name/value pair of views (into a receive
// buffer or a StringArena) and an ordered list with the few operations proxies need. Names
// compare case-insensitively (RFC 9110 §5.1). Token-list helpers for Connection, TE and the like
// (RFC 9110 §5.6.1). No allocation beyond the list's own capacity; no I/O.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace kakehi::http {

struct Field {
  std::string_view name;
  std::string_view value;
  friend bool operator==(const Field&, const Field&) = default;
};

/// ASCII case-insensitive comparison (field names, tokens).
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i], y = b[i];
    if (x == y) continue;
    // Equal ignoring case only if both are the same ASCII letter.
    if ((x | 0x20) != (y | 0x20) || static_cast<unsigned char>((x | 0x20) - 'a') > 'z' - 'a')
      return false;
  }
  return true;
}
/// True if `s` contains no ASCII upper-case letter.
bool is_lower(std::string_view s) noexcept;
/// Trims SP and HTAB on both sides (OWS, RFC 9110 §5.6.3).
std::string_view trim_ows(std::string_view s) noexcept;

/// Iterates the elements of a comma-separated list (RFC 9110 §5.6.1), OWS trimmed. Empty
/// elements are reported as empty views (callers decide whether to skip or reject them).
class ListIterator {
 public:
  explicit ListIterator(std::string_view list) noexcept : rest_(list), done_(false) {}
  /// Next element into `out`; false at the end.
  bool next(std::string_view& out) noexcept;

 private:
  std::string_view rest_;
  bool done_;
};

/// True if the comma-separated `list` has an element equal (case-insensitively) to `token`.
bool list_contains(std::string_view list, std::string_view token) noexcept;

/// An ordered list of fields. Views only: the owner of the bytes is the message (receive buffer
/// plus arena). Duplicates are kept in order (RFC 9110 §5.3).
class FieldList {
 public:
  void clear() noexcept { v_.clear(); }
  void reserve(size_t n) { v_.reserve(n); }
  void add(std::string_view name, std::string_view value) { v_.push_back({name, value}); }
  size_t size() const noexcept { return v_.size(); }
  bool empty() const noexcept { return v_.empty(); }
  const Field& operator[](size_t i) const noexcept { return v_[i]; }
  Field& operator[](size_t i) noexcept { return v_[i]; }
  auto begin() const noexcept { return v_.begin(); }
  auto end() const noexcept { return v_.end(); }
  auto begin() noexcept { return v_.begin(); }
  auto end() noexcept { return v_.end(); }

  /// First field named `name`, or nullptr.
  const Field* find(std::string_view name) const noexcept;
  Field* find(std::string_view name) noexcept;
  size_t count(std::string_view name) const noexcept;
  /// Removes every field named `name`; returns how many were removed.
  size_t remove(std::string_view name) noexcept;
  /// Replaces all fields named `name` with one (appended at the position of the first, or at the
  /// end when absent).
  void set(std::string_view name, std::string_view value);
  /// Keeps the first `n` fields.
  void truncate(size_t n) noexcept { v_.resize(std::min(n, v_.size())); }
  void erase_at(size_t i) noexcept { v_.erase(v_.begin() + static_cast<std::ptrdiff_t>(i)); }
  const std::vector<Field>& items() const noexcept { return v_; }

 private:
  std::vector<Field> v_;
};

/// Connection-specific fields that never cross a proxy hop (RFC 9110 §7.6.1, RFC 9113 §8.2.2):
/// connection, keep-alive, proxy-connection, te, transfer-encoding, upgrade. (`te: trailers` is
/// special-cased by the HTTP/2 conversion.)
bool is_hop_by_hop(std::string_view name) noexcept;

/// The options the Connection fields of a list name (RFC 9110 §7.6.1), gathered in one pass so
/// that dropping what they name stays linear in the field count. Options that are fixed
/// hop-by-hop names are left out (`is_hop_by_hop` decides those), so the usual
/// "Connection: keep-alive" gathers nothing. Views into the field values.
class ConnectionOptions {
 public:
  explicit ConnectionOptions(const FieldList& fields);
  /// True if a Connection field names `name` (and it is not a fixed hop-by-hop name).
  bool lists(std::string_view name) const noexcept;

 private:
  static constexpr size_t kInline = 16;
  std::array<std::string_view, kInline> inline_;
  std::vector<std::string_view> more_;  // past kInline options (allocates only then)
  size_t count_ = 0;
};

}  // namespace kakehi::http
