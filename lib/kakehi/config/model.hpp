// The typed configuration model (ARCHITECTURE §3 layer 5): listeners, clusters, HTTP and TCP
// frontends, backends and certificates, and the `State` that holds them under their keys.
// Plain values with defaulted equality so two states compare field by field. Pure: no I/O,
// no sockets, no clocks. Referential rules are enforced by `apply` (request.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kakehi::config {

/// Synthesized-answer templates: HTTP status -> full body text sent for that status.
using Answers = std::map<uint16_t, std::string>;

enum class ListenerKind : uint8_t { Http, Https, Tcp };

struct Timeouts {
  uint32_t front_idle_ms = 60'000;        ///< idle keep-alive client connection
  uint32_t request_head_ms = 10'000;      ///< until a full request head is received (408)
  uint32_t connect_ms = 3'000;            ///< backend connect (then retry / 503)
  uint32_t backend_response_ms = 30'000;  ///< backend response head (504)
  bool operator==(const Timeouts&) const = default;
};

struct Limits {
  uint32_t max_header_bytes = 16 * 1024;  ///< 431 above
  uint32_t max_header_count = 100;        ///< 431 above
  uint64_t max_body_bytes = 0;            ///< 413 above; 0 = unlimited
  uint32_t max_connections = 10'000;      ///< accepted connections per worker; 0 = unlimited
  bool operator==(const Limits&) const = default;
};

/// TLS settings of an HTTPS listener (kept, unused, for other kinds). Names are validated by
/// the TLS layer when the listener's context is built (an unknown suite or group rejects the
/// diff that set it).
struct ListenerTls {
  std::string min_version = "1.2";  ///< "1.2" or "1.3"
  std::string max_version = "1.3";
  std::string cipher_list;          ///< wolfSSL suite names, ':'-separated; empty = safe default
  std::vector<std::string> groups;  ///< "x25519", "p256", "p384"; empty = all three
  /// Protocols offered by ALPN, the server's preference first: "h2" and/or "http/1.1" ("h2"
  /// is not offered while the listener's http2.enabled is false).
  std::vector<std::string> alpn = {"h2", "http/1.1"};
  std::optional<std::string> default_certificate;  ///< a certificate id; nullopt: first added
  bool reject_unknown_sni = false;  ///< false: an unknown name gets the default certificate
  bool session_tickets = true;
  uint32_t handshake_timeout_ms = 10'000;
  bool operator==(const ListenerTls&) const = default;
};

/// HTTP/2 towards the clients of an HTTP or HTTPS listener: cleartext with prior knowledge
/// (the connection preface is detected on an HTTP listener, beside HTTP/1.1) and "h2" by ALPN
/// on an HTTPS listener. The flood limits end a connection with GOAWAY(ENHANCE_YOUR_CALM).
struct Http2Settings {
  bool enabled = true;
  uint32_t max_concurrent_streams = 128;  ///< more are refused (REFUSED_STREAM)
  /// Receive window per stream: request body bytes held per stream at most (the window opens
  /// only as the backend takes them).
  uint32_t initial_window_size = 256 * 1024;
  uint32_t connection_window = 4 * 1024 * 1024;  ///< receive window of the whole connection
  uint32_t max_frame_size = 16384;               ///< SETTINGS_MAX_FRAME_SIZE we accept
  /// Response body bytes queued per stream before reading from its backend pauses.
  uint32_t stream_buffer_bytes = 128 * 1024;
  uint32_t max_header_list_size = 64 * 1024;
  /// Flood limits, per second unless named otherwise.
  uint32_t max_resets_per_second = 200;
  uint32_t max_pings_per_second = 100;
  uint32_t max_settings_per_second = 100;
  uint32_t max_window_updates_per_second = 2000;
  uint32_t max_empty_data_per_second = 100;
  uint32_t max_stream_errors_per_second = 200;
  uint32_t max_continuations_per_block = 64;
  uint32_t max_header_block_bytes = 256 * 1024;
  uint32_t max_queued_control_frames = 1000;
  bool operator==(const Http2Settings&) const = default;
};

/// Keyed by `address` ("ip:port", IPv4 or bracketed IPv6).
struct Listener {
  std::string address;
  ListenerKind kind = ListenerKind::Http;
  Timeouts timeouts;
  Limits limits;
  Answers answers;  ///< per-listener templates (a cluster's own template wins)
  bool active = true;
  ListenerTls tls;      ///< HTTPS only
  Http2Settings http2;  ///< HTTP and HTTPS
  /// Every connection starts with a PROXY protocol header (v1 or v2, required): the client
  /// addresses it carries replace the socket's (docs/proxy_protocol.md). For listeners behind a
  /// load balancer that sends one; anyone who can reach such a listener can claim any address.
  bool accept_proxy_protocol = false;
  bool operator==(const Listener&) const = default;
};

enum class LbAlgorithm : uint8_t { RoundRobin, Random, LeastConnections, PowerOfTwo };

/// TLS towards a cluster's backends.
struct BackendTls {
  bool enabled = false;
  bool verify = true;             ///< check the backend's chain (and server_name, when set)
  std::string ca_pem;             ///< trust anchors; empty: the system bundle
  std::string server_name;        ///< SNI sent and name verified; empty: none sent
  std::vector<std::string> alpn;  ///< offered; empty: no ALPN
  bool operator==(const BackendTls&) const = default;
};

/// How a cluster talks to its backends: HTTP/1.1 keep-alive connections (one request at a
/// time each) or HTTP/2 (cleartext h2c, or over TLS with ALPN "h2" when backend_tls is
/// enabled), many streams multiplexed on few connections.
enum class BackendProtocol : uint8_t { Http1, Http2 };

