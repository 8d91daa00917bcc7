// TLS test support (see tls_support.hpp).
#include "tls_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace kakehi::test {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kakehi-tls-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

Child::Child(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  const int r = posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (r != 0) {
    pid_ = -1;
    throw std::runtime_error("posix_spawnp " + argv[0] + " failed");
  }
}

int Child::wait(int timeout_ms) {
  if (pid_ < 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

Child::~Child() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

int run(const std::vector<std::string>& argv, const std::string& log, int timeout_ms) {
  Child c(argv, log);
  return c.wait(timeout_ms);
}

std::int64_t now_unix() {
  (void)certs();  // first: a certificate made after `now` was taken would be "not yet valid"
  return static_cast<std::int64_t>(std::time(nullptr));
}

namespace {

void must(const std::vector<std::string>& argv, const TempDir& dir) {
  const std::string log = dir.path("openssl.log");
  if (run(argv, log) != 0)
    throw std::runtime_error("openssl failed: " + argv[1] + "\n" + slurp(log));
}

/// A self-signed certificate: `key_args` are openssl req -newkey arguments.
void self_signed(const TempDir& d, const std::string& name, const std::string& newkey,
                 const std::string& subject, const std::string& san) {
  std::vector<std::string> argv = {"openssl", "req", "-x509", "-newkey", newkey};
  if (newkey == "ec") {
    argv.push_back("-pkeyopt");
    argv.push_back(subject.find("p384") != std::string::npos ? "ec_paramgen_curve:P-384"
                                                             : "ec_paramgen_curve:P-256");
  }
  for (const char* a : {"-nodes", "-days", "30", "-subj"}) argv.push_back(a);
  argv.push_back(subject);
  argv.push_back("-keyout");
  argv.push_back(d.path(name + ".key"));
  argv.push_back("-out");
  argv.push_back(d.path(name + ".pem"));
  if (!san.empty()) {
    argv.push_back("-addext");
    argv.push_back("subjectAltName=" + san);
  }
  must(argv, d);
}

}  // namespace

Certs::Certs() {
  const TempDir& d = dir;
  self_signed(d, "rsa", "rsa:2048", "/CN=rsa.test", "DNS:rsa.test,DNS:www.rsa.test");
  must(
      {"openssl", "rsa", "-in", d.path("rsa.key"), "-traditional", "-out", d.path("rsa-pkcs1.key")},
      d);
  self_signed(d, "p256", "ec", "/CN=p256.test", "DNS:p256.test");
  must({"openssl", "ec", "-in", d.path("p256.key"), "-out", d.path("p256-sec1.key")}, d);
  self_signed(d, "p384", "ec", "/CN=p384.test", "DNS:p384.test");
  self_signed(d, "wild", "ec", "/CN=wild", "DNS:*.wild.test");
  self_signed(d, "cnonly", "ec", "/CN=cnonly.test", "");
  self_signed(d, "weak", "rsa:1024", "/CN=weak.test", "DNS:weak.test");
  // A CA and a leaf it signs.
  self_signed(d, "ca", "ec", "/CN=kakehi test CA", "");
  must({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-subj", "/CN=chain.test", "-keyout", d.path("leaf.key"), "-out", d.path("leaf.csr")},
       d);
  spit(d.path("leaf.ext"), "subjectAltName=DNS:chain.test\n");
  must({"openssl", "x509", "-req", "-in", d.path("leaf.csr"), "-CA", d.path("ca.pem"), "-CAkey",
        d.path("ca.key"), "-CAcreateserial", "-days", "30", "-extfile", d.path("leaf.ext"), "-out",
        d.path("leaf.pem")},
       d);
  spit(d.path("leaf-chain.pem"), slurp(d.path("leaf.pem")) + slurp(d.path("ca.pem")));
  spit(d.path("leaf-reversed.pem"), slurp(d.path("ca.pem")) + slurp(d.path("leaf.pem")));
}

tls::CertificateSource Certs::source(const std::string& name, const std::string& key) const {
  tls::CertificateSource s;
  s.chain_pem = slurp(file(name + ".pem"));
  s.key_pem = slurp(file(key.empty() ? name + ".key" : key));
  return s;
}

const Certs& certs() {
  static const Certs c;
  return c;
}

namespace {

bool send_all(int fd, std::span<const std::byte> b, std::chrono::steady_clock::time_point end) {
  while (!b.empty()) {
    if (std::chrono::steady_clock::now() > end) return false;
    const ssize_t n = ::send(fd, b.data(), b.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    b = b.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

bool flush(int fd, tls::Connection& c, std::chrono::steady_clock::time_point end) {
  const auto out = c.output();
  const bool ok = send_all(fd, out, end);
  c.consume_output(out.size());
  return ok;
}

}  // namespace

ClientRun run_s_client(const std::shared_ptr<tls::Context>& ctx,
                       const std::vector<std::string>& args, bool byte_by_byte) {
  ClientRun result;
  const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lfd, 4) != 0 ||
      ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(lfd);
    throw std::runtime_error("listen failed");
  }
  TempDir tmp;
  const std::string log = tmp.path("s_client.log");
  std::vector<std::string> argv = {"openssl", "s_client", "-connect",
                                   "127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), "-ign_eof"};
  argv.insert(argv.end(), args.begin(), args.end());
  {
    Child client(argv, log);
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    pollfd lp{lfd, POLLIN, 0};
    int fd = -1;
    if (::poll(&lp, 1, 5000) == 1) fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      tls::Connection conn(ctx);
      std::byte buf[16384];
      bool done = false;
      for (int turns = 0; turns < 10000 && !done && std::chrono::steady_clock::now() < end;
           ++turns) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) != 1) continue;
        const ssize_t n = ::recv(fd, buf, byte_by_byte ? 1 : sizeof buf, 0);
        if (n <= 0) break;
        if (result.first_bytes.size() < 4096)
          result.first_bytes.insert(result.first_bytes.end(), buf, buf + n);
        auto r = conn.feed(std::span<const std::byte>(buf, static_cast<std::size_t>(n)));
        if (!r) {
          result.server_error =
              std::string(tls::to_string(r.error().code)) + ": " + r.error().reason;
          (void)flush(fd, conn, end);
          break;
        }
        if (r->handshake_done) {
          result.connected = true;
          result.info = conn.handshake();
          static constexpr char kHello[] = "hello from kakehi\n";
          if (!conn.write(std::as_bytes(std::span(kHello, sizeof kHello - 1)))) break;
          conn.shutdown();
          done = true;
        }
        conn.consume_plaintext(conn.plaintext().size());
        if (!flush(fd, conn, end)) break;
      }
      ::shutdown(fd, SHUT_WR);
      // Let the client read everything and leave before we close (bounded).
      for (int i = 0; i < 100; ++i) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 20) == 1 && ::recv(fd, buf, sizeof buf, 0) <= 0) break;
      }
      ::close(fd);
    }
    client.wait(5000);
  }
  ::close(lfd);
  result.client_output = slurp(log);
  return result;
}

}  // namespace kakehi::test
