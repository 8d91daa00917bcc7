// Field list operations and token-list helpers (see field.hpp).
#include "kakehi/http/field.hpp"

#include <algorithm>

namespace kakehi::http {

namespace {
constexpr char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; }
}  // namespace

bool is_lower(std::string_view s) noexcept {
  return std::none_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ListIterator::next(std::string_view& out) noexcept {
  if (done_) return false;
  size_t comma = rest_.find(',');
  if (comma == std::string_view::npos) {
    out = trim_ows(rest_);
    done_ = true;
    return true;
  }
  out = trim_ows(rest_.substr(0, comma));
  rest_.remove_prefix(comma + 1);
  return true;
}

bool list_contains(std::string_view list, std::string_view token) noexcept {
  ListIterator it(list);
  for (std::string_view e; it.next(e);)
    if (iequals(e, token)) return true;
  return false;
}

const Field* FieldList::find(std::string_view name) const noexcept {
  for (const Field& f : v_)
    if (iequals(f.name, name)) return &f;
  return nullptr;
}

Field* FieldList::find(std::string_view name) noexcept {
  for (Field& f : v_)
    if (iequals(f.name, name)) return &f;
  return nullptr;
}

size_t FieldList::count(std::string_view name) const noexcept {
  return static_cast<size_t>(
      std::count_if(v_.begin(), v_.end(), [&](const Field& f) { return iequals(f.name, name); }));
}

size_t FieldList::remove(std::string_view name) noexcept {
  auto it =
      std::remove_if(v_.begin(), v_.end(), [&](const Field& f) { return iequals(f.name, name); });
  size_t n = static_cast<size_t>(v_.end() - it);
  v_.erase(it, v_.end());
  return n;
}

void FieldList::set(std::string_view name, std::string_view value) {
  size_t first = v_.size();
  for (size_t i = 0; i < v_.size(); ++i) {
    if (iequals(v_[i].name, name)) {
      first = i;
      break;
    }
  }
  if (first == v_.size()) {
    v_.push_back({name, value});
    return;
  }
  v_[first].value = value;
  auto it = std::remove_if(v_.begin() + static_cast<std::ptrdiff_t>(first) + 1, v_.end(),
                           [&](const Field& f) { return iequals(f.name, name); });
  v_.erase(it, v_.end());
}

bool is_hop_by_hop(std::string_view name) noexcept {
  switch (name.size()) {
    case 2:
      return iequals(name, "te");
    case 7:
      return iequals(name, "upgrade");
    case 10:
      return iequals(name, "connection") || iequals(name, "keep-alive");
    case 16:
      return iequals(name, "proxy-connection");
    case 17:
      return iequals(name, "transfer-encoding");
    default:
      return false;
  }
}

ConnectionOptions::ConnectionOptions(const FieldList& fields) {
  for (const Field& f : fields) {
    if (f.name.size() != 10 || !iequals(f.name, "connection")) continue;
    ListIterator it(f.value);
    for (std::string_view e; it.next(e);) {
      if (e.empty() || is_hop_by_hop(e)) continue;
      if (count_ < kInline)
        inline_[count_] = e;
      else
        more_.push_back(e);
      ++count_;
    }
  }
}

bool ConnectionOptions::lists(std::string_view name) const noexcept {
  auto same = [&](std::string_view o) { return o.size() == name.size() && iequals(o, name); };
  for (size_t i = 0; i < std::min(count_, kInline); ++i)
    if (same(inline_[i])) return true;
  return std::any_of(more_.begin(), more_.end(), same);
}

}  // namespace kakehi::http