/// The PROXY protocol header a cluster's backend connections start with (none, v1 text or v2
/// binary). A connection that carries one client's addresses serves that client only: it is
/// never pooled for another.
enum class ProxyProtocolVersion : uint8_t { None, V1, V2 };

/// Keyed by `id`.
struct Cluster {
  std::string id;
  LbAlgorithm lb = LbAlgorithm::RoundRobin;
  Answers answers;
  bool sticky_session = false;
  bool https_redirect = false;
  uint32_t max_connections_per_backend = 0;  ///< 0 = unlimited
  BackendTls backend_tls;
  BackendProtocol backend_protocol = BackendProtocol::Http1;
  ProxyProtocolVersion send_proxy_protocol = ProxyProtocolVersion::None;
  bool operator==(const Cluster&) const = default;
};

enum class PathKind : uint8_t { Prefix, Exact, Regex };

struct PathRule {
  PathKind kind = PathKind::Prefix;
  std::string value = "/";  ///< Prefix/Exact: starts with '/'; Regex: anchored "^...$"
  bool operator==(const PathRule&) const = default;
};

/// Where a frontend sits in the router: `Pre` rules are tried (in id order) before the
/// host tree, `Post` rules after it, `Tree` rules form the host/path tree (router.hpp).
enum class Position : uint8_t { Pre, Tree, Post };

/// Keyed by `id`.
struct HttpFrontend {
  std::string id;
  std::string listener;  ///< a Listener address (HTTP or HTTPS)
  std::string cluster;   ///< a Cluster id
  /// "example.com" (exact), "*.example.com" (exactly one extra label), "~^regex$" (anchored).
  std::string hostname;
  PathRule path;
  std::optional<std::string> method;  ///< nullopt: any method
  Position position = Position::Tree;
  std::map<std::string, std::string> tags;
  bool operator==(const HttpFrontend&) const = default;
};

/// Keyed by `listener` (one TCP frontend per TCP listener).
struct TcpFrontend {
  std::string listener;
  std::string cluster;
  std::map<std::string, std::string> tags;
  bool operator==(const TcpFrontend&) const = default;
};

/// Keyed by (`cluster`, `id`).
struct Backend {
  std::string cluster;
  std::string id;
  std::string address;    ///< "ip:port"
  uint32_t weight = 100;  ///< 0..100; 0 = drained (no new requests)
  bool backup = false;    ///< used only when no primary backend is up
  std::optional<std::string> sticky_id;
  bool operator==(const Backend&) const = default;
};

/// Served by its HTTPS listener (decoded and validated when a diff adds or updates it). Keyed
/// by `id`.
struct Certificate {
  std::string id;
  std::string listener;  ///< an HTTPS listener address
  std::string certificate_chain_pem;
  std::string key_pem;
  std::vector<std::string> names;  ///< SNI names it serves
  bool operator==(const Certificate&) const = default;
};

using BackendKey = std::pair<std::string, std::string>;  ///< (cluster, backend id)

/// The whole configuration. Ordered maps make dumps and diffs deterministic.
struct State {
  std::map<std::string, Listener> listeners;
  std::map<std::string, Cluster> clusters;
  std::map<std::string, HttpFrontend> http_frontends;
  std::map<std::string, TcpFrontend> tcp_frontends;
  std::map<BackendKey, Backend> backends;
  std::map<std::string, Certificate> certificates;
  bool operator==(const State&) const = default;
};

// ---- Field validation (pure; used by apply and by the router) ----

/// "a.b.c.d:port" or "[ipv6]:port", port 1..65535 (0 allowed only when `allow_port_zero`).
[[nodiscard]] bool valid_socket_address(std::string_view s, bool allow_port_zero = false) noexcept;
[[nodiscard]] bool valid_ipv4(std::string_view s) noexcept;
[[nodiscard]] bool valid_ipv6(std::string_view s) noexcept;

enum class HostKind : uint8_t { Exact, Wildcard, Regex };
/// Classifies a frontend hostname; returns nullopt with `why` set when it is invalid.
/// Exact and wildcard hostnames must be lowercase DNS names (labels [a-z0-9-_], 1..63 bytes).
[[nodiscard]] std::optional<HostKind> classify_hostname(std::string_view h, std::string* why);
/// Checks a path rule; returns an empty string when valid, the reason otherwise.
[[nodiscard]] std::string check_path_rule(const PathRule& p);
/// An HTTP method token (RFC 9110 §9.1: tchar+).
[[nodiscard]] bool valid_method(std::string_view m) noexcept;

[[nodiscard]] std::string_view to_string(ListenerKind k) noexcept;
[[nodiscard]] std::string_view to_string(LbAlgorithm a) noexcept;
[[nodiscard]] std::string_view to_string(PathKind k) noexcept;
[[nodiscard]] std::string_view to_string(Position p) noexcept;
[[nodiscard]] std::string_view to_string(BackendProtocol p) noexcept;
[[nodiscard]] std::string_view to_string(ProxyProtocolVersion v) noexcept;
[[nodiscard]] std::optional<ListenerKind> listener_kind_from(std::string_view s) noexcept;
[[nodiscard]] std::optional<LbAlgorithm> lb_algorithm_from(std::string_view s) noexcept;
[[nodiscard]] std::optional<PathKind> path_kind_from(std::string_view s) noexcept;
[[nodiscard]] std::optional<Position> position_from(std::string_view s) noexcept;
[[nodiscard]] std::optional<BackendProtocol> backend_protocol_from(std::string_view s) noexcept;
[[nodiscard]] std::optional<ProxyProtocolVersion> proxy_protocol_version_from(
    std::string_view s) noexcept;

}  // namespace kakehi::config
