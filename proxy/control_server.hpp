// The control socket: a Unix stream socket served by one thread (blocking I/O off the workers)
// with poll over the listening socket, a wake pipe and up to kMaxClients connections. Each
// complete line goes through handle_control_line; answers are written back, one per line.
// A line longer than kMaxControlLine gets an error answer and its connection is closed.
#pragma once

#include <string>
#include <thread>

#include "proxy/control_protocol.hpp"

namespace kakehi::edge {

class ControlServer {
 public:
  static constexpr size_t kMaxClients = 64;

  /// Binds and listens on `path` (a stale socket file there is replaced; any other file is an
  /// error) and starts the thread. Throws std::runtime_error naming the cause.
  ControlServer(std::string path, ApplyFn apply);
  /// Stops the thread, closes every connection and removes the socket file.
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::string& path() const noexcept { return path_; }

 private:
  void run();

  std::string path_;
  ApplyFn apply_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::thread thread_;
};

/// `kakehi ctl`: connects to `socket_path`, sends `payload` (one or more request lines), reads
/// every answer line until the server closes (bounded by `timeout_ms`) and prints them on stdout.
/// Returns 0 when every answer is ok, 1 when one is an error, 2 when the exchange failed.
int run_ctl(const std::string& socket_path, std::string payload, int timeout_ms = 30'000);

}  // namespace kakehi::edge
