// Echo load generator on the kakehi runtime: N connections, each in a ping-pong loop (send one
// message of SIZE bytes, wait for all of it to come back), for DURATION seconds; prints the
// messages completed. With --idle it opens N connections, prints "ready", and holds them idle.
//
//   echo-client HOST:PORT [--connections 64] [--size 64] [--duration 5] [--idle]
#include <cstdio>
#include <string>
#include <vector>

#include "kakehi/net/tcp.hpp"
#include "kakehi/runtime/when_all.hpp"

using namespace kakehi;
using namespace kakehi::runtime;
using kakehi::net::Address;
using kakehi::net::TcpStream;

namespace {

struct Load {
  uint64_t deadline;
  uint64_t messages = 0;
  uint64_t errors = 0;
};

Task<void> ping_pong(Worker& w, Address to, std::span<const std::byte> msg, Load& load) {
  auto s = co_await TcpStream::connect(w, to);
  if (!s) {
    ++load.errors;
    co_return;
  }
  while (w.now() < load.deadline) {
    if (!co_await s->write_all(msg)) break;
    size_t got = 0;
    while (got < msg.size()) {
      auto r = co_await s->recv();
      if (!r || r->empty()) {
        ++load.errors;
        co_await s->close();
        co_return;
      }
      got += r->size();
    }
    ++load.messages;
  }
  co_await s->close();
}

Task<void> hold_idle(Worker& w, Address to, int count, uint64_t until) {
  std::vector<TcpStream> conns;
  conns.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    auto s = co_await TcpStream::connect(w, to);
    if (!s) {
      std::fprintf(stderr, "connect %d failed: %d\n", i, s.error());
      break;
    }
    conns.push_back(std::move(*s));
  }
  std::printf("ready %zu\n", conns.size());
  std::fflush(stdout);
  co_await sleep_until(until);
  for (auto& c : conns) co_await c.close();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: echo-client HOST:PORT [--connections N] [--size B] "
                 "[--duration S] [--idle]\n");
    return 2;
  }
  auto to = Address::parse(argv[1]);
  if (!to) return 2;
  int connections = 64;
  size_t size = 64;
  double duration = 5;
  bool idle = false;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--connections" && i + 1 < argc)
      connections = std::stoi(argv[++i]);
    else if (a == "--size" && i + 1 < argc)
      size = std::stoul(argv[++i]);
    else if (a == "--duration" && i + 1 < argc)
      duration = std::stod(argv[++i]);
    else if (a == "--idle")
      idle = true;
  }
  Worker w;
  const uint64_t until = w.now() + static_cast<uint64_t>(duration * 1e9);
  if (idle) {
    w.block_on(hold_idle(w, *to, connections, until));
    return 0;
  }
  std::vector<std::byte> msg(size, std::byte{'x'});
  Load load{until};
  std::vector<Task<void>> tasks;
  for (int i = 0; i < connections; ++i) tasks.push_back(ping_pong(w, *to, msg, load));
  const uint64_t start = w.now();
  w.block_on(when_all(std::move(tasks)));
  const double secs = static_cast<double>(w.now() - start) / 1e9;
  std::printf("messages=%llu seconds=%.3f errors=%llu\n",
              static_cast<unsigned long long>(load.messages), secs,
              static_cast<unsigned long long>(load.errors));
  return load.errors ? 1 : 0;
}
