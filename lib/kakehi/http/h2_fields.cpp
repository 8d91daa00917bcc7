// h1-model ↔ HTTP/2 field list conversions (see h2_fields.hpp; RFC 9113 §8.2–8.3).
#include "kakehi/http/h2_fields.hpp"

#include <array>
#include <cstring>

namespace kakehi::http {

namespace {

// Field names that HTTP/1.1 peers usually send capitalised, in lowercase: converting one of
// them needs neither the arena nor a copy.
// clang-format off
constexpr std::string_view kCommonNames[] = {
    "age", "date", "etag", "link", "vary", "accept", "cookie", "expect", "origin", "pragma",
    "server", "expires", "referer", "location", "set-cookie", "user-agent", "content-type",
    "x-powered-by", "accept-ranges", "authorization", "cache-control", "last-modified",
    "content-length", "accept-encoding", "accept-language", "content-encoding",
    "x-frame-options", "content-disposition", "x-content-type-options",
    "content-security-policy", "strict-transport-security", "access-control-allow-origin"};
// clang-format on

std::string_view lowercase(std::string_view name, StringArena& arena) {
  if (is_lower(name)) return name;
  for (std::string_view common : kCommonNames)
    if (common.size() == name.size() && iequals(common, name)) return common;
  char* p = arena.allocate(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    p[i] = (c >= 'A' && c <= 'Z') ? char(c + 32) : c;
  }
  return {p, name.size()};
}

/// RFC 9113 §8.2.3: a Cookie field may be split into one field per cookie-pair.
void add_split_cookies(std::string_view value, std::vector<Field>& out) {
  while (!value.empty()) {
    size_t semi = value.find(';');
    std::string_view part = trim_ows(value.substr(0, semi));
    if (!part.empty()) out.push_back({"cookie", part});
    if (semi == std::string_view::npos) break;
    value.remove_prefix(semi + 1);
  }
}

void add_regular_fields(const FieldList& fields, StringArena& arena, std::vector<Field>& out) {
  const ConnectionOptions options(fields);
  for (const Field& f : fields) {
    if (iequals(f.name, "te")) {
      if (list_contains(f.value, "trailers")) out.push_back({"te", "trailers"});
      continue;
    }
    if (is_hop_by_hop(f.name) || iequals(f.name, "host")) continue;
    if (options.lists(f.name)) continue;
    if (iequals(f.name, "cookie")) {
      add_split_cookies(f.value, out);
      continue;
    }
    out.push_back({lowercase(f.name, arena), f.value});
  }
}

bool is_connection_specific(std::string_view name) noexcept {
  return name != "te" && is_hop_by_hop(name);
}

/// Common checks and copying of regular fields; joins cookies. Returns the content-length seen.
Result<void, H2FieldError> take_regular(const Field& f, FieldList& out, StringArena& arena,
                                        std::string_view& host, size_t& cookie_at) {
  if (!is_lower(f.name)) return Unexpected(H2FieldError::UppercaseName);
  if (is_connection_specific(f.name)) return Unexpected(H2FieldError::ConnectionSpecific);
  if (f.name == "te" && f.value != "trailers") return Unexpected(H2FieldError::TeNotTrailers);
  if (f.name == "host") {
    host = f.value;
    return {};
  }
  if (f.name == "cookie") {
    if (cookie_at == SIZE_MAX) {
      cookie_at = out.size();
      out.add(f.name, f.value);
    } else {
      out[cookie_at].value = arena.concat({out[cookie_at].value, "; ", f.value});
    }
    return {};
  }
  out.add(f.name, f.value);
  return {};
}

Result<void, H2FieldError> framing_from(const FieldList& fields, bool end_stream, Framing& fr) {
  uint64_t len = 0;
  bool have = false;
  for (const Field& f : fields) {
    if (f.name != "content-length") continue;
    uint64_t v = 0;
    if (!parse_content_length(f.value, v) || (have && v != len))
      return Unexpected(H2FieldError::BadContentLength);
    len = v;
    have = true;
  }
  if (end_stream)
    fr = {BodyKind::None, 0};
  else if (have)
    fr = {BodyKind::ContentLength, len};
  else
    fr = {BodyKind::Close, 0};
  return {};
}

Result<void, H2FieldError> set_pseudo(std::string_view& slot, std::string_view v) {
  if (slot.data() != nullptr) return Unexpected(H2FieldError::DuplicatePseudo);
  slot = v.data() ? v : std::string_view("", 0);
  return {};
}

}  // namespace

const char* reason(H2FieldError e) noexcept {
  switch (e) {
    case H2FieldError::UppercaseName:
      return "upper-case field name";
    case H2FieldError::UnknownPseudo:
      return "unknown pseudo-header field";
    case H2FieldError::PseudoAfterRegular:
      return "pseudo-header field after a regular field";
    case H2FieldError::DuplicatePseudo:
      return "duplicate pseudo-header field";
    case H2FieldError::MissingPseudo:
      return "missing mandatory pseudo-header field";
    case H2FieldError::ConnectionSpecific:
      return "connection-specific header field";
    case H2FieldError::TeNotTrailers:
      return "te other than \"trailers\"";
    case H2FieldError::HostMismatch:
      return "host disagrees with :authority";
    case H2FieldError::BadStatus:
      return "invalid :status";
    case H2FieldError::BadContentLength:
      return "invalid content-length";
    case H2FieldError::PseudoInResponse:
      return "pseudo-header field not allowed here";
  }
  return "invalid field list";
}

bool parse_content_length(std::string_view v, uint64_t& out) noexcept {
  if (v.empty() || v.size() > 19) return false;  // 19 digits always fit in uint64_t
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + uint64_t(c - '0');
  }
  out = n;
  return true;
}

