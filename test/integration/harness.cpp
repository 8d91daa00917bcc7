// Integration-test harness (harness.hpp): processes via posix_spawn + poll, raw sockets with
// poll deadlines, responses parsed with Beast's parser fed by hand, wrk summary parsing.
#include "harness.hpp"

#include "support/nginx_h2.hpp"
#include "support/origin.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized inside Beast's parser
// (a boost::optional in basic_parser::do_field); the suppression covers Boost's headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

extern char** environ;

namespace kakehi::test {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// Writing to a pipe or socket whose reader went away must be an error, not a signal.
const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

}  // namespace

// ---- Ports ----

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in a = loopback(0);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::system_error(errno, std::generic_category(), "bind");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string local(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

bool connect_refused(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = loopback(port);
  int r = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  int e = errno;
  ::close(fd);
  return r != 0 && e == ECONNREFUSED;
}

// ---- Child processes ----

Child::Child(const std::vector<std::string>& argv, bool pipe_stdin) {
  int in[2] = {-1, -1}, out[2], err[2];
  if ((pipe_stdin && ::pipe2(in, O_CLOEXEC) != 0) || ::pipe2(out, O_CLOEXEC) != 0 ||
      ::pipe2(err, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe2");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (pipe_stdin) {
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  } else {
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  // The child gets the default SIGPIPE disposition back (ignored signals survive exec).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t def;
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &def);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  (void)kSigpipeIgnored;
  int rc = ::posix_spawnp(&pid_, args[0], &fa, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (pipe_stdin) ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  in_ = in[1];
  out_ = out[0];
  err_ = err[0];
  if (rc != 0) {
    pid_ = -1;
    throw std::system_error(rc, std::generic_category(), "posix_spawnp " + argv[0]);
  }
  if (in_ >= 0) ::fcntl(in_, F_SETFL, ::fcntl(in_, F_GETFL) | O_NONBLOCK);
}

Child::~Child() {
  kill();
  close_stdin();
  if (out_ >= 0) ::close(out_);
  if (err_ >= 0) ::close(err_);
}

void Child::close_stdin() {
  if (in_ >= 0) ::close(in_);
  in_ = -1;
}

void Child::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

void Child::drain_stderr(std::string& err) {
  if (err_ < 0) return;
  char b[4096];
  pollfd p{err_, POLLIN, 0};
  while (::poll(&p, 1, 0) > 0) {
    ssize_t n = ::read(err_, b, sizeof b);
    if (n <= 0) {
      ::close(err_);
      err_ = -1;
      return;
    }
    err.append(b, static_cast<size_t>(n));
  }
}

ProcResult Child::finish(Clock::time_point deadline) {
  ProcResult r;
  close_stdin();
  char b[65536];
  while (out_ >= 0 || err_ >= 0) {
    pollfd p[2];
    nfds_t n = 0;
    if (out_ >= 0) p[n++] = {out_, POLLIN, 0};
    if (err_ >= 0) p[n++] = {err_, POLLIN, 0};
    int rc = ::poll(p, n, remaining_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) {
      r.timed_out = true;
      break;
    }
    for (nfds_t i = 0; i < n; ++i) {
      if (!p[i].revents) continue;
      ssize_t k = ::read(p[i].fd, b, sizeof b);
      bool is_out = p[i].fd == out_;
      if (k <= 0) {
        ::close(p[i].fd);
        (is_out ? out_ : err_) = -1;
      } else {
        (is_out ? r.out : r.err).append(b, static_cast<size_t>(k));
      }
    }
  }
  if (pid_ > 0) {
    int st = 0;
    for (;;) {
      pid_t w = ::waitpid(pid_, &st, WNOHANG);
      if (w == pid_) break;
      if (w < 0 && errno != EINTR) break;
      if (Clock::now() >= deadline) {
        r.timed_out = true;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &st, 0);
        break;
      }
      ::usleep(2000);
    }
    pid_ = -1;
    r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  }
  return r;
}

ProcResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
               std::string_view input) {
  auto deadline = Clock::now() + timeout;
  Child c(argv, !input.empty());
  size_t off = 0;
  while (off < input.size()) {
    pollfd p{c.stdin_fd(), POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) break;
    ssize_t w = ::write(c.stdin_fd(), input.data() + off, input.size() - off);
    if (w < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (w <= 0) break;
    off += static_cast<size_t>(w);
  }
  return c.finish(deadline);
}

// ---- curl ----

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string{} : it->second;
}
size_t HttpResponse::header_count(const std::string& name) const { return headers.count(name); }

bool client_h2() {
  static const bool h2 = [] {
    const char* v = std::getenv("KAKEHI_TEST_CLIENT");
    return v && std::string_view(v) == "h2";
  }();
  return h2;
}

bool backend_h2() {
  static const bool h2 = [] {
    const char* v = std::getenv("KAKEHI_TEST_BACKEND");
    return v && std::string_view(v) == "h2";
  }();
  return h2;
}

std::string curl_protocol() { return client_h2() ? "--http2-prior-knowledge" : "--http1.1"; }

HttpResponse curl(const std::vector<std::string>& args, int max_time_s) {
  std::vector<std::string> argv = {"curl",          "-sS",        "-i",
                                   curl_protocol(), "--max-time", std::to_string(max_time_s)};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcResult p = run(argv, std::chrono::seconds(max_time_s + 5));
  HttpResponse r;
  r.curl_exit = p.exit_code;
  r.curl_err = p.err;
  std::string_view s = p.out;
  // Skip interim (1xx) heads; parse the final one.
  for (;;) {
    if (s.substr(0, 5) != "HTTP/") return r;
    size_t end = s.find("\r\n\r\n");
    if (end == std::string_view::npos) return r;
    std::string_view head = s.substr(0, end);
    size_t sp = head.find(' ');
    int status =
        sp == std::string_view::npos ? 0 : std::atoi(std::string(head.substr(sp + 1, 3)).c_str());
    s.remove_prefix(end + 4);
    if (status >= 100 && status < 200 && status != 101) continue;
    r.status = status;
    size_t line_end = head.find("\r\n");
    while (line_end != std::string_view::npos) {
      head.remove_prefix(line_end + 2);
      line_end = head.find("\r\n");
      std::string_view line = head.substr(0, line_end);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      r.headers.emplace(lower(std::string(line.substr(0, colon))), std::string(v));
    }
    r.body = std::string(s);
    return r;
  }
}

HttpResponse curl_get(uint16_t port, const std::string& path, const std::string& host,
                      std::vector<std::string> extra) {
  std::vector<std::string> args;
  if (!host.empty()) {
    args.push_back("-H");
    args.push_back("Host: " + host);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("http://127.0.0.1:" + std::to_string(port) + path);
  return curl(args);
}

StreamResult curl_download(const std::string& url, const std::vector<std::string>& extra,
                           int max_time_s) {
  std::vector<std::string> argv = {"curl", "-sS", curl_protocol(), "--max-time",
                                   std::to_string(max_time_s)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  auto deadline = Clock::now() + std::chrono::seconds(max_time_s + 5);
  StreamResult s;
  Child c(argv, false);
  Fnv64 f;
  std::vector<char> b(256 * 1024);
  for (;;) {
    pollfd p{c.stdout_fd(), POLLIN, 0};
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) {
      s.timed_out = true;
      break;
    }
    ssize_t n = ::read(c.stdout_fd(), b.data(), b.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    f.update(b.data(), static_cast<size_t>(n));
    s.bytes += static_cast<uint64_t>(n);
    c.drain_stderr(s.err);
  }
  s.fnv = f.h;
  ProcResult r = c.finish(deadline);
  s.curl_exit = r.exit_code;
  s.timed_out = s.timed_out || r.timed_out;
  s.err += r.err;
  return s;
}

ProcResult curl_upload(const std::string& url, const std::vector<std::string>& extra, uint64_t size,
                       bool chunked, int max_time_s) {
  // `-T -` streams stdin (`--data-binary @-` would read it all into memory first); curl frames
  // it chunked unless a Content-Length is given and its Transfer-Encoding header removed.
  std::vector<std::string> argv = {
      "curl", "-sS", curl_protocol(), "--max-time", std::to_string(max_time_s), "-T",
      "-",    "-X",  "POST"};
  if (!chunked) {
    argv.insert(argv.end(),
                {"-H", "Content-Length: " + std::to_string(size), "-H", "Transfer-Encoding:"});
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  auto deadline = Clock::now() + std::chrono::seconds(max_time_s + 5);
  Child c(argv, true);
  std::vector<char> b(256 * 1024);
  std::string out, err;
  // Feed stdin while collecting stdout (small) so neither side blocks the other.
  for (uint64_t off = 0; off < size;) {
    size_t k = static_cast<size_t>(std::min<uint64_t>(b.size(), size - off));
    fill_pattern(off, std::span<char>(b.data(), k));
    size_t done = 0;
    while (done < k) {
      pollfd p{c.stdin_fd(), POLLOUT, 0};
      int rc = ::poll(&p, 1, remaining_ms(deadline));
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0 || (p.revents & (POLLERR | POLLHUP))) {
        off = size;  // curl stopped reading: give up feeding
        break;
      }
      ssize_t w = ::write(c.stdin_fd(), b.data() + done, k - done);
      if (w < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (w <= 0) {
        off = size;
        break;
      }
      done += static_cast<size_t>(w);
    }
    off += k;
    c.drain_stderr(err);
  }
  ProcResult r = c.finish(deadline);
  r.err = err + r.err;
  return r;
}

// ---- RawClient ----

RawClient::RawClient(uint16_t port, std::chrono::milliseconds connect_timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a = loopback(port);
  int r = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  if (r != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(connect_timeout.count())) == 1) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      r = err == 0 ? 0 : -1;
    }
  }
  if (r != 0) {
    ::close(fd);
    return;
  }
  fd_ = fd;
}

RawClient::~RawClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawClient::send_all(std::string_view data, std::chrono::milliseconds timeout) {
  if (fd_ < 0) return false;
  auto deadline = Clock::now() + timeout;
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (w > 0) {
      off += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EINTR) return false;
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
      timed_out_ = true;
      return false;
    }
  }
  return true;
}

