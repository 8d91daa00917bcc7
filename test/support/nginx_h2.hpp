// nginx as an HTTP/2 test backend in front of an HTTP/1.1 origin: a child process with a
// generated configuration that proxies every request to the origin, streaming both bodies;
// cleartext h2c or TLS (ALPN h2, or no h2 at all). The backend side of the integration
// protocol matrix (KAKEHI_TEST_BACKEND=h2) puts one in front of each HttpOrigin so the proxy's
// clusters speak HTTP/2 to a real h2 server; h2_backend_test runs its own with options.
// Every response carries `X-H2-Conn` (nginx's $connection: which connection a request came
// on); `/nginx_status` is nginx's stub_status; under `/limited/` a request body over 1 KiB is
// answered 413 before it ends. Test-only code: failures throw.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

namespace kakehi::test {

class Child;

struct NginxOptions {
  /// Both set: TLS with this certificate chain and key (PEM files the caller keeps).
  std::string tls_cert;
  std::string tls_key;
  bool http2 = true;                    // false: HTTP/1.1 only (over TLS: ALPN never "h2")
  uint32_t max_concurrent_streams = 0;  // 0: nginx's default (128)
  // Requests per connection before nginx sends GOAWAY; not nginx's default (1000): an upload
  // over 64 KiB racing a GOAWAY cannot be replayed once a body byte went out, a known limit
  // (h2_backend_test tests GOAWAYs with small values). The other suites are about the rest.
  uint32_t keepalive_requests = 1000000;
};

class Nginx {
 public:
  /// Starts nginx on a free loopback port in front of `origin` ("127.0.0.1:<port>") and waits
  /// until it accepts connections.
  explicit Nginx(std::string origin, NginxOptions options = {});
  /// Kills nginx by PID and removes its temp dir.
  ~Nginx();
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;

  [[nodiscard]] uint16_t port() const noexcept { return port_; }
  /// "127.0.0.1:<port>"
  [[nodiscard]] std::string address() const;
  /// The current run's error log.
  [[nodiscard]] std::string error_log() const;
  /// Kills nginx now (SIGKILL by PID): its connections end without a GOAWAY. Its files stay
  /// until restart() or the destructor.
  void kill();
  /// Starts it again on the same port (a fresh temp dir and watchdog) and waits until it
  /// accepts connections.
  void restart();
  /// nginx's "Active connections" from /nginx_status (the query's own connection counts),
  /// -1 on failure.
  [[nodiscard]] int active_connections() const;

 private:
  void start();
  void stop();

  std::string origin_;
  NginxOptions options_;
  std::string dir_;
  uint16_t port_ = 0;
  pid_t nginx_pid_ = -1;
  std::unique_ptr<Child> watchdog_;
};

/// The address of the h2c nginx (default options) in front of the origin at `origin_address`,
/// started on first use and kept until the test process exits (a later origin on the same
/// port is fronted just as well: nginx forwards to the address, not to an object).
/// Thread-safe.
[[nodiscard]] std::string h2_front(const std::string& origin_address);

}  // namespace kakehi::test
