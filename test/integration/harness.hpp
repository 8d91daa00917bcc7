// Integration-test harness: child processes (curl, wrk) run with pipes, bounded in time and
// stopped by PID; a raw-socket HTTP client with deadlines (responses parsed by Beast, not by
// kakehi); free loopback ports; builders for config::Request diffs. Test-only code.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kakehi/config/request.hpp"

namespace kakehi::test {

class HttpOrigin;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---- Ports ----

/// A loopback TCP port that was free a moment ago (bind port 0, read it, close).
[[nodiscard]] uint16_t free_port();
/// "127.0.0.1:<port>"
[[nodiscard]] std::string local(uint16_t port);
/// Whether connect() to 127.0.0.1:port is refused (nothing listening).
[[nodiscard]] bool connect_refused(uint16_t port);

// ---- Child processes ----

struct ProcResult {
  int exit_code = -1;  ///< exit status, or 128 + signal
  bool timed_out = false;
  std::string out;
  std::string err;
};

/// A child process with pipes for stdin (optional), stdout and stderr. The destructor kills it
/// (SIGKILL, by PID) if it still runs and reaps it.
class Child {
 public:
  Child(const std::vector<std::string>& argv, bool pipe_stdin);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] int stdin_fd() const noexcept { return in_; }
  [[nodiscard]] int stdout_fd() const noexcept { return out_; }
  void close_stdin();
  /// Reads stdout and stderr until both end or `deadline`; then waits for the exit (killing
  /// the child at the deadline). `out`/`err` get what was read.
  ProcResult finish(Clock::time_point deadline);
  /// Kills (SIGKILL) and reaps now.
  void kill();
  /// Appends whatever stderr holds without blocking.
  void drain_stderr(std::string& err);

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
};

/// Runs argv to completion (killed at `timeout`), feeding `input` on stdin when non-empty.
ProcResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
               std::string_view input = {});

// ---- HTTP via curl ----

struct HttpResponse {
  int status = 0;                                   ///< 0 when curl failed
  std::multimap<std::string, std::string> headers;  ///< names lowercased
  std::string body;
  int curl_exit = -1;
  std::string curl_err;
  /// First value of header `name` (lowercase) or "".
  [[nodiscard]] std::string header(const std::string& name) const;
  [[nodiscard]] size_t header_count(const std::string& name) const;
};

/// Runs `curl -sS -i --http1.1 --max-time <max_time_s> <args...>` and parses the last
/// response head and its body.
/// The client side of the protocol matrix: KAKEHI_TEST_CLIENT=h2 makes the curl helpers speak
/// HTTP/2 (prior knowledge on http:// URLs, ALPN "h2" on https:// ones) instead of HTTP/1.1.
[[nodiscard]] bool client_h2();
/// The backend side of the matrix: KAKEHI_TEST_BACKEND=h2 makes the clusters built by `cluster()`
/// speak HTTP/2 (h2c) to their backends, and `backend()` given an HttpOrigin points at an nginx
/// h2 front for it (support/nginx_h2.hpp) instead of the origin itself.
[[nodiscard]] bool backend_h2();
/// curl's protocol option for the matrix ("--http1.1" or "--http2-prior-knowledge").
[[nodiscard]] std::string curl_protocol();
HttpResponse curl(const std::vector<std::string>& args, int max_time_s = 10);
/// GET http://127.0.0.1:<port><path> with an optional Host header.
HttpResponse curl_get(uint16_t port, const std::string& path, const std::string& host = {},
                      std::vector<std::string> extra = {});

/// A body streamed through curl's stdout and hashed as it arrives (memory stays bounded).
struct StreamResult {
  int curl_exit = -1;
  bool timed_out = false;
  uint64_t bytes = 0;
  uint64_t fnv = 0;
  std::string err;
};
/// GET `url` (extra curl args first) with `curl -sS --max-time`, body hashed with FNV-1a.
StreamResult curl_download(const std::string& url, const std::vector<std::string>& extra,
                           int max_time_s);
/// POSTs `size` pattern bytes produced on the fly to `url` through curl's
/// stdin; `chunked`: Transfer-Encoding chunked, else Content-Length. `out` gets curl's stdout.
ProcResult curl_upload(const std::string& url, const std::vector<std::string>& extra, uint64_t size,
                       bool chunked, int max_time_s);