void to_h2_fields(const Request& req, StringArena& arena, std::vector<Field>& out) {
  out.push_back({":method", req.method});
  bool connect = req.method == "CONNECT";
  if (!connect) out.push_back({":scheme", req.scheme});
  if (!req.authority.empty()) out.push_back({":authority", req.authority});
  if (!connect) out.push_back({":path", req.path});
  add_regular_fields(req.fields, arena, out);
}

// "000" to "999", three characters each: a status code's text without formatting it (a
// status has three digits, RFC 9110 §15).
constexpr auto kStatusText = [] {
  std::array<char, 1000 * 3> t{};
  for (size_t code = 0; code < 1000; ++code) {
    t[code * 3] = char('0' + code / 100);
    t[code * 3 + 1] = char('0' + code / 10 % 10);
    t[code * 3 + 2] = char('0' + code % 10);
  }
  return t;
}();

void to_h2_fields(const Response& res, StringArena& arena, std::vector<Field>& out) {
  out.push_back({":status", {kStatusText.data() + res.status % 1000 * 3, 3}});
  add_regular_fields(res.fields, arena, out);
}

Result<void, H2FieldError> from_h2_fields(std::span<const Field> in, bool end_stream,
                                          Request& out) {
  out.clear();
  out.version = 20;
  size_t i = 0;
  std::string_view method, scheme, authority, path;
  for (; i < in.size() && in[i].name.starts_with(':'); ++i) {
    std::string_view n = in[i].name, v = in[i].value;
    Result<void, H2FieldError> r;
    if (n == ":method")
      r = set_pseudo(method, v);
    else if (n == ":scheme")
      r = set_pseudo(scheme, v);
    else if (n == ":authority")
      r = set_pseudo(authority, v);
    else if (n == ":path")
      r = set_pseudo(path, v);
    else if (n == ":status")
      return Unexpected(H2FieldError::PseudoInResponse);
    else
      return Unexpected(H2FieldError::UnknownPseudo);
    if (!r) return r;
  }
  std::string_view host;
  size_t cookie_at = SIZE_MAX;
  for (; i < in.size(); ++i) {
    if (in[i].name.starts_with(':')) return Unexpected(H2FieldError::PseudoAfterRegular);
    auto r = take_regular(in[i], out.fields, out.storage, host, cookie_at);
    if (!r) return r;
  }
  bool connect = method == "CONNECT";
  if (method.empty() || (!connect && (scheme.empty() || path.empty())))
    return Unexpected(H2FieldError::MissingPseudo);
  if (host.data() && authority.data() && host != authority)
    return Unexpected(H2FieldError::HostMismatch);
  out.method = method;
  out.scheme = scheme;
  out.authority = authority.data() ? authority : host;
  out.path = path;
  return framing_from(out.fields, end_stream, out.framing);
}

Result<void, H2FieldError> from_h2_fields(std::span<const Field> in, bool end_stream,
                                          Response& out) {
  out.clear();
  out.version = 20;
  size_t i = 0;
  std::string_view status;
  for (; i < in.size() && in[i].name.starts_with(':'); ++i) {
    if (in[i].name != ":status") {
      bool request_pseudo = in[i].name == ":method" || in[i].name == ":scheme" ||
                            in[i].name == ":authority" || in[i].name == ":path";
      return Unexpected(request_pseudo ? H2FieldError::PseudoInResponse
                                       : H2FieldError::UnknownPseudo);
    }
    auto r = set_pseudo(status, in[i].value);
    if (!r) return r;
  }
  if (status.data() == nullptr) return Unexpected(H2FieldError::MissingPseudo);
  if (status.size() != 3 || status[0] < '1' || status[0] > '9' || status[1] < '0' ||
      status[1] > '9' || status[2] < '0' || status[2] > '9')
    return Unexpected(H2FieldError::BadStatus);
  out.status = uint16_t((status[0] - '0') * 100 + (status[1] - '0') * 10 + (status[2] - '0'));
  std::string_view host;
  size_t cookie_at = SIZE_MAX;
  for (; i < in.size(); ++i) {
    if (in[i].name.starts_with(':')) return Unexpected(H2FieldError::PseudoAfterRegular);
    auto r = take_regular(in[i], out.fields, out.storage, host, cookie_at);
    if (!r) return r;
    if (host.data()) {  // a response has no Host semantics: keep it as an ordinary field
      out.fields.add("host", host);
      host = {};
    }
  }
  return framing_from(out.fields, end_stream, out.framing);
}

}  // namespace kakehi::http
