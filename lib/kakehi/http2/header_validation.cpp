// Header list validation (RFC 9113 §8.2, §8.3, §8.5). Each rule returns a static reason.
#include "kakehi/http2/header_validation.hpp"

#include <string_view>

namespace kakehi::http2 {
namespace {

using std::string_view;

// §8.2.1: names hold no uppercase, no controls, no SP, no DEL or non-ASCII; ':' only first.
bool valid_name(string_view n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    auto c = static_cast<unsigned char>(n[i]);
    if (c <= 0x20 || (c >= 'A' && c <= 'Z') || c >= 0x7f) return false;
    if (c == ':' && i != 0) return false;
  }
  return true;
}

// §8.2.1: values hold no NUL, CR or LF and start and end with no SP or HTAB.
bool valid_value(string_view v) {
  for (char ch : v)
    if (ch == '\0' || ch == '\r' || ch == '\n') return false;
  if (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.back() == ' ' || v.back() == '\t'))
    return false;
  return true;
}

// §8.2.2: connection-specific fields are malformed; `te` only with "trailers".
const char* check_regular(string_view n, string_view v) {
  if (n == "connection" || n == "proxy-connection" || n == "keep-alive" ||
      n == "transfer-encoding" || n == "upgrade")
    return "connection-specific header field";
  if (n == "te" && v != "trailers") return "te other than trailers";
  return nullptr;
}

/// content-length: digits, possibly a list of identical values (RFC 9110 §8.6).
bool parse_content_length(string_view v, int64_t& out) {
  int64_t value = -1;
  while (!v.empty()) {
    size_t comma = v.find(',');
    string_view item = v.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.empty() || item.size() > 18) return false;
    int64_t n = 0;
    for (char ch : item) {
      if (ch < '0' || ch > '9') return false;
      n = n * 10 + (ch - '0');
    }
    if (value >= 0 && n != value) return false;
    value = n;
    if (comma == string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  if (value < 0) return false;
  out = value;
  return true;
}

struct Pseudo {
  string_view method, scheme, authority, path, protocol, status;
  bool has_method = false, has_scheme = false, has_authority = false, has_path = false,
       has_protocol = false, has_status = false;
};

/// Walks the list once: name/value syntax, pseudo-header order and duplicates, regular field
/// rules and content-length. `allowed` picks request or response pseudo-headers.
const char* scan(const FieldList& fields, bool request, Pseudo& p, MessageInfo& info,
                 string_view& host) {
  bool regular_seen = false;
  for (size_t i = 0; i < fields.size(); ++i) {
    auto f = fields[i];
    if (!valid_name(f.name)) return "invalid header field name";
    if (!valid_value(f.value)) return "invalid header field value";
    if (f.name[0] == ':') {
      if (regular_seen) return "pseudo-header after a regular field";
      auto take = [&](bool& has, string_view& slot) -> const char* {
        if (has) return "duplicate pseudo-header";
        has = true;
        slot = f.value;
        return nullptr;
      };
      const char* err = nullptr;
      if (request && f.name == ":method")
        err = take(p.has_method, p.method);
      else if (request && f.name == ":scheme")
        err = take(p.has_scheme, p.scheme);
      else if (request && f.name == ":authority")
        err = take(p.has_authority, p.authority);
      else if (request && f.name == ":path")
        err = take(p.has_path, p.path);
      else if (request && f.name == ":protocol")
        err = take(p.has_protocol, p.protocol);
      else if (!request && f.name == ":status")
        err = take(p.has_status, p.status);
      else
        return "unknown or misplaced pseudo-header";
      if (err) return err;
      continue;
    }
    regular_seen = true;
    if (const char* err = check_regular(f.name, f.value)) return err;
    if (f.name == "content-length") {
      int64_t n;
      if (!parse_content_length(f.value, n)) return "invalid content-length";
      if (info.content_length >= 0 && info.content_length != n) return "conflicting content-length";
      info.content_length = n;
    }
    if (f.name == "host") host = f.value;
  }
  return nullptr;
}

}  // namespace

Result<MessageInfo, const char*> validate_request(const FieldList& fields,
                                                  const ValidationOptions& opts) {
  Pseudo p;
  MessageInfo info;
  string_view host;
  if (const char* err = scan(fields, true, p, info, host)) return Unexpected(err);
  if (!p.has_method || p.method.empty()) return Unexpected("missing :method");
  info.is_connect = p.method == "CONNECT";
  info.is_head = p.method == "HEAD";
  if (p.has_protocol && (!opts.enable_connect_protocol || !info.is_connect))
    return Unexpected(":protocol without extended CONNECT");
  if (info.is_connect && !p.has_protocol) {
    // §8.5: CONNECT carries :authority only.
    if (p.has_scheme || p.has_path) return Unexpected("CONNECT with :scheme or :path");
    if (!p.has_authority || p.authority.empty()) return Unexpected("CONNECT without :authority");
  } else {
    if (!p.has_scheme || p.scheme.empty()) return Unexpected("missing :scheme");
    if (!p.has_path || p.path.empty()) return Unexpected("missing or empty :path");
    bool http = p.scheme == "http" || p.scheme == "https";
    if (http && p.path[0] != '/' && !(p.path == "*" && p.method == "OPTIONS"))
      return Unexpected(":path not origin-form");
  }
  // §8.3.1: a Host that differs from :authority makes the request malformed (SHOULD).
  if (p.has_authority && !host.empty() && host != p.authority)
    return Unexpected("host differs from :authority");
  return info;
}

Result<MessageInfo, const char*> validate_response(const FieldList& fields) {
  Pseudo p;
  MessageInfo info;
  string_view host;
  if (const char* err = scan(fields, false, p, info, host)) return Unexpected(err);
  if (!p.has_status) return Unexpected("missing :status");
  if (p.status.size() != 3) return Unexpected("invalid :status");
  int s = 0;
  for (char ch : p.status) {
    if (ch < '0' || ch > '9') return Unexpected("invalid :status");
    s = s * 10 + (ch - '0');
  }
  if (s < 100) return Unexpected("invalid :status");
  info.status = s;
  return info;
}

Result<void, const char*> validate_trailers(const FieldList& fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    auto f = fields[i];
    if (!valid_name(f.name)) return Unexpected("invalid header field name");
    if (!valid_value(f.value)) return Unexpected("invalid header field value");
    if (f.name[0] == ':') return Unexpected("pseudo-header in trailers");
    if (const char* err = check_regular(f.name, f.value)) return Unexpected(err);
  }
  return {};
}

}  // namespace kakehi::http2
