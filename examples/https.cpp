// kakehi-example-https: an HTTPS reverse proxy configured through the embedding API — one HTTPS
// listener with a certificate read from PEM files, one cluster, one frontend for every host,
// sent to kakehi::proxy::Proxy::apply as one diff. SIGHUP re-reads the certificate files and
// replaces the certificate live (new handshakes get the new one; open connections keep theirs);
// SIGINT or SIGTERM drain and stop.
//
//   kakehi-example-https --cert CHAIN.pem --key KEY.pem [--listen ADDR] [--backend ADDR]...
//
// Defaults: listen 127.0.0.1:8443, backend 127.0.0.1:1026. Try (with a certificate for
// localhost): curl --cacert CHAIN.pem https://localhost:8443/
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kakehi/config/request.hpp"
#include "kakehi/proxy/proxy.hpp"

using namespace kakehi;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Applies `diff`, prints each answer; true when all are ok.
bool apply(proxy::Proxy& p, std::vector<config::Request> diff) {
  bool ok = true;
  for (const config::Answer& a : p.apply(std::move(diff))) {
    const bool good = a.status == config::AnswerStatus::Ok;
    std::printf("%-16s %s%s%s\n", a.id.c_str(), good ? "ok" : "error",
                a.message.empty() ? "" : ": ", a.message.c_str());
    ok = ok && good;
  }
  std::fflush(stdout);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:8443";
  std::string cert_file, key_file;
  std::vector<std::string> backends;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--listen" && i + 1 < argc) {
      listen = argv[++i];
    } else if (a == "--cert" && i + 1 < argc) {
      cert_file = argv[++i];
    } else if (a == "--key" && i + 1 < argc) {
      key_file = argv[++i];
    } else if (a == "--backend" && i + 1 < argc) {
      backends.push_back(argv[++i]);
    } else {
      std::puts(
          "usage: kakehi-example-https --cert CHAIN.pem --key KEY.pem [--listen ADDR] "
          "[--backend ADDR]...");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  if (cert_file.empty() || key_file.empty()) {
    std::fputs("kakehi-example-https: --cert and --key are required\n", stderr);
    return 2;
  }
  if (backends.empty()) backends = {"127.0.0.1:1026"};

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  try {
    proxy::Proxy p;
    auto certificate = [&] {
      config::Certificate c;
      c.id = "main";
      c.listener = listen;
      c.certificate_chain_pem = read_file(cert_file);
      c.key_pem = read_file(key_file);
      return c;  // names: from the certificate's SAN (or CN)
    };

    config::Listener listener;
    listener.address = listen;
    listener.kind = config::ListenerKind::Https;  // TLS 1.2 + 1.3, ALPN http/1.1 by default
    config::Cluster cluster;
    cluster.id = "app";
    config::HttpFrontend frontend;
    frontend.id = "all-hosts";
    frontend.listener = listen;
    frontend.cluster = cluster.id;
    frontend.hostname = "~^.*$";

    std::vector<config::Request> diff;
    diff.push_back({"add-listener", config::AddListener{listener}});
    diff.push_back({"add-certificate", config::AddCertificate{certificate()}});
    diff.push_back({"add-cluster", config::AddCluster{cluster}});
    diff.push_back({"add-frontend", config::AddHttpFrontend{frontend}});
    for (size_t i = 0; i < backends.size(); ++i) {
      config::Backend b;
      b.cluster = cluster.id;
      b.id = "backend-" + std::to_string(i);
      b.address = backends[i];
      diff.push_back({"add-" + b.id, config::AddBackend{b}});
    }
    if (!apply(p, std::move(diff))) return 1;
    std::printf("listening on https://%s/ (SIGHUP reloads the certificate)\n", listen.c_str());
    std::fflush(stdout);

    for (;;) {
      int sig = 0;
      sigwait(&sigs, &sig);
      if (sig != SIGHUP) break;
      try {
        apply(p, {{"replace-certificate", config::UpdateCertificate{certificate()}}});
      } catch (const std::exception& e) {
        std::fprintf(stderr, "kakehi-example-https: %s (keeping the current certificate)\n",
                     e.what());
      }
    }
    const size_t left = p.drain(std::chrono::seconds(10));
    const proxy::ProxyStats st = p.stats();
    std::printf("drained (%zu connection(s) cut); %llu handshake(s), %llu request(s)\n", left,
                static_cast<unsigned long long>(st.tls_handshakes),
                static_cast<unsigned long long>(st.requests));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kakehi-example-https: %s\n", e.what());
    return 1;
  }
}