std::string RawClient::recv_some(std::chrono::milliseconds timeout) {
  if (fd_ < 0 || eof_) return {};
  auto deadline = Clock::now() + timeout;
  char b[65536];
  for (;;) {
    ssize_t n = ::recv(fd_, b, sizeof b, 0);
    if (n > 0) return std::string(b, static_cast<size_t>(n));
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      eof_ = true;  // orderly close or reset: the stream is over either way
      return {};
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
      timed_out_ = true;
      return {};
    }
  }
}

std::string RawClient::recv_until_close(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::string all = std::move(pending_);
  pending_.clear();
  while (!eof_ && Clock::now() < deadline)
    all += recv_some(std::chrono::milliseconds(remaining_ms(deadline)));
  return all;
}

void RawClient::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

RawClient::Response RawClient::read_response(std::chrono::milliseconds timeout, bool head_request) {
  auto deadline = Clock::now() + timeout;
  http::response_parser<http::string_body> p;
  p.eager(true);
  p.body_limit(boost::none);
  p.header_limit(1024 * 1024);
  if (head_request) p.skip(true);
  Response r;
  for (;;) {
    beast::error_code ec;
    if (!pending_.empty()) {
      size_t used = p.put(boost::asio::buffer(pending_), ec);
      pending_.erase(0, used);
      if (ec && ec != http::error::need_more) return r;
      if (p.is_done()) break;
      if (used > 0 && !pending_.empty()) continue;
    }
    if (eof_ || Clock::now() >= deadline) {
      if (eof_ && p.is_header_done()) {
        p.put_eof(ec);
        if (!ec && p.is_done()) break;
      }
      return r;
    }
    std::string more = recv_some(std::chrono::milliseconds(remaining_ms(deadline)));
    if (more.empty() && !eof_) return r;
    pending_ += more;
  }
  const auto& m = p.get();
  r.status = static_cast<int>(m.result_int());
  for (const auto& f : m)
    r.headers.emplace(lower(std::string(f.name_string())), std::string(f.value()));
  r.body = m.body();
  r.keep_alive = m.keep_alive();
  return r;
}

