// kakehi-example-http: an HTTP reverse proxy configured entirely through the embedding API —
// one HTTP listener, one cluster with two backends and one frontend, sent to
// kakehi::proxy::Proxy::apply as config::Request values (one diff, all or nothing). Prints every
// answer, serves until SIGINT or SIGTERM, then drains the connections in flight.
//
//   kakehi-example-http [--listen ADDR] [--backend ADDR]... [--hostname NAME] [--workers N]
//
// Defaults: listen 127.0.0.1:8080, backends 127.0.0.1:1026 and 127.0.0.1:1027, hostname
// example.com. Try: curl -H 'Host: example.com' http://127.0.0.1:8080/
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "kakehi/config/request.hpp"
#include "kakehi/proxy/proxy.hpp"

using namespace kakehi;

namespace {

const char* status_name(config::AnswerStatus s) {
  switch (s) {
    case config::AnswerStatus::Ok:
      return "ok";
    case config::AnswerStatus::Error:
      return "error";
    case config::AnswerStatus::Processing:
      return "processing";
  }
  return "?";
}

void usage() {
  std::puts(
      "usage: kakehi-example-http [--listen ADDR] [--backend ADDR]... [--hostname NAME] "
      "[--workers N]");
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:8080";
  std::vector<std::string> backends;
  std::string hostname = "example.com";
  size_t workers = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--listen" && i + 1 < argc) {
      listen = argv[++i];
    } else if (a == "--backend" && i + 1 < argc) {
      backends.push_back(argv[++i]);
    } else if (a == "--hostname" && i + 1 < argc) {
      hostname = argv[++i];
    } else if (a == "--workers" && i + 1 < argc) {
      workers = std::stoul(argv[++i]);
    } else {
      usage();
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  if (backends.empty()) backends = {"127.0.0.1:1026", "127.0.0.1:1027"};

  // Block the signals before the workers start so that only sigwait below takes them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  try {
    proxy::ProxyOptions opts;
    opts.workers = workers;
    proxy::Proxy p(opts);

    // The whole configuration as one diff.
    config::Listener listener;
    listener.address = listen;
    listener.kind = config::ListenerKind::Http;

    config::Cluster cluster;
    cluster.id = "my-cluster";
    cluster.lb = config::LbAlgorithm::RoundRobin;

    config::HttpFrontend frontend;
    frontend.id = "my-frontend";
    frontend.listener = listen;
    frontend.cluster = cluster.id;
    frontend.hostname = hostname;
    frontend.path = {config::PathKind::Prefix, "/"};

    std::vector<config::Request> diff;
    diff.push_back({"add-listener", config::AddListener{listener}});
    diff.push_back({"add-cluster", config::AddCluster{cluster}});
    diff.push_back({"add-frontend", config::AddHttpFrontend{frontend}});
    for (size_t i = 0; i < backends.size(); ++i) {
      config::Backend b;
      b.cluster = cluster.id;
      b.id = "backend-" + std::to_string(i);
      b.address = backends[i];
      diff.push_back({"add-" + b.id, config::AddBackend{b}});
    }
    diff.push_back({"query", config::QueryCluster{cluster.id}});

    bool ok = true;
    for (const config::Answer& a : p.apply(std::move(diff))) {
      std::printf("%-14s %s%s%s\n", a.id.c_str(), status_name(a.status),
                  a.message.empty() ? "" : ": ", a.message.c_str());
      ok = ok && a.status == config::AnswerStatus::Ok;
      if (a.payload)
        std::printf("%-14s cluster has %zu backend(s), %zu frontend(s)\n", "",
                    a.payload->backends.size(), a.payload->http_frontends.size());
    }
    if (!ok) return 1;
    std::printf("listening on http://%s/ for Host: %s (SIGINT or SIGTERM to stop)\n",
                listen.c_str(), hostname.c_str());
    std::fflush(stdout);

    int sig = 0;
    sigwait(&sigs, &sig);
    std::printf("signal %d: draining\n", sig);
    const size_t left = p.drain(std::chrono::seconds(10));
    const proxy::ProxyStats st = p.stats();
    std::printf("drained (%zu connection(s) cut); %llu request(s) served\n", left,
                static_cast<unsigned long long>(st.requests));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kakehi-example-http: %s\n", e.what());
    return 1;
  }
}
