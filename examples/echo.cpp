// kakehi-echo: a TCP echo server on the kakehi runtime, the smallest program that embeds the
// library. Received buffers are echoed back as the same slices (no copy). Stops on SIGINT or
// SIGTERM.
//
//   kakehi-echo [ADDRESS] [--buffers N] [--buffer-size BYTES]     (default 127.0.0.1:7000)
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "kakehi/common/log.hpp"
#include "kakehi/net/tcp.hpp"
#include "kakehi/runtime/mailbox.hpp"

using namespace kakehi;
using namespace kakehi::runtime;
using kakehi::net::Address;
using kakehi::net::TcpListener;
using kakehi::net::TcpStream;

namespace {

Task<void> echo(TcpStream s) {
  buffer::BufferChain out;
  for (;;) {
    auto in = co_await s.recv();
    if (!in || in->empty()) break;  // error or end of stream
    out.append(std::move(*in));
    if (!co_await s.write_all(out)) break;
  }
  co_await s.close();
}

Task<void> serve(Worker& w, TcpListener& listener) {
  for (;;) {
    auto s = co_await listener.accept();
    if (!s) {
      if (s.error() == ECANCELED) co_return;
      log::warn("accept: {}", std::strerror(s.error()));  // EMFILE...: keep serving
      co_await sleep_for(10'000'000);
      continue;
    }
    w.spawn(echo(std::move(*s)));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string where = "127.0.0.1:7000";
  WorkerOptions opts;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--buffers" && i + 1 < argc)
      opts.buffer_count = std::stoul(argv[++i]);
    else if (a == "--buffer-size" && i + 1 < argc)
      opts.buffer_size = std::stoul(argv[++i]);
    else if (a == "--help" || a == "-h") {
      std::puts("usage: kakehi-echo [ADDRESS] [--buffers N] [--buffer-size BYTES]");
      return 0;
    } else
      where = a;
  }
  auto addr = Address::parse(where);
  if (!addr) {
    std::fprintf(stderr, "kakehi-echo: bad address '%s' (want HOST:PORT or [V6]:PORT)\n",
                 where.c_str());
    return 2;
  }
  // Signals go to a helper thread that posts to the worker's mailbox.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  try {
    Worker worker(opts);
    auto listener = TcpListener::bind(worker, *addr);
    if (!listener) {
      std::fprintf(stderr, "kakehi-echo: cannot listen on %s: %s\n", where.c_str(),
                   std::strerror(listener.error()));
      return 1;
    }
    Mailbox<int> stop(worker);
    std::thread signals([&stop, sigs] {
      int sig = 0;
      sigwait(&sigs, &sig);
      stop.push(sig);
    });
    log::info("echo server listening on {}", listener->local_address().to_string());
    std::fflush(stderr);
    worker.spawn(serve(worker, *listener));
    int sig =
        worker.block_on([](Mailbox<int>& m) -> Task<int> { co_return co_await m.receive(); }(stop));
    log::info("signal {}: stopping", sig);
    listener->close();
    signals.join();
  } catch (const RuntimeStartError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
