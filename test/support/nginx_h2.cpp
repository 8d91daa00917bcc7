// NginxH2 (nginx_h2.hpp): nginx in the foreground, one process (no master), its files in a temp
// dir. It runs under a `sh` watchdog that holds a pipe from this process: if the test process
// dies without running destructors (abort, SIGKILL by a test runner), the pipe ends and the
// watchdog kills nginx and removes the temp dir, so no server outlives its test.
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

NginxH2::NginxH2(std::string origin) : origin_(std::move(origin)) {
  char tmpl[] = "/tmp/kakehi-nginx-h2-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  port_ = free_port();
  std::ofstream conf(dir_ + "/nginx.conf");
  conf << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
       << "error_log " << dir_ << "/error.log warn;\npid " << dir_ << "/nginx.pid;\n"
       << "events { worker_connections 1024; }\n"
       << "http {\n  access_log off;\n"
       << "  client_body_temp_path " << dir_ << "/body;\n  proxy_temp_path " << dir_
       << "/proxy;\n  fastcgi_temp_path " << dir_ << "/fastcgi;\n  uwsgi_temp_path " << dir_
       << "/uwsgi;\n  scgi_temp_path " << dir_
       << "/scgi;\n"
       // No GOAWAY every 1000 requests (nginx's default): an upload racing one cannot be
       // replayed once a body byte went out, a known limit tested in h2_backend_test; the
       // matrix suites are about everything else.
       << "  server {\n    listen 127.0.0.1:" << port_ << " http2;\n"
       << "    keepalive_requests 1000000;\n"
       << "    location / {\n      proxy_pass http://" << origin_ << ";\n"
       << "      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n"
       << "      proxy_set_header Host $http_host;\n      proxy_buffering off;\n"
       << "      proxy_request_buffering off;\n      client_max_body_size 0;\n    }\n  }\n}\n";
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
    throw std::runtime_error("nginx (h2 front for " + origin_ + ") did not start: " + log);
  }
}

NginxH2::~NginxH2() { stop(); }

void NginxH2::stop() {
  if (nginx_pid_ > 0) ::kill(nginx_pid_, SIGKILL);
  nginx_pid_ = -1;
  if (watchdog_) {
    // EOF on its stdin ends the watchdog's loop; it exits after a no-op kill.
    watchdog_->close_stdin();
    (void)watchdog_->finish(Clock::now() + 5s);
    watchdog_.reset();
  }
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
  dir_.clear();
}

std::string NginxH2::address() const { return local(port_); }

std::string NginxH2::error_log() const { return slurp(dir_ + "/error.log"); }

std::string h2_front(const std::string& origin_address) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<NginxH2>> fronts;
  std::lock_guard lock(mu);
  auto& f = fronts[origin_address];
  if (!f) f = std::make_unique<NginxH2>(origin_address);
  return f->address();
}

}  // namespace kakehi::test
