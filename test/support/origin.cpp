// Origin servers for the integration tests (origin.hpp): a blocking accept loop on its own
// thread, one thread per connection. stop() shuts the listening socket down (which wakes
// accept on Linux) and every connection (which wakes blocked reads and writes), then joins.
#include "support/origin.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized inside Beast's parser
// (a boost::optional in basic_parser::do_field); the suppression covers Boost's headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#pragma GCC diagnostic pop
#include <cerrno>
#include <charconv>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>

namespace kakehi::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

void fill_pattern(uint64_t offset, std::span<char> out) noexcept {
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>(pattern_byte(offset + i));
}

uint64_t pattern_fnv(uint64_t n) {
  Fnv64 f;
  char block[65536];
  for (uint64_t off = 0; off < n;) {
    size_t k = static_cast<size_t>(std::min<uint64_t>(sizeof block, n - off));
    fill_pattern(off, std::span<char>(block, k));
    f.update(block, k);
    off += k;
  }
  return f.h;
}

std::string hex64(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<size_t>(i)] = kDigits[v & 15];
  return s;
}

namespace {

/// The accept loop and connection registry shared by both servers.
class ThreadServer {
 public:
  using Handler = std::function<void(int fd, uint64_t serial)>;

  explicit ThreadServer(Handler h) : handler_(std::move(h)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 1024) != 0) {
      int e = errno;
      ::close(listen_fd_);
      throw std::system_error(e, std::generic_category(), "bind/listen");
    }
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~ThreadServer() { stop(); }

  uint16_t port() const noexcept { return port_; }
  uint64_t connections() const noexcept { return accepted_.load(); }
  uint64_t active() const noexcept { return active_.load(); }
  bool stopping() const noexcept { return stopping_.load(); }

  void stop() {
    if (stopping_.exchange(true)) {
      if (acceptor_.joinable()) acceptor_.join();
      return;
    }
    ::shutdown(listen_fd_, SHUT_RDWR);
    if (acceptor_.joinable()) acceptor_.join();
    ::close(listen_fd_);
    std::map<uint64_t, Conn> conns;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, c] : conns_)
        if (c.fd >= 0) ::shutdown(c.fd, SHUT_RDWR);
      conns.swap(conns_);
    }
    for (auto& [id, c] : conns) c.thread.join();
  }

 private:
  struct Conn {
    int fd = -1;  ///< -1 once the connection's thread is closing it
    bool done = false;
    std::thread thread;
  };

  void accept_loop() {
    while (!stopping_.load()) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (stopping_.load()) return;
        if (errno == EMFILE || errno == ENFILE) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          continue;
        }
        return;
      }
      reap();
      std::lock_guard lock(mu_);
      if (stopping_.load()) {
        ::close(fd);
        return;
      }
      uint64_t serial = ++accepted_;
      ++active_;
      Conn& c = conns_[serial];
      c.fd = fd;
      c.thread = std::thread([this, fd, serial] { run(fd, serial); });
    }
  }

  void run(int fd, uint64_t serial) {
    try {
      handler_(fd, serial);  // owns fd only through this registry: closed below
    } catch (...) {
    }
    std::lock_guard lock(mu_);
    auto it = conns_.find(serial);
    if (it != conns_.end()) {
      it->second.fd = -1;
      it->second.done = true;
    }
    ::close(fd);
    --active_;
  }

  void reap() {
    std::map<uint64_t, Conn> finished;
    {
      std::lock_guard lock(mu_);
      for (auto it = conns_.begin(); it != conns_.end();) {
        if (it->second.done) {
          finished.insert(conns_.extract(it++));
        } else {
          ++it;
        }
      }
    }
    for (auto& [id, c] : finished) c.thread.join();
  }

  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> active_{0};
  std::mutex mu_;
  std::map<uint64_t, Conn> conns_;
  std::thread acceptor_;
};