// ---- Raw sockets ----

/// A blocking-free TCP client: every operation has a deadline.
class RawClient {
 public:
  explicit RawClient(uint16_t port, std::chrono::milliseconds connect_timeout = 3000ms);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  [[nodiscard]] bool connected() const noexcept { return fd_ >= 0; }
  [[nodiscard]] int fd() const noexcept { return fd_; }
  /// Sends everything; false on error or timeout.
  bool send_all(std::string_view data, std::chrono::milliseconds timeout = 5000ms);
  /// Reads what is available (waits up to `timeout` for at least one byte). Empty + eof() at
  /// end of stream.
  std::string recv_some(std::chrono::milliseconds timeout = 5000ms);
  /// Reads until the peer closes or `timeout`.
  std::string recv_until_close(std::chrono::milliseconds timeout = 5000ms);
  [[nodiscard]] bool eof() const noexcept { return eof_; }
  [[nodiscard]] bool timed_out() const noexcept { return timed_out_; }
  /// Half-closes the write side.
  void shutdown_write();

  struct Response {
    int status = 0;  ///< 0: no complete response before the deadline / close
    std::multimap<std::string, std::string> headers;
    std::string body;
    bool keep_alive = false;
  };
  /// Reads exactly one response (bytes beyond it are kept for the next call). `head_request`:
  /// the response to a HEAD has no body.
  Response read_response(std::chrono::milliseconds timeout = 10000ms, bool head_request = false);

 private:
  int fd_ = -1;
  bool eof_ = false;
  bool timed_out_ = false;
  std::string pending_;
};

// ---- wrk ----

struct WrkResult {
  ProcResult proc;
  uint64_t requests = 0;
  uint64_t non_2xx_3xx = 0;
  uint64_t socket_errors = 0;  ///< connect + read + write + timeout
  bool parsed = false;         ///< the "N requests in" line was found
};
/// Runs `wrk -t -c -d --timeout 5s [extra...] url` (killed 30 s after its duration).
WrkResult wrk(const std::string& url, int threads, int connections, int seconds,
              const std::vector<std::string>& extra = {});

// ---- Configuration ----

[[nodiscard]] config::Listener http_listener(const std::string& address);
[[nodiscard]] config::Listener tcp_listener(const std::string& address);
[[nodiscard]] config::Cluster cluster(const std::string& id,
                                      config::LbAlgorithm lb = config::LbAlgorithm::RoundRobin);
[[nodiscard]] config::HttpFrontend frontend(const std::string& id, const std::string& listener,
                                            const std::string& cluster_id,
                                            const std::string& hostname, config::PathRule path = {},
                                            std::optional<std::string> method = std::nullopt);
/// A backend at a raw address (a dead port, a TLS or TCP origin): used as given.
[[nodiscard]] config::Backend backend(const std::string& cluster_id, const std::string& id,
                                      const std::string& address, uint32_t weight = 100);
/// Where a cluster reaches the HTTP/1.1 server at `origin_address`: that address, or the address
/// of its h2 front when backend_h2().
[[nodiscard]] std::string backend_address(const std::string& origin_address);
/// A backend serving `origin`: the origin itself, or its h2 front when backend_h2().
[[nodiscard]] config::Backend backend(const std::string& cluster_id, const std::string& id,
                                      const HttpOrigin& origin, uint32_t weight = 100);

/// Builds a diff with generated request ids.
class Diff {
 public:
  Diff& operator()(config::RequestBody body);
  [[nodiscard]] std::vector<config::Request> take() { return std::move(reqs_); }

 private:
  std::vector<config::Request> reqs_;
};

/// "" when every answer is ok, otherwise the messages of the failed answers.
[[nodiscard]] std::string failures(const std::vector<config::Answer>& answers);

/// The value of a boolean-ish env knob or `fallback`.
[[nodiscard]] uint64_t env_u64(const char* name, uint64_t fallback);
/// True in builds with AddressSanitizer.
[[nodiscard]] constexpr bool sanitized() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#else
  return false;
#endif
}

}  // namespace kakehi::test
