// Nginx (nginx_h2.hpp): nginx in the foreground, one process (no master), its files in a temp
// dir. It runs under a `sh` watchdog that holds a pipe from this process: if the test process
// dies without running destructors (abort, SIGKILL by a test runner), the pipe ends and the
// watchdog kills nginx and removes the temp dir, so no server outlives its test. Each run
// (construction, restart()) has its own temp dir and watchdog.
#include "support/nginx_h2.hpp"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "integration/harness.hpp"

namespace kakehi::test {

namespace {

constexpr const char* kNginx = "/usr/sbin/nginx";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Nginx::Nginx(std::string origin, NginxOptions options)
    : origin_(std::move(origin)), options_(std::move(options)) {
  if (options_.tls_cert.empty() != options_.tls_key.empty())
    throw std::invalid_argument("nginx: TLS needs both a certificate and a key");
  port_ = free_port();
  start();
}

Nginx::~Nginx() { stop(); }

void Nginx::start() {
  char tmpl[] = "/tmp/kakehi-nginx-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  const bool tls = !options_.tls_cert.empty();
  std::ofstream conf(dir_ + "/nginx.conf");
  conf << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
       << "error_log " << dir_ << "/error.log warn;\npid " << dir_ << "/nginx.pid;\n"
       << "events { worker_connections 1024; }\n"
       << "http {\n  access_log off;\n"
       << "  client_body_temp_path " << dir_ << "/body;\n  proxy_temp_path " << dir_
       << "/proxy;\n  fastcgi_temp_path " << dir_ << "/fastcgi;\n  uwsgi_temp_path " << dir_
       << "/uwsgi;\n  scgi_temp_path " << dir_ << "/scgi;\n"
       << "  client_max_body_size 0;\n  proxy_request_buffering off;\n  proxy_buffering off;\n"
       << "  keepalive_requests " << options_.keepalive_requests << ";\n";
  if (options_.max_concurrent_streams)
    conf << "  http2_max_concurrent_streams " << options_.max_concurrent_streams << ";\n";
  conf << "  server {\n    listen 127.0.0.1:" << port_ << (tls ? " ssl" : "")
       << (options_.http2 ? " http2" : "") << ";\n";
  if (tls)
    conf << "    ssl_certificate " << options_.tls_cert << ";\n    ssl_certificate_key "
         << options_.tls_key << ";\n";
  const std::string to_origin = "      proxy_pass http://" + origin_ +
                                ";\n      proxy_http_version 1.1;\n"
                                "      proxy_set_header Connection \"\";\n"
                                "      proxy_set_header Host $http_host;\n"
                                "      add_header X-H2-Conn $connection always;\n";
  // /limited/: bodies over 1 KiB are answered 413 before they end (an early response).
  conf << "    location = /nginx_status {\n      stub_status;\n    }\n"
       << "    location /limited/ {\n      client_max_body_size 1k;\n"
       << to_origin << "    }\n"
       << "    location / {\n"
       << to_origin << "    }\n  }\n}\n";
  conf.close();
  // The watchdog prints nginx's PID, then waits for EOF on its stdin (our end of the pipe).
  // Its own output then goes nowhere: a write to our dead pipes would kill it with SIGPIPE
  // before it cleans up. The temp dir's name (mkdtemp) has no quote in it.
  const std::string cmd =
      std::string(kNginx) + " -p '" + dir_ + "' -c '" + dir_ + "/nginx.conf' -e '" + dir_ +
      "/error.log' </dev/null >/dev/null 2>&1 & n=$!; echo $n; exec >/dev/null 2>&1; "
      "while read -r _; do :; done; kill -9 $n 2>/dev/null; wait $n; rm -rf '" +
      dir_ + "'";
  watchdog_ = std::make_unique<Child>(std::vector<std::string>{"sh", "-c", cmd}, true);
  std::string line;
  auto deadline = Clock::now() + 5s;
  while (line.find('\n') == std::string::npos && Clock::now() < deadline) {
    pollfd p{watchdog_->stdout_fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char b[64];
    ssize_t n = ::read(watchdog_->stdout_fd(), b, sizeof b);
    if (n <= 0) break;
    line.append(b, static_cast<size_t>(n));
  }
  nginx_pid_ = static_cast<pid_t>(std::atoi(line.c_str()));
  bool up = false;
  for (int i = 0; i < 1000 && !up; ++i) {
    up = !connect_refused(port_);
    if (!up) std::this_thread::sleep_for(5ms);
  }
  if (nginx_pid_ <= 0 || !up) {
    std::string log = error_log();
    stop();
    throw std::runtime_error("nginx (in front of " + origin_ + ") did not start: " + log);
  }
}

void Nginx::kill() {
  if (nginx_pid_ > 0) ::kill(nginx_pid_, SIGKILL);
  nginx_pid_ = -1;
}

void Nginx::stop() {
  kill();
  if (watchdog_) {
    // EOF on its stdin ends the watchdog's loop; it reaps nginx and removes the temp dir.
    watchdog_->close_stdin();
    (void)watchdog_->finish(Clock::now() + 5s);
    watchdog_.reset();
  }
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
  dir_.clear();
}

void Nginx::restart() {
  stop();
  start();
}

std::string Nginx::address() const { return local(port_); }

std::string Nginx::error_log() const { return slurp(dir_ + "/error.log"); }

int Nginx::active_connections() const {
  const bool tls = !options_.tls_cert.empty();
  std::vector<std::string> args;
  if (tls)
    args.push_back("-k");  // a status query: the certificate names a test host, not 127.0.0.1
  else if (options_.http2)
    args.push_back("--http2-prior-knowledge");
  args.push_back((tls ? "https://" : "http://") + address() + "/nginx_status");
  auto r = curl(args);
  const std::string key = "Active connections: ";
  size_t at = r.body.find(key);
  return r.status == 200 && at != std::string::npos ? std::atoi(r.body.c_str() + at + key.size())
                                                    : -1;
}

std::string h2_front(const std::string& origin_address) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Nginx>> fronts;
  std::lock_guard lock(mu);
  auto& f = fronts[origin_address];
  if (!f) f = std::make_unique<Nginx>(origin_address);
  return f->address();
}

}  // namespace kakehi::test
