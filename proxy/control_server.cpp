// Control socket server and client. The server never throws out of its thread: every failure
// closes the one connection concerned. Writes wait at most kWriteTimeoutMs for a slow reader.
#include "proxy/control_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "kakehi/common/log.hpp"
#include "kakehi/config/json.hpp"

namespace kakehi::edge {

namespace {

constexpr int kWriteTimeoutMs = 5'000;

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof(a.sun_path))
    throw std::runtime_error("control socket path too long (max " +
                             std::to_string(sizeof(a.sun_path) - 1) + " bytes): " + path);
  std::memcpy(a.sun_path, path.data(), path.size());
  return a;
}

std::string errno_text() { return std::strerror(errno); }

/// Writes all of `data` to a non-blocking socket, waiting for POLLOUT at most kWriteTimeoutMs
/// in total. False when the peer is gone or too slow.
bool write_all(int fd, std::string_view data) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kWriteTimeoutMs);
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) return false;
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(left)) < 0 && errno != EINTR) return false;
      continue;
    }
    return false;
  }
  return true;
}

struct Client {
  int fd = -1;
  std::string in;
};

}  // namespace

ControlServer::ControlServer(std::string path, ApplyFn apply)
    : path_(std::move(path)), apply_(std::move(apply)) {
  const sockaddr_un addr = unix_address(path_);
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      throw std::runtime_error("control socket: " + path_ + " exists and is not a socket");
    ::unlink(path_.c_str());
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) throw std::runtime_error("control socket: socket(): " + errno_text());
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    auto why = errno_text();
    ::close(listen_fd_);
    throw std::runtime_error("control socket: cannot listen on " + path_ + ": " + why);
  }
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    auto why = errno_text();
    ::close(listen_fd_);
    ::unlink(path_.c_str());
    throw std::runtime_error("control socket: pipe2(): " + why);
  }
  thread_ = std::thread([this] { run(); });
}

ControlServer::~ControlServer() {
  const char c = 1;
  if (::write(wake_[1], &c, 1) < 0) {
    // The pipe cannot be full (one byte, written once); nothing else to do.
  }
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
  ::unlink(path_.c_str());
}

void ControlServer::run() {
  std::vector<Client> clients;
  std::vector<pollfd> fds;
  std::vector<char> chunk(64 * 1024);
  auto answer = [&](Client& c, std::string_view line) -> bool {
    std::string out;
    for (auto& a : handle_control_line(line, apply_)) {
      out += a;
      out += '\n';
    }
    return out.empty() || write_all(c.fd, out);
  };
  // accept() failing for want of descriptors (EMFILE...) leaves the connection pending and the
  // socket readable: the listener is left out of the poll for a while instead of spinning.
  using Clock = std::chrono::steady_clock;
  constexpr auto kAcceptPause = std::chrono::milliseconds(100);
  Clock::time_point accept_paused_until{};
  log::Throttle accept_log;
  for (;;) {
    const Clock::time_point now = Clock::now();
    const bool paused = now < accept_paused_until;
    const int timeout_ms =
        paused
            ? static_cast<int>(
                  std::chrono::ceil<std::chrono::milliseconds>(accept_paused_until - now).count())
            : -1;
    fds.clear();
    fds.push_back({wake_[0], POLLIN, 0});
    fds.push_back({paused ? -1 : listen_fd_, POLLIN, 0});
    for (const auto& c : clients) fds.push_back({c.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "kakehi: control socket: poll(): %s\n", errno_text().c_str());
      break;
    }
    if (fds[0].revents) break;
    std::vector<bool> closed(clients.size(), false);
    for (size_t i = 0; i < clients.size(); ++i) {
      if (!fds[i + 2].revents) continue;
      Client& c = clients[i];
      ssize_t n = ::recv(c.fd, chunk.data(), chunk.size(), 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      bool keep = n > 0;
      if (n > 0) c.in.append(chunk.data(), static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; keep && (nl = c.in.find('\n', start)) != std::string::npos; start = nl + 1)
        keep = answer(c, std::string_view(c.in).substr(start, nl - start));
      c.in.erase(0, start);
      if (keep && c.in.size() > kMaxControlLine) {
        (void)write_all(c.fd, error_answer_line("request line longer than " +
                                                std::to_string(kMaxControlLine) + " bytes") +
                                  "\n");
        keep = false;
      }
      if (n == 0 && !c.in.empty() && c.in.size() <= kMaxControlLine)
        (void)answer(c, c.in);  // the last line without its newline
      if (!keep) closed[i] = true;
    }
    for (size_t i = clients.size(); i-- > 0;) {
      if (!closed[i]) continue;
      ::close(clients[i].fd);
      clients.erase(clients.begin() + static_cast<std::ptrdiff_t>(i));
    }
    if (fds[1].revents) {
      for (;;) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
          const int e = errno;
          if (e != EAGAIN && e != EWOULDBLOCK && e != EINTR && e != ECONNABORTED) {
            const Clock::time_point t = Clock::now();
            accept_paused_until = t + kAcceptPause;
            log::warn_throttled(
                accept_log,
                static_cast<uint64_t>(std::chrono::nanoseconds(t.time_since_epoch()).count()),
                "control socket: accept(): {}", std::strerror(e));
          }
          break;
        }
        if (clients.size() >= kMaxClients) {
          (void)write_all(fd, error_answer_line("too many control connections") + "\n");
          ::close(fd);
          continue;
        }
        clients.push_back({fd, {}});
      }
    }
  }
  for (auto& c : clients) ::close(c.fd);
}

int run_ctl(const std::string& socket_path, std::string payload, int timeout_ms) {
  sockaddr_un addr{};
  try {
    addr = unix_address(socket_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kakehi ctl: %s\n", e.what());
    return 2;
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "kakehi ctl: cannot connect to %s: %s\n", socket_path.c_str(),
                 errno_text().c_str());
    if (fd >= 0) ::close(fd);
    return 2;
  }
  if (payload.empty() || payload.back() != '\n') payload += '\n';
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  if (!write_all(fd, payload)) {
    std::fprintf(stderr, "kakehi ctl: cannot send the request: %s\n", errno_text().c_str());
    ::close(fd);
    return 2;
  }
  ::shutdown(fd, SHUT_WR);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string in;
  char buf[16 * 1024];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      std::fprintf(stderr, "kakehi ctl: no complete answer within %d ms\n", timeout_ms);
      ::close(fd);
      return 2;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      in.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    break;
  }
  ::close(fd);
  int rc = 0;
  size_t start = 0;
  while (start < in.size()) {
    size_t nl = in.find('\n', start);
    if (nl == std::string::npos) nl = in.size();
    std::string_view line = std::string_view(in).substr(start, nl - start);
    start = nl + 1;
    if (line.empty()) continue;
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    auto a = config::answer_from_json(line);
    if (!a || a->status == config::AnswerStatus::Error) rc = 1;
  }
  std::fflush(stdout);
  return rc;
}

}  // namespace kakehi::edge
