// Proxy-side checks of HTTP/1.1 heads (see head_checks.hpp).
#include "kakehi/http1/detail/head_checks.hpp"

#include <array>
#include <cstring>

#include "kakehi/http/field.hpp"

namespace kakehi::http1::detail {

namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// The version at the end of a request line, or at the start of a status line: "HTTP/d.d" with
/// d.d other than 1.0/1.1 → UnsupportedVersion (505). Other shapes are left to Beast.
Outcome check_version(std::string_view line, bool request) noexcept {
  // Request: the last 9 bytes are SP "HTTP/d.d"; response: the first 8 are "HTTP/d.d".
  if (line.size() < (request ? 10u : 8u) || (request && line[line.size() - 9] != ' '))
    return request ? Outcome::BadRequestLine : Outcome::BadStatusLine;
  const char* v = request ? line.data() + line.size() - 8 : line.data();
  if (std::memcmp(v, "HTTP/", 5) != 0 || !is_digit(v[5]) || v[6] != '.' || !is_digit(v[7]))
    return request ? Outcome::BadRequestLine : Outcome::BadStatusLine;
  if (v[5] == '1' && (v[7] == '0' || v[7] == '1')) return Outcome::Ok;
  return request ? Outcome::UnsupportedVersion : Outcome::BadStatusLine;
}

Outcome too_long(const HeadScanner& s, size_t have, const Limits& limits, bool request) {
  if (!s.first_line_done && have > limits.max_request_line)
    return request ? Outcome::UriTooLong : Outcome::BadStatusLine;
  if (have >= limits.max_header_bytes) return Outcome::HeaderTooLarge;
  return Outcome::Ok;
}

}  // namespace

ScanResult scan_head(HeadScanner& s, std::string_view in, const Limits& limits, bool request) {
  const char* base = in.data();
  size_t end = in.size() < limits.max_header_bytes ? in.size() : limits.max_header_bytes;
  size_t pos = s.scanned;
  while (pos < end) {
    const void* hit = std::memchr(base + pos, '\n', end - pos);
    if (!hit) break;
    size_t lf = static_cast<size_t>(static_cast<const char*>(hit) - base);
    if (lf == 0 || base[lf - 1] != '\r') return {0, Outcome::BareLineFeed};
    size_t len = lf - 1 - s.line_start;  // line length without CRLF
    std::string_view line(base + s.line_start, len);
    if (!s.first_line_done) {
      if (lf + 1 > limits.max_request_line)
        return {0, request ? Outcome::UriTooLong : Outcome::BadStatusLine};
      Outcome v = check_version(line, request);
      if (v != Outcome::Ok) return {0, v};
      s.first_line_done = true;
    } else if (len == 0) {
      return {static_cast<uint32_t>(lf + 1), Outcome::Ok};
    } else if (line[0] == ' ' || line[0] == '\t') {
      return {0, Outcome::ObsFold};
    } else if (++s.fields > limits.max_header_count) {
      return {0, Outcome::TooManyHeaders};
    }
    s.line_start = static_cast<uint32_t>(lf + 1);
    pos = lf + 1;
  }
  // No complete head yet; the CR before a later LF is looked up from the LF, so resume at end.
  s.scanned = static_cast<uint32_t>(end);
  return {0, too_long(s, in.size(), limits, request)};
}

Outcome check_transfer_encoding(std::string_view value) noexcept {
  http::ListIterator it(value);
  bool last_chunked = false, other = false, any = false;
  for (std::string_view e; it.next(e);) {
    if (e.empty()) return Outcome::BadTransferEncoding;
    if (last_chunked) return Outcome::BadTransferEncoding;  // chunked applied before another
    any = true;
    if (http::iequals(e, "chunked"))
      last_chunked = true;
    else
      other = true;
  }
  if (!any || !last_chunked) return Outcome::BadTransferEncoding;
  return other ? Outcome::UnknownTransferCoding : Outcome::Ok;
}

bool valid_host(std::string_view host) noexcept {
  // ALPHA DIGIT and - . _ ~ ! $ & ' ( ) * + , ; = % : [ ] (RFC 3986 reg-name, IP-literal, port)
  static constexpr auto kTable = [] {
    std::array<bool, 256> t{};
    for (int c = 'a'; c <= 'z'; ++c) t[c] = t[c - 32] = true;
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    for (char c : std::string_view("-._~!$&'()*+,;=%:[]")) t[static_cast<unsigned char>(c)] = true;
    return t;
  }();
  for (char c : host)
    if (!kTable[static_cast<unsigned char>(c)]) return false;
  return true;
}

Outcome parse_target(std::string_view method, std::string_view target, http::StringArena& arena,
                     Target& out) noexcept {
  if (!ascii_target(target)) return Outcome::BadTarget;
  out = {};
  if (target[0] == '/') {
    out.path = target;
    return Outcome::Ok;
  }
  if (target == "*") {
    if (method != "OPTIONS") return Outcome::BadTarget;
    out.path = target;
    return Outcome::Ok;
  }
  size_t colon = target.find("://");
  if (colon == std::string_view::npos) return Outcome::BadTarget;
  out.scheme = target.substr(0, colon);
  if (!http::iequals(out.scheme, "http") && !http::iequals(out.scheme, "https"))
    return Outcome::BadTarget;
  std::string_view rest = target.substr(colon + 3);
  size_t slash = rest.find_first_of("/?#");
  out.authority = rest.substr(0, slash);
  if (out.authority.empty() || out.authority.find('@') != std::string_view::npos ||
      !valid_host(out.authority))
    return Outcome::BadTarget;
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (path.empty() || path[0] != '/')
    out.path = arena.concat({"/", path});  // RFC 9112 §3.2.1: an empty path is sent as "/"
  else
    out.path = path;
  return Outcome::Ok;
}

bool only_ows(std::string_view between) noexcept {
  for (char c : between)
    if (c != ' ' && c != '\t') return false;
  return true;
}

}  // namespace kakehi::http1::detail
