// WorkerGroup: broadcast results in worker order, exceptions, SO_REUSEPORT listeners served by
// every worker, start-up failure, stop with work in flight.
#include "kakehi/runtime/worker_group.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>

#include "kakehi/net/tcp.hpp"
#include "kakehi/runtime/when_all.hpp"

using namespace kakehi;
using namespace kakehi::runtime;
using kakehi::net::Address;
using kakehi::net::TcpListener;
using kakehi::net::TcpStream;

TEST_CASE("broadcast runs on every worker and returns results in worker order") {
  WorkerGroup group(3);
  auto f = group.broadcast<int>([](Worker&, size_t i) -> Task<int> {
    co_await sleep_for((3 - i) * 5'000'000);  // the last worker answers first
    co_return static_cast<int>(i) * 10;
  });
  CHECK(f.get() == std::vector<int>{0, 10, 20});
}

TEST_CASE("broadcast reports a worker's exception after all have answered") {
  WorkerGroup group(2);
  std::atomic<int> finished{0};
  auto f = group.broadcast<int>([&finished](Worker&, size_t i) -> Task<int> {
    co_await sleep_for(2'000'000);
    ++finished;
    if (i == 1) throw std::runtime_error("bad diff on worker 1");
    co_return 1;
  });
  CHECK_THROWS_WITH_AS(f.get(), "bad diff on worker 1", std::runtime_error);
  CHECK(finished == 2);
}

TEST_CASE("a worker that cannot start fails the group's construction cleanly") {
  WorkerOptions bad;
  bad.buffer_count = 0;  // rejected by BufferPool
  CHECK_THROWS_AS(WorkerGroup(2, bad), std::invalid_argument);
}

namespace {

std::atomic<int> served[2];

Task<void> echo_once(TcpStream s, size_t worker) {
  auto r = co_await s.recv();
  if (r && !r->empty()) {
    buffer::BufferChain out;
    out.append(std::move(*r));
    co_await s.write_all(out);
    ++served[worker];
  }
  co_await s.close();
}

Task<void> accept_loop(Worker& w, TcpListener l, size_t worker) {
  for (;;) {
    auto s = co_await l.accept();
    if (!s) co_return;
    w.spawn(echo_once(std::move(*s), worker));
  }
}

Task<bool> ping(Worker& w, Address to) {
  auto s = co_await TcpStream::connect(w, to);
  if (!s) co_return false;
  const char msg[] = "ping";
  co_await s->write_all(std::as_bytes(std::span(msg, 4)));
  auto r = co_await s->recv();
  bool ok = r && r->view() == "ping";
  co_await s->close();
  co_return ok;
}

}  // namespace

TEST_CASE("SO_REUSEPORT: every worker listens on the same port and serves connections") {
  served[0] = served[1] = 0;
  WorkerGroup group(2);
  // Worker 0 picks a free port; worker 1 binds the same one.
  auto first = group.broadcast<uint16_t>([](Worker& w, size_t i) -> Task<uint16_t> {
    if (i != 0) co_return 0;
    auto l = TcpListener::bind(w, *Address::parse("127.0.0.1:0"), {.reuse_port = true});
    REQUIRE(l);
    uint16_t port = l->local_address().port();
    w.spawn(accept_loop(w, std::move(*l), 0));
    co_return port;
  });
  const uint16_t port = first.get()[0];
  const Address at = *Address::parse("127.0.0.1:" + std::to_string(port));
  group.post(1, [at](Worker& w, size_t) -> Task<void> {
    auto l = TcpListener::bind(w, at, {.reuse_port = true});
    REQUIRE(l);
    w.spawn(accept_loop(w, std::move(*l), 1));
    co_return;
  });
  // Make sure worker 1's listener is up before connecting.
  group.broadcast<int>([](Worker&, size_t) -> Task<int> { co_return 0; }).get();

  Worker client;
  std::vector<Task<bool>> pings;
  for (int i = 0; i < 64; ++i) pings.push_back(ping(client, at));
  auto results = client.block_on(when_all(std::move(pings)));
  CHECK(std::count(results.begin(), results.end(), true) == 64);
  group.stop();  // joins: every session has finished or been torn down
  CHECK(served[0] + served[1] == 64);
  CHECK(served[0] > 0);  // the kernel spread the 64 connections over both listeners
  CHECK(served[1] > 0);
}

TEST_CASE("stop with jobs still running tears them down") {
  WorkerGroup group(2);
  std::atomic<int> started{0};
  group
      .broadcast<int>([&started](Worker&, size_t) -> Task<int> {
        ++started;
        co_return 0;
      })
      .get();
  for (size_t i = 0; i < 2; ++i)
    group.post(i, [](Worker&, size_t) -> Task<void> {
      co_await sleep_for(3'600'000'000'000);  // never finishes on its own
    });
  group.stop();
  CHECK(started == 2);
}
