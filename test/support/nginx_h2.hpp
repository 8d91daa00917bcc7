// An HTTP/2 (cleartext h2c) front for an HTTP/1.1 origin: nginx run as a child process with a
// generated configuration that proxies every request to the origin, streaming both bodies.
// The backend side of the integration protocol matrix (KAKEHI_TEST_BACKEND=h2) puts one in
// front of each HttpOrigin so the proxy's clusters speak HTTP/2 to a real h2 server.
// Test-only code: failures throw.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

namespace kakehi::test {

class Child;

class NginxH2 {
 public:
  /// Starts nginx on a free loopback port in front of `origin` ("127.0.0.1:<port>") and waits
  /// until it accepts connections.
  explicit NginxH2(std::string origin);
  /// Kills nginx by PID and removes its temp dir.
  ~NginxH2();
  NginxH2(const NginxH2&) = delete;
  NginxH2& operator=(const NginxH2&) = delete;

  [[nodiscard]] uint16_t port() const noexcept { return port_; }
  /// "127.0.0.1:<port>"
  [[nodiscard]] std::string address() const;
  [[nodiscard]] std::string error_log() const;

 private:
  void stop();

  std::string origin_;
  std::string dir_;
  uint16_t port_ = 0;
  pid_t nginx_pid_ = -1;
  std::unique_ptr<Child> watchdog_;
};

/// The address of the h2c nginx in front of the origin at `origin_address`, started on first
/// use and kept until the test process exits (a later origin on the same port is fronted just
/// as well: nginx forwards to the address, not to an object). Thread-safe.
[[nodiscard]] std::string h2_front(const std::string& origin_address);

}  // namespace kakehi::test