// ---- wrk ----

WrkResult wrk(const std::string& url, int threads, int connections, int seconds,
              const std::vector<std::string>& extra) {
  WrkResult w;
  std::vector<std::string> argv = {"wrk",
                                   "-t" + std::to_string(threads),
                                   "-c" + std::to_string(connections),
                                   "-d" + std::to_string(seconds) + "s",
                                   "--timeout",
                                   "5s"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  w.proc = run(argv, std::chrono::seconds(seconds + 30));
  const std::string& out = w.proc.out;
  // The number right after `key` (skipping spaces), or nullopt.
  auto number_after = [&](std::string_view text, std::string_view key) -> std::optional<uint64_t> {
    size_t at = text.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    size_t i = at + key.size();
    while (i < text.size() && text[i] == ' ') ++i;
    uint64_t v = 0;
    size_t start = i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
      v = v * 10 + static_cast<uint64_t>(text[i] - '0');
    if (i == start) return std::nullopt;
    return v;
  };
  // "  123456 requests in 20.00s, 12.34MB read"
  size_t rq = out.find(" requests in ");
  if (rq != std::string::npos) {
    size_t b = rq;
    while (b > 0 && out[b - 1] >= '0' && out[b - 1] <= '9') --b;
    if (b < rq) {
      w.parsed = true;
      w.requests = std::stoull(out.substr(b, rq - b));
    }
  }
  w.non_2xx_3xx = number_after(out, "Non-2xx or 3xx responses:").value_or(0);
  size_t se = out.find("Socket errors:");
  if (se != std::string::npos) {
    std::string_view rest = std::string_view(out).substr(se);
    for (std::string_view k : {"connect", "read", "write", "timeout"})
      w.socket_errors += number_after(rest, k).value_or(0);
  }
  return w;
}

// ---- Configuration ----

config::Listener http_listener(const std::string& address) {
  config::Listener l;
  l.address = address;
  l.kind = config::ListenerKind::Http;
  return l;
}

config::Listener tcp_listener(const std::string& address) {
  config::Listener l;
  l.address = address;
  l.kind = config::ListenerKind::Tcp;
  return l;
}

config::Cluster cluster(const std::string& id, config::LbAlgorithm lb) {
  config::Cluster c;
  c.id = id;
  c.lb = lb;
  if (backend_h2()) c.backend_protocol = config::BackendProtocol::Http2;
  return c;
}

config::HttpFrontend frontend(const std::string& id, const std::string& listener,
                              const std::string& cluster_id, const std::string& hostname,
                              config::PathRule path, std::optional<std::string> method) {
  config::HttpFrontend f;
  f.id = id;
  f.listener = listener;
  f.cluster = cluster_id;
  f.hostname = hostname;
  f.path = std::move(path);
  f.method = std::move(method);
  return f;
}

config::Backend backend(const std::string& cluster_id, const std::string& id,
                        const std::string& address, uint32_t weight) {
  config::Backend b;
  b.cluster = cluster_id;
  b.id = id;
  b.address = address;
  b.weight = weight;
  return b;
}

std::string backend_address(const std::string& origin_address) {
  return backend_h2() ? h2_front(origin_address) : origin_address;
}

config::Backend backend(const std::string& cluster_id, const std::string& id,
                        const HttpOrigin& origin, uint32_t weight) {
  return backend(cluster_id, id, backend_address(origin.address()), weight);
}

Diff& Diff::operator()(config::RequestBody body) {
  static std::atomic<uint64_t> next{1};
  reqs_.push_back(config::Request{"it-" + std::to_string(next++), std::move(body)});
  return *this;
}

std::string failures(const std::vector<config::Answer>& answers) {
  std::string s;
  for (const auto& a : answers)
    if (a.status != config::AnswerStatus::Ok) s += a.id + ": " + a.message + "\n";
  return s;
}

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  unsigned long long x = std::strtoull(v, &end, 10);
  return end && *end == '\0' ? x : fallback;
}

}  // namespace kakehi::test
