// Field validation for the configuration model: socket addresses (RFC 3986 §3.2.2 textual forms,
// written here without inet_pton so the layer stays free of socket headers), DNS hostnames,
// wildcards, anchored regexes, path rules, method tokens, and the enum <-> string tables.
#include "kakehi/config/model.hpp"

#include <array>

#include "kakehi/config/regex.hpp"

namespace kakehi::config {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/// Decimal 0..max without sign or leading zeros (a lone "0" is fine).
bool parse_decimal(std::string_view s, uint32_t max, uint32_t* out) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > max) return false;
  if (out) *out = v;
  return true;
}

bool valid_label(std::string_view l) {
  if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') return false;
  for (char c : l)
    if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_')) return false;
  return true;
}

bool valid_dns_name(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  while (true) {
    auto dot = h.find('.');
    if (!valid_label(h.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    h.remove_prefix(dot + 1);
  }
}

}  // namespace

bool valid_ipv4(std::string_view s) noexcept {
  for (int i = 0; i < 4; ++i) {
    auto dot = s.find('.');
    if ((i < 3) != (dot != std::string_view::npos)) return false;
    if (!parse_decimal(s.substr(0, dot), 255, nullptr)) return false;
    if (i < 3) s.remove_prefix(dot + 1);
  }
  return true;
}

bool valid_ipv6(std::string_view s) noexcept {
  // Groups of 1..4 hex digits separated by ':', at most one "::", optional trailing IPv4.
  int groups = 0;
  bool compressed = false;
  if (s.starts_with("::")) {
    compressed = true;
    s.remove_prefix(2);
    if (s.empty()) return true;
  } else if (s.starts_with(":")) {
    return false;
  }
  while (!s.empty()) {
    auto colon = s.find(':');
    std::string_view g = s.substr(0, colon);
    if (colon == std::string_view::npos && g.find('.') != std::string_view::npos) {
      if (!valid_ipv4(g)) return false;
      groups += 2;
      break;
    }
    if (g.empty() || g.size() > 4) return false;
    for (char c : g)
      if (!is_hex(c)) return false;
    ++groups;
    if (colon == std::string_view::npos) break;
    s.remove_prefix(colon + 1);
    if (s.starts_with(":")) {
      if (compressed) return false;
      compressed = true;
      s.remove_prefix(1);
    } else if (s.empty()) {
      return false;  // trailing single ':'
    }
  }
  return compressed ? groups <= 7 : groups == 8;
}

bool valid_socket_address(std::string_view s, bool allow_port_zero) noexcept {
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view host = s.substr(0, colon);
  uint32_t port = 0;
  if (!parse_decimal(s.substr(colon + 1), 65535, &port)) return false;
  if (port == 0 && !allow_port_zero) return false;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    return valid_ipv6(host.substr(1, host.size() - 2));
  return valid_ipv4(host);
}

std::optional<HostKind> classify_hostname(std::string_view h, std::string* why) {
  auto reject = [&](std::string reason) -> std::optional<HostKind> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  if (h.starts_with("~")) {
    auto r = Regex::compile(h.substr(1));
    if (!r) return reject(r.error());
    return HostKind::Regex;
  }
  if (h.starts_with("*.")) {
    if (!valid_dns_name(h.substr(2)))
      return reject("wildcard must be \"*.\" followed by a lowercase DNS name");
    return HostKind::Wildcard;
  }
  if (!valid_dns_name(h)) return reject("not a lowercase DNS name (or *.name, or ~^regex$)");
  return HostKind::Exact;
}

std::string check_path_rule(const PathRule& p) {
  if (p.kind == PathKind::Regex) {
    auto r = Regex::compile(p.value);
    return r ? std::string() : r.error();
  }
  if (!p.value.starts_with("/")) return "path must start with '/'";
  for (char c : p.value)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '?' || c == '#')
      return "path contains a space, control character, '?' or '#'";
  return {};
}

bool valid_method(std::string_view m) noexcept {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  if (m.empty()) return false;
  for (char c : m) {
    bool ok = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              kSpecials.find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

namespace {
constexpr std::array<std::string_view, 3> kListenerKinds = {"http", "https", "tcp"};
constexpr std::array<std::string_view, 4> kLbNames = {"round_robin", "random", "least_connections",
                                                      "power_of_two"};
constexpr std::array<std::string_view, 3> kPathKinds = {"prefix", "exact", "regex"};
constexpr std::array<std::string_view, 3> kPositions = {"pre", "tree", "post"};
constexpr std::array<std::string_view, 2> kBackendProtocols = {"http1", "http2"};
constexpr std::array<std::string_view, 3> kProxyProtocolVersions = {"none", "v1", "v2"};

template <class E, std::size_t N>
std::optional<E> from_table(const std::array<std::string_view, N>& t, std::string_view s) {
  for (std::size_t i = 0; i < N; ++i)
    if (t[i] == s) return static_cast<E>(i);
  return std::nullopt;
}
}  // namespace

std::string_view to_string(ListenerKind k) noexcept { return kListenerKinds[static_cast<int>(k)]; }
std::string_view to_string(LbAlgorithm a) noexcept { return kLbNames[static_cast<int>(a)]; }
std::string_view to_string(PathKind k) noexcept { return kPathKinds[static_cast<int>(k)]; }
std::string_view to_string(Position p) noexcept { return kPositions[static_cast<int>(p)]; }
std::string_view to_string(BackendProtocol p) noexcept {
  return kBackendProtocols[static_cast<int>(p)];
}
std::string_view to_string(ProxyProtocolVersion v) noexcept {
  return kProxyProtocolVersions[static_cast<int>(v)];
}
std::optional<ListenerKind> listener_kind_from(std::string_view s) noexcept {
  return from_table<ListenerKind>(kListenerKinds, s);
}
std::optional<LbAlgorithm> lb_algorithm_from(std::string_view s) noexcept {
  return from_table<LbAlgorithm>(kLbNames, s);
}
std::optional<PathKind> path_kind_from(std::string_view s) noexcept {
  return from_table<PathKind>(kPathKinds, s);
}
std::optional<Position> position_from(std::string_view s) noexcept {
  return from_table<Position>(kPositions, s);
}
std::optional<BackendProtocol> backend_protocol_from(std::string_view s) noexcept {
  return from_table<BackendProtocol>(kBackendProtocols, s);
}
std::optional<ProxyProtocolVersion> proxy_protocol_version_from(std::string_view s) noexcept {
  return from_table<ProxyProtocolVersion>(kProxyProtocolVersions, s);
}

}  // namespace kakehi::config
