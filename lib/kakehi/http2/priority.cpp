// Priority field parsing (RFC 9218 §4, §5; RFC 8941 §3.2, §4.2.2 dictionaries). Accepts only
// what RFC 8941 allows for members we care about: `u` an integer, `i` a boolean (`i` alone,
// `i=?1`, `i=?0`); other members are skipped token by token.
#include "kakehi/http2/priority.hpp"

#include <optional>

namespace kakehi::http2 {
namespace {

struct Cursor {
  std::string_view s;
  size_t i = 0;
  bool done() const { return i >= s.size(); }
  char peek() const { return s[i]; }
  void skip_ows() {
    while (!done() && (s[i] == ' ' || s[i] == '\t')) ++i;
  }
  void skip_sp() {
    while (!done() && s[i] == ' ') ++i;
  }
};

bool is_key_start(char c) { return (c >= 'a' && c <= 'z') || c == '*'; }
bool is_key_char(char c) {
  return is_key_start(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

std::optional<std::string_view> parse_key(Cursor& c) {
  if (c.done() || !is_key_start(c.peek())) return std::nullopt;
  size_t start = c.i;
  while (!c.done() && is_key_char(c.peek())) ++c.i;
  return c.s.substr(start, c.i - start);
}

/// A bare item, kept as its text; returns false on a syntax error. Strings may hold commas.
bool skip_bare_item(Cursor& c, std::string_view& text) {
  size_t start = c.i;
  if (!c.done() && c.peek() == '"') {
    for (++c.i; !c.done() && c.peek() != '"'; ++c.i)
      if (c.peek() == '\\') ++c.i;
    if (c.done()) return false;
    ++c.i;
  } else {
    while (!c.done() && c.peek() != ',' && c.peek() != ';' && c.peek() != ' ' && c.peek() != '\t' &&
           c.peek() != '(')
      ++c.i;
    if (c.i == start) return false;
  }
  text = c.s.substr(start, c.i - start);
  return true;
}

/// Skips `;key[=item]` parameters.
bool skip_params(Cursor& c) {
  while (!c.done() && c.peek() == ';') {
    ++c.i;
    c.skip_sp();
    if (!parse_key(c)) return false;
    if (!c.done() && c.peek() == '=') {
      ++c.i;
      std::string_view ignored;
      if (!skip_bare_item(c, ignored)) return false;
    }
  }
  return true;
}

void apply_member(std::string_view key, std::optional<std::string_view> value, Priority& p) {
  if (key == "u") {
    // sf-integer: optional '-', 1..15 digits; only 0..7 is applied (§4.1).
    if (!value || value->empty() || value->size() > 15) return;
    uint64_t n = 0;
    for (char ch : *value) {
      if (ch < '0' || ch > '9') return;
      n = n * 10 + static_cast<uint64_t>(ch - '0');
    }
    if (n < kUrgencyLevels) p.urgency = static_cast<uint8_t>(n);
  } else if (key == "i") {
    if (!value || *value == "?1")
      p.incremental = true;
    else if (*value == "?0")
      p.incremental = false;
  }
}

}  // namespace

Priority parse_priority_field(std::string_view value, Priority base) noexcept {
  Priority p = base;
  Cursor c{value};
  c.skip_sp();
  while (!c.done()) {
    auto key = parse_key(c);
    if (!key) return base;
    std::optional<std::string_view> item;
    if (!c.done() && c.peek() == '=') {
      ++c.i;
      if (!c.done() && c.peek() == '(') return base;  // inner lists: not valid for u/i anyway
      std::string_view text;
      if (!skip_bare_item(c, text)) return base;
      item = text;
    }
    if (!skip_params(c)) return base;
    apply_member(*key, item, p);
    c.skip_ows();
    if (c.done()) break;
    if (c.peek() != ',') return base;
    ++c.i;
    c.skip_ows();
    if (c.done()) return base;  // trailing comma
  }
  return p;
}

}  // namespace kakehi::http2
