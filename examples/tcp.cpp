// kakehi-example-tcp: a TCP proxy configured through the embedding API — one TCP listener whose
// TCP frontend forwards every connection, bytes untouched and half-close carried both ways, to
// the one backend of a cluster. Prints every answer, serves until SIGINT or SIGTERM, then
// drains.
//
//   kakehi-example-tcp [--listen ADDR] [--backend ADDR]
//
// Defaults: listen 127.0.0.1:8081, backend 127.0.0.1:7000 (kakehi-echo's default address).
// Try: kakehi-echo & kakehi-example-tcp & echo hello | nc -N 127.0.0.1 8081
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "kakehi/config/request.hpp"
#include "kakehi/proxy/proxy.hpp"

using namespace kakehi;

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:8081";
  std::string target = "127.0.0.1:7000";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--listen" && i + 1 < argc) {
      listen = argv[++i];
    } else if (a == "--backend" && i + 1 < argc) {
      target = argv[++i];
    } else {
      std::puts("usage: kakehi-example-tcp [--listen ADDR] [--backend ADDR]");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  try {
    proxy::Proxy p;

    config::Listener listener;
    listener.address = listen;
    listener.kind = config::ListenerKind::Tcp;

    config::Cluster cluster;
    cluster.id = "tcp-cluster";

    config::Backend backend;
    backend.cluster = cluster.id;
    backend.id = "backend-0";
    backend.address = target;

    config::TcpFrontend frontend;
    frontend.listener = listen;
    frontend.cluster = cluster.id;

    std::vector<config::Request> diff;
    diff.push_back({"add-listener", config::AddListener{listener}});
    diff.push_back({"add-cluster", config::AddCluster{cluster}});
    diff.push_back({"add-backend", config::AddBackend{backend}});
    diff.push_back({"add-frontend", config::AddTcpFrontend{frontend}});

    bool ok = true;
    for (const config::Answer& a : p.apply(std::move(diff))) {
      const bool good = a.status == config::AnswerStatus::Ok;
      std::printf("%-13s %s%s%s\n", a.id.c_str(), good ? "ok" : "error",
                  a.message.empty() ? "" : ": ", a.message.c_str());
      ok = ok && good;
    }
    if (!ok) return 1;
    std::printf("proxying tcp %s -> %s (SIGINT or SIGTERM to stop)\n", listen.c_str(),
                target.c_str());
    std::fflush(stdout);

    int sig = 0;
    sigwait(&sigs, &sig);
    std::printf("signal %d: draining\n", sig);
    const size_t left = p.drain(std::chrono::seconds(10));
    std::printf("drained (%zu connection(s) cut); %llu tcp session(s) served\n", left,
                static_cast<unsigned long long>(p.stats().tcp_sessions));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kakehi-example-tcp: %s\n", e.what());
    return 1;
  }
}
