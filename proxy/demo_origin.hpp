// The demo origin the binary starts when it runs without a configuration file: a small
// HTTP/1.1 server (Boost.Beast over Asio, keep-alive) on its own thread, answering every request
// with a short text page that says it came through kakehi and echoes the request it received.
// Not part of the proxy's data path; never used with -c.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace kakehi::edge {

class DemoOrigin {
 public:
  /// Binds 127.0.0.1:`port` (0: any free port) and starts serving; throws std::runtime_error
  /// naming the cause.
  /// `proxy_address` is mentioned in the page ("came through kakehi on ...").
  DemoOrigin(uint16_t port, std::string proxy_address);
  /// Stops the server and joins its thread.
  ~DemoOrigin();
  DemoOrigin(const DemoOrigin&) = delete;
  /// The bound port.
  [[nodiscard]] uint16_t port() const noexcept;
  DemoOrigin& operator=(const DemoOrigin&) = delete;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kakehi::edge