bool parse_u64(std::string_view s, uint64_t& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size() && !s.empty();
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

struct HttpOrigin::Impl {
  std::string name;
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> in_flight{0};
  std::unique_ptr<ThreadServer> server;

  void serve(int fd, uint64_t serial);
  bool handle(tcp::socket& sock, http::request_parser<http::buffer_body>& p,
              beast::flat_buffer& buf, uint64_t serial);
  std::string head(unsigned status, const http::request_header<>& req, uint64_t serial,
                   bool keep_alive, std::string_view extra) const;
  void websocket_echo(tcp::socket& sock, const http::request<http::buffer_body>& req);
  bool sleep_ms(uint64_t ms) const;
};

HttpOrigin::HttpOrigin(std::string name) : impl_(std::make_unique<Impl>()) {
  impl_->name = std::move(name);
  Impl* impl = impl_.get();
  impl_->server =
      std::make_unique<ThreadServer>([impl](int fd, uint64_t serial) { impl->serve(fd, serial); });
}
HttpOrigin::~HttpOrigin() { stop(); }
uint16_t HttpOrigin::port() const noexcept { return impl_->server->port(); }
std::string HttpOrigin::address() const { return "127.0.0.1:" + std::to_string(port()); }
const std::string& HttpOrigin::name() const noexcept { return impl_->name; }
uint64_t HttpOrigin::requests() const noexcept { return impl_->requests.load(); }
uint64_t HttpOrigin::connections() const noexcept { return impl_->server->connections(); }
uint64_t HttpOrigin::active_connections() const noexcept { return impl_->server->active(); }
uint64_t HttpOrigin::in_flight() const noexcept { return impl_->in_flight.load(); }
void HttpOrigin::stop() { impl_->server->stop(); }

bool HttpOrigin::Impl::sleep_ms(uint64_t ms) const {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    if (server->stopping()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

void HttpOrigin::Impl::serve(int fd, uint64_t serial) {
  asio::io_context io;
  tcp::socket sock(io);
  sock.assign(tcp::v4(), ::dup(fd));  // the registry closes `fd` itself
  beast::flat_buffer buf;
  for (;;) {
    http::request_parser<http::buffer_body> p;
    p.header_limit(1024 * 1024);
    p.body_limit(boost::none);
    beast::error_code ec;
    http::read_header(sock, buf, p, ec);
    if (ec) return;
    ++requests;
    ++in_flight;
    bool again = false;
    try {
      again = handle(sock, p, buf, serial);
    } catch (...) {
      again = false;
    }
    --in_flight;
    if (!again) {
      sock.shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
  }
}

std::string HttpOrigin::Impl::head(unsigned status, const http::request_header<>& req,
                                   uint64_t serial, bool keep_alive, std::string_view extra) const {
  std::string h = "HTTP/1.1 " + std::to_string(status) + " ";
  h += http::obsolete_reason(static_cast<http::status>(status));
  h += "\r\nX-Origin: " + name + "\r\nX-Conn: " + std::to_string(serial) + "\r\n";
  auto seen = [&](const char* label, std::string_view field) {
    h += label;
    h += ": ";
    h += req[field];
    h += "\r\n";
  };
  h += "X-Seen-Method: ";
  h += req.method_string();
  h += "\r\nX-Seen-Path: ";
  h += req.target();
  h += "\r\n";
  seen("X-Seen-Host", "Host");
  seen("X-Seen-Forwarded-For", "X-Forwarded-For");
  seen("X-Seen-Forwarded-Proto", "X-Forwarded-Proto");
  seen("X-Seen-Forwarded", "Forwarded");
  seen("X-Seen-Via", "Via");
  seen("X-Seen-Cookie", "Cookie");
  if (!keep_alive) h += "Connection: close\r\n";
  h += extra;
  h += "\r\n";
  return h;
}

// Reads the rest of the request body (streaming, hashed), then answers. Returns whether the
// connection may carry another request.
bool HttpOrigin::Impl::handle(tcp::socket& sock, http::request_parser<http::buffer_body>& p,
                              beast::flat_buffer& buf, uint64_t serial) {
  auto& req = p.get();
  const std::string target(req.target());
  if (starts_with(target, "/ws") && websocket::is_upgrade(req)) {
    websocket_echo(sock, req);
    return false;
  }
  beast::error_code ec;
  uint64_t n = 0;
  if (starts_with(target, "/reject/") && parse_u64(std::string_view(target).substr(8), n) &&
      n >= 200 && n <= 599) {
    // Answered at once, the body unread, then closed: the kernel resets the connection when
    // the proxy sends more (an early response, RFC 9112 §9.3's "close after the response").
    const std::string out = head(static_cast<unsigned>(n), req, serial, false,
                                 "Content-Type: text/plain\r\nContent-Length: 9\r\n") +
                            "rejected\n";
    asio::write(sock, asio::buffer(out.data(), out.size()), ec);
    return false;
  }
  Fnv64 fnv;
  uint64_t body_len = 0;
  std::vector<char> chunk(64 * 1024);
  while (!p.is_done()) {
    req.body().data = chunk.data();
    req.body().size = chunk.size();
    http::read(sock, buf, p, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return false;
    const size_t got = chunk.size() - req.body().size;
    fnv.update(chunk.data(), got);
    body_len += got;
  }
  const bool keep = req.keep_alive();
  const bool head_only = req.method() == http::verb::head;
  auto send = [&](std::string_view s) {
    asio::write(sock, asio::buffer(s.data(), s.size()), ec);
    return !ec;
  };
  auto simple = [&](unsigned status, std::string body, std::string extra = {}) {
    bool no_body = status < 200 || status == 204 || status == 304;
    if (!no_body)
      extra +=
          "Content-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    std::string out = head(status, req, serial, keep, extra);
    if (!no_body && !head_only) out += body;
    return send(out) && keep;
  };
  if (starts_with(target, "/bytes/") && parse_u64(std::string_view(target).substr(7), n)) {
    if (!send(head(200, req, serial, keep,
                   "Content-Type: application/octet-stream\r\nContent-Length: " +
                       std::to_string(n) + "\r\n")))
      return false;
    if (head_only) return keep;
    for (uint64_t off = 0; off < n;) {
      size_t k = static_cast<size_t>(std::min<uint64_t>(chunk.size(), n - off));
      fill_pattern(off, std::span<char>(chunk.data(), k));
      if (!send(std::string_view(chunk.data(), k))) return false;
      off += k;
    }
    return keep;
  }
  if (starts_with(target, "/chunked/") && parse_u64(std::string_view(target).substr(9), n)) {
    if (!send(head(200, req, serial, keep,
                   "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n")))
      return false;
    if (head_only) return keep;
    // Varying chunk sizes (1 KiB .. 64 KiB) so chunk boundaries fall anywhere.
    size_t step = 1024;
    for (uint64_t off = 0; off < n;) {
      size_t k = static_cast<size_t>(std::min<uint64_t>(std::min(step, chunk.size()), n - off));
      fill_pattern(off, std::span<char>(chunk.data(), k));
      char size_line[32];
      auto r = std::to_chars(size_line, size_line + 16, k, 16);
      std::string framed(size_line, r.ptr);
      framed += "\r\n";
      framed.append(chunk.data(), k);
      framed += "\r\n";
      if (!send(framed)) return false;
      off += k;
      step = step >= 64 * 1024 ? 1000 : step * 2 + 7;
    }
    return send("0\r\n\r\n") && keep;
  }
  if (starts_with(target, "/upload")) {
    return simple(200, std::to_string(body_len) + " " + hex64(fnv.h),
                  "X-Body-Length: " + std::to_string(body_len) + "\r\n");
  }
  if (starts_with(target, "/slow/") && parse_u64(std::string_view(target).substr(6), n)) {
    if (!sleep_ms(n)) return false;
    return simple(200, name);
  }
  if (target == "/close") return false;
  if (starts_with(target, "/status/") && parse_u64(std::string_view(target).substr(8), n) &&
      n >= 100 && n <= 599) {
    return simple(static_cast<unsigned>(n), "status " + std::to_string(n));
  }
  if (starts_with(target, "/cookie/")) {
    return simple(200, name, "Set-Cookie: " + target.substr(8) + "; Path=/\r\n");
  }
  return simple(200, name);
}

void HttpOrigin::Impl::websocket_echo(tcp::socket& sock,
                                      const http::request<http::buffer_body>& req) {
  websocket::stream<tcp::socket&> ws(sock);
  beast::error_code ec;
  ws.set_option(websocket::stream_base::decorator(
      [this](websocket::response_type& res) { res.set("X-Origin", name); }));
  ws.accept(req, ec);
  if (ec) return;
  beast::flat_buffer b;
  for (;;) {
    ws.read(b, ec);
    if (ec) return;
    ws.text(ws.got_text());
    ws.write(b.data(), ec);
    if (ec) return;
    b.consume(b.size());
  }
}

// ---- TCP echo ----

struct TcpEchoOrigin::Impl {
  std::atomic<uint64_t> half_closes{0};
  std::atomic<uint64_t> bytes{0};
  std::unique_ptr<ThreadServer> server;

  void serve(int fd) {
    char b[65536];
    for (;;) {
      ssize_t n = ::recv(fd, b, sizeof b, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return;
      if (n == 0) break;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = ::send(fd, b + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        off += w;
        bytes += static_cast<uint64_t>(w);
      }
    }
    ::shutdown(fd, SHUT_WR);
    ++half_closes;
  }
};

TcpEchoOrigin::TcpEchoOrigin() : impl_(std::make_unique<Impl>()) {
  Impl* impl = impl_.get();
  impl_->server = std::make_unique<ThreadServer>([impl](int fd, uint64_t) { impl->serve(fd); });
}
TcpEchoOrigin::~TcpEchoOrigin() { stop(); }
uint16_t TcpEchoOrigin::port() const noexcept { return impl_->server->port(); }
std::string TcpEchoOrigin::address() const { return "127.0.0.1:" + std::to_string(port()); }
uint64_t TcpEchoOrigin::connections() const noexcept { return impl_->server->connections(); }
uint64_t TcpEchoOrigin::half_closes() const noexcept { return impl_->half_closes.load(); }
uint64_t TcpEchoOrigin::bytes_echoed() const noexcept { return impl_->bytes.load(); }
void TcpEchoOrigin::stop() { impl_->server->stop(); }

}  // namespace kakehi::test
