// TcpStream / TcpListener on real loopback sockets: an echo server with 1,000 concurrent
// clients exchanging checksummed random payloads of 1 B–1 MiB; pool exhaustion with more
// connections than buffers; cancellation of a pending recv by close(); SEND_ZC of 64 MiB;
// idle connections hold no buffer.
#include "kakehi/net/tcp.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <future>
#include <random>
#include <thread>
#include <tuple>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kakehi/runtime/mailbox.hpp"
#include "kakehi/runtime/when_all.hpp"

using namespace kakehi;
using namespace kakehi::runtime;
using kakehi::net::Address;
using kakehi::net::TcpListener;
using kakehi::net::TcpStream;

namespace {

uint64_t fnv1a(uint64_t h, std::span<const std::byte> bytes) {
  for (std::byte b : bytes) h = (h ^ static_cast<uint64_t>(b)) * 0x100000001b3ull;
  return h;
}
constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ull;

Task<void> echo_session(TcpStream s) {
  buffer::BufferChain out;
  for (;;) {
    auto r = co_await s.recv();
    if (!r || r->empty()) break;
    out.append(std::move(*r));
    if (!(co_await s.write_all(out))) break;
  }
  co_await s.close();
}

Task<void> accept_loop(Worker& w, TcpListener& l) {
  for (;;) {
    auto s = co_await l.accept();
    if (!s) break;
    w.spawn(echo_session(std::move(*s)));
  }
}

struct ServerReport {
  uint64_t enobufs = 0;
  uint64_t frames_live_after = 0;
};

// An echo server on its own worker thread, stopped through a mailbox.
class EchoServer {
 public:
  explicit EchoServer(WorkerOptions opts) {
    std::promise<Address> bound;
    auto addr = bound.get_future();
    thread_ = std::thread([this, opts, &bound] {
      {
        Worker w(opts);
        Mailbox<int> stop(w);
        stop_ = &stop;
        auto l = TcpListener::bind(w, *Address::parse("127.0.0.1:0"));
        REQUIRE(l.has_value());
        bound.set_value(l->local_address());
        w.spawn(accept_loop(w, *l));
        w.block_on([](Mailbox<int>& m) -> Task<void> { co_await m.receive(); }(stop));
        l->close();
        report_.enobufs = w.buffers().stats().enobufs;
        stop_ = nullptr;
      }  // Worker teardown cancels and drains the sessions still open; the pool asserts that
         // every buffer came back.
      report_.frames_live_after = FramePool::stats().live;
    });
    address_ = addr.get();
  }
  ~EchoServer() { stop(); }
  ServerReport stop() {
    if (thread_.joinable()) {
      while (!stop_) std::this_thread::yield();
      stop_.load()->push(1);
      thread_.join();
    }
    return report_;
  }
  Address address() const { return address_; }

 private:
  std::thread thread_;
  std::atomic<Mailbox<int>*> stop_{nullptr};
  Address address_;
  ServerReport report_;
};

struct ClientResult {
  bool ok = false;
  size_t received = 0;
  uint64_t hash = 0;
};

Task<size_t> send_half(TcpStream& s, std::span<const std::byte> data) {
  auto r = co_await s.write_all(data);
  if (!r) co_return 0;
  auto sh = co_await s.shutdown_write();
  co_return sh ? data.size() : 0;
}

Task<std::pair<size_t, uint64_t>> read_all(TcpStream& s) {
  size_t n = 0;
  uint64_t h = kFnvBasis;
  for (;;) {
    auto r = co_await s.recv();
    if (!r || r->empty()) break;
    n += r->size();
    h = fnv1a(h, r->bytes());
  }
  co_return std::pair{n, h};
}

Task<ClientResult> echo_client(Worker& w, Address to, std::span<const std::byte> payload) {
  ClientResult res;
  auto s = co_await TcpStream::connect(w, to);
  if (!s) co_return res;
  auto [sent, got] = co_await when_all(send_half(*s, payload), read_all(*s));
  co_await s->close();
  res.ok = sent == payload.size();
  res.received = got.first;
  res.hash = got.second;
  co_return res;
}

// `n` connections to `l`: the client ends in `clients`, the accepted ones in `servers`.
Task<void> connect_pairs(Worker& w, TcpListener& l, int n, std::vector<TcpStream>& clients,
                         std::vector<TcpStream>& servers) {
  for (int i = 0; i < n; ++i) {
    auto c = co_await TcpStream::connect(w, l.local_address());
    REQUIRE(c);
    clients.push_back(std::move(*c));
    auto s = co_await l.accept();
    REQUIRE(s);
    servers.push_back(std::move(*s));
  }
}

std::vector<std::byte> random_bytes(size_t n, uint64_t seed) {
  std::vector<std::byte> v(n);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t x = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) v[i + j] = static_cast<std::byte>(x >> (8 * j));
  }
  return v;
}

// Runs `count` concurrent clients with log-uniform payload sizes in [1, max_len]; checks that
// every byte came back, in order.
void run_echo_clients(const Address& to, int count, size_t max_len, uint64_t seed) {
  const auto data = random_bytes(max_len, seed);
  std::mt19937_64 rng(seed + 1);
  std::uniform_real_distribution<double> logu(0.0, std::log(static_cast<double>(max_len)));
  std::vector<std::span<const std::byte>> payloads;
  for (int i = 0; i < count; ++i) {
    size_t len = i == 0 ? 1 : i == 1 ? max_len : static_cast<size_t>(std::exp(logu(rng)));
    len = std::clamp<size_t>(len, 1, max_len);
    size_t off = rng() % (max_len - len + 1);
    payloads.emplace_back(data.data() + off, len);
  }
  Worker client;
  std::vector<Task<ClientResult>> tasks;
  for (auto p : payloads) tasks.push_back(echo_client(client, to, p));
  auto results = client.block_on(when_all(std::move(tasks)));
  int failures = 0;
  size_t total = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    total += payloads[i].size();
    bool good = results[i].ok && results[i].received == payloads[i].size() &&
                results[i].hash == fnv1a(kFnvBasis, payloads[i]);
    if (!good) ++failures;
  }
  CHECK(failures == 0);
  MESSAGE(count << " connections echoed " << total << " bytes each way");
}

}  // namespace

TEST_CASE(
    "echo: 1,000 concurrent connections, payloads of 1 B to 1 MiB, nothing lost or reordered") {
  EchoServer server(WorkerOptions{});
  run_echo_clients(server.address(), 1000, 1 << 20, 42);
  ServerReport r = server.stop();
  CHECK(r.frames_live_after == 0);  // every session's frame was freed
}

TEST_CASE("pool exhaustion: more connections than buffers, all data still delivered") {
  WorkerOptions o;
  o.buffer_count = 8;  // 8 buffers of 4 KiB for 64 connections
  o.buffer_size = 4096;
  o.write_reserve = 0;
  o.max_queued_recv = 2;
  EchoServer server(o);
  run_echo_clients(server.address(), 64, 256 * 1024, 7);
  ServerReport r = server.stop();
  CHECK(r.enobufs > 0);  // the ring did run dry, and the loop recovered
  CHECK(r.frames_live_after == 0);
}

TEST_CASE("closing a connection cancels its pending recv; the reader sees ECANCELED") {
  Worker w;
  auto l = TcpListener::bind(w, *Address::parse("127.0.0.1:0"));
  REQUIRE(l);
  int reader_error = 0;
  w.block_on([](Worker& wk, TcpListener& lst, int& err) -> Task<void> {
    auto client = co_await TcpStream::connect(wk, lst.local_address());
    REQUIRE(client);
    auto server = co_await lst.accept();
    REQUIRE(server);
    auto read_one = [](TcpStream& s, int& e) -> Task<void> {
      auto r = co_await s.recv();  // the client never sends: this stays pending
      e = r ? -1 : r.error();
    };
    auto close_later = [](TcpStream& s) -> Task<void> {
      co_await sleep_for(10'000'000);
      co_await s.close();
    };
    std::vector<Task<void>> both;
    both.push_back(read_one(*server, err));
    both.push_back(close_later(*server));
    co_await when_all(std::move(both));
    co_await client->close();
  }(w, *l, reader_error));
  CHECK(reader_error == ECANCELED);
  CHECK(w.pool().in_use() == w.buffers().kernel_owned());  // no slice left behind
}

TEST_CASE("a stream destroyed with its recv armed leaves nothing dangling") {
  const uint64_t frames = FramePool::stats().live;
  {
    Worker w;
    auto l = TcpListener::bind(w, *Address::parse("127.0.0.1:0"));
    REQUIRE(l);
    w.block_on([](Worker& wk, TcpListener& lst) -> Task<void> {
      auto client = co_await TcpStream::connect(wk, lst.local_address());
      auto server = co_await lst.accept();
      // Arm the server's recv by waiting briefly with a timer racing it, then drop the stream.
      auto peek = [](TcpStream& s) -> Task<void> {
        auto r = co_await s.recv();
        CHECK(r);
      };
      std::vector<Task<void>> ts;
      ts.push_back(peek(*server));
      ts.push_back([](TcpStream& c) -> Task<void> {
        co_await sleep_for(5'000'000);
        const char msg[] = "x";
        co_await c.write_all(std::as_bytes(std::span(msg, 1)));
      }(*client));
      co_await when_all(std::move(ts));
      // The recv is still armed (multishot): destroy the stream without close().
      *server = TcpStream();
      co_await sleep_for(5'000'000);  // the cancel's last CQE frees the orphaned state
      co_await client->close();
    }(w, *l));
  }
  CHECK(FramePool::stats().live == frames);
}

TEST_CASE("idle connections hold no buffer") {
  Worker w;
  auto l = TcpListener::bind(w, *Address::parse("127.0.0.1:0"));
  REQUIRE(l);
  w.block_on([](Worker& wk, TcpListener& lst) -> Task<void> {
    std::vector<TcpStream> clients, servers;
    co_await connect_pairs(wk, lst, 200, clients, servers);
    // Arm a recv on every server stream, then let the loop idle a little.
    for (auto& s : servers) {
      wk.spawn([](TcpStream& st) -> Task<void> { co_await st.recv(); }(s));
    }
    co_await sleep_for(20'000'000);
    CHECK(wk.pool().in_use() == wk.buffers().kernel_owned());  // only the kernel's ring holds any
    for (auto& s : servers) co_await s.close();
    for (auto& c : clients) co_await c.close();
    co_await sleep_for(5'000'000);
  }(w, *l));
  CHECK(w.live_tasks() == 0);
}

// The ring holds a small set of buffers that stay warm in the caches (ProvidedBuffers): 64 at
// rest, more while turns take many, back to 64 after two calm windows.
TEST_CASE("the provided-buffer ring follows bursts and shrinks back") {
  Worker w;
  REQUIRE(w.pool().count() > 1024);
  CHECK(w.buffers().depth() == ProvidedBuffers::kMinDepth);
  CHECK(w.buffers().kernel_owned() == ProvidedBuffers::kMinDepth);
  auto l = TcpListener::bind(w, *Address::parse("127.0.0.1:0"));
  REQUIRE(l);
  constexpr int kConns = 300;
  const int got = w.block_on([](Worker& wk, TcpListener& lst) -> Task<int> {
    std::vector<TcpStream> clients, servers;
    co_await connect_pairs(wk, lst, kConns, clients, servers);
    int received = 0;
    std::vector<Task<void>> ts;
    for (auto& s : servers)
      ts.push_back([](TcpStream& st, int& n) -> Task<void> {
        auto r = co_await st.recv();
        if (r && r->size() == 1) ++n;
      }(s, received));
    // Every client sends one byte in the same turn: their recvs complete together.
    ts.push_back([](std::vector<TcpStream>& cs) -> Task<void> {
      static const char one = 'x';
      std::vector<Task<void>> writes;
      for (auto& c : cs)
        writes.push_back([](TcpStream& cl) -> Task<void> {
          (void)co_await cl.write_all(std::as_bytes(std::span(&one, 1)));
        }(c));
      co_await when_all(std::move(writes));
    }(clients));
    co_await when_all(std::move(ts));
    for (auto& s : servers) co_await s.close();
    for (auto& c : clients) co_await c.close();
    co_return received;
  }(w, *l));
  CHECK(got == kConns);
  const uint32_t grown = w.buffers().depth();
  MESSAGE("ring depth after " << kConns << " recvs at once: " << grown);
  CHECK(grown > ProvidedBuffers::kMinDepth);
  // The rest of the burst's window, then two windows of quiet turns.
  w.block_on([]() -> Task<void> {
    for (uint32_t i = 0; i < 3 * ProvidedBuffers::kWindowTurns; ++i) co_await yield();
  }());
  CHECK(w.buffers().depth() == ProvidedBuffers::kMinDepth);
  CHECK(w.pool().in_use() == w.buffers().kernel_owned());
}

TEST_CASE("SEND_ZC of a 64 MiB payload arrives intact") {
  const auto payload = random_bytes(64u << 20, 99);
  const uint64_t expected = fnv1a(kFnvBasis, payload);
  Worker w;
  auto l = TcpListener::bind(w, *Address::parse("127.0.0.1:0"));
  REQUIRE(l);
  const uint64_t zc_before = w.stats().zc_sends;
  auto got = w.block_on([](Worker& wk, TcpListener& lst,
                           std::span<const std::byte> data) -> Task<std::pair<size_t, uint64_t>> {
    auto client = co_await TcpStream::connect(wk, lst.local_address());
    auto server = co_await lst.accept();
    auto [sent, received] = co_await when_all(send_half(*server, data), read_all(*client));
    CHECK(sent == data.size());
    co_await server->close();
    co_await client->close();
    co_return received;
  }(w, *l, payload));
  CHECK(got.first == payload.size());
  CHECK(got.second == expected);
  CHECK(w.stats().zc_sends > zc_before);  // the large write did go through SEND_ZC
}

TEST_CASE("a socket whose SEND_ZC the kernel copies (loopback) stops using SEND_ZC") {
  // Two writes above the SEND_ZC threshold, one after the other: the kernel (6.2+) reports
  // that it copied the first one's pages anyway, so the second is a plain send.
  const auto payload = random_bytes(2u << 20, 5);
  const uint64_t expected = fnv1a(kFnvBasis, payload);
  Worker w;
  auto l = TcpListener::bind(w, *Address::parse("127.0.0.1:0"));
  REQUIRE(l);
  const WorkerStats before = w.stats();
  auto got = w.block_on([](Worker& wk, TcpListener& lst,
                           std::span<const std::byte> data) -> Task<std::pair<size_t, uint64_t>> {
    auto client = co_await TcpStream::connect(wk, lst.local_address());
    auto server = co_await lst.accept();
    auto send_twice = [](TcpStream& s, std::span<const std::byte> d) -> Task<size_t> {
      const size_t half = d.size() / 2;
      if (!co_await s.write_all(d.first(half))) co_return 0;
      co_return co_await send_half(s, d.subspan(half)) + half;
    };
    auto [sent, received] = co_await when_all(send_twice(*server, data), read_all(*client));
    CHECK(sent == data.size());
    co_await server->close();
    co_await client->close();
    co_return received;
  }(w, *l, payload));
  CHECK(got.first == payload.size());
  CHECK(got.second == expected);
  const uint64_t zc = w.stats().zc_sends - before.zc_sends;
  const uint64_t copied = w.stats().zc_copied - before.zc_copied;
  MESSAGE("SEND_ZC: " << zc << ", reported copied: " << copied
                      << ", sends: " << w.stats().sends - before.sends);
  utsname u{};
  REQUIRE(uname(&u) == 0);
  unsigned major = 0, minor = 0;
  REQUIRE(std::sscanf(u.release, "%u.%u", &major, &minor) == 2);
  if (major > 6 || (major == 6 && minor >= 2)) {
    CHECK(copied == 1);
    CHECK(zc == 1);
  } else {
    MESSAGE("kernel " << u.release << " does not report SEND_ZC usage: every large write is ZC");
    CHECK(copied == 0);
    CHECK(zc >= 2);
  }
}

TEST_CASE("a gathered write of 3000 iovecs arrives intact, across short writes") {
  // More iovecs than one sendmsg takes (IOV_MAX), some empty, sizes 0..8000: the kernel accepts
  // a part at a time, so resubmissions start past whole iovecs and inside partly sent ones.
  const auto payload = random_bytes(16u << 20, 7);
  std::vector<iovec> iov;
  std::mt19937 rng(11);
  size_t at = 0;
  while (at < payload.size() && iov.size() < 3000) {
    size_t n = std::min<size_t>(rng() % 8001, payload.size() - at);
    if (iov.size() % 97 == 0) n = 0;
    iov.push_back({const_cast<std::byte*>(payload.data() + at), n});
    at += n;
  }
  REQUIRE(iov.size() == 3000);
  const auto sent_bytes = std::span(payload).first(at);
  const uint64_t expected = fnv1a(kFnvBasis, sent_bytes);
  Worker w;
  auto l = TcpListener::bind(w, *Address::parse("127.0.0.1:0"));
  REQUIRE(l);
  const uint64_t sends_before = w.stats().sends;
  auto got = w.block_on(
      [](Worker& wk, TcpListener& lst, std::span<iovec> v) -> Task<std::pair<size_t, uint64_t>> {
        auto client = co_await TcpStream::connect(wk, lst.local_address());
        auto server = co_await lst.accept();
        auto send = [](TcpStream& s, std::span<iovec> vs) -> Task<bool> {
          auto r = co_await s.write_all(vs);
          const bool ok = r.has_value();
          co_await s.shutdown_write();
          co_return ok;
        };
        auto [ok, received] = co_await when_all(send(*server, v), read_all(*client));
        CHECK(ok);
        co_await server->close();
        co_await client->close();
        co_return received;
      }(w, *l, iov));
  CHECK(got.first == sent_bytes.size());
  CHECK(got.second == expected);
  CHECK(w.stats().sends - sends_before >= 3);  // at least 3000 / IOV_MAX resubmissions
}

TEST_CASE("connecting to a closed port fails with ECONNREFUSED") {
  Worker w;
  Address closed;
  {
    auto l = TcpListener::bind(w, *Address::parse("127.0.0.1:0"));
    REQUIRE(l);
    closed = l->local_address();
  }  // the port is closed again
  auto r = w.block_on(TcpStream::connect(w, closed));
  REQUIRE_FALSE(r);
  CHECK(r.error() == ECONNREFUSED);
}

TEST_CASE("binding an address in use fails with EADDRINUSE") {
  Worker w;
  auto a = TcpListener::bind(w, *Address::parse("127.0.0.1:0"));
  REQUIRE(a);
  auto b = TcpListener::bind(w, a->local_address());
  REQUIRE_FALSE(b);
  CHECK(b.error() == EADDRINUSE);
}

TEST_CASE("closing a listener wakes a pending accept with ECANCELED") {
  Worker w;
  auto l = TcpListener::bind(w, *Address::parse("[::1]:0"));
  REQUIRE(l);
  int err = 0;
  std::vector<Task<void>> ts;
  ts.push_back([](TcpListener& lst, int& e) -> Task<void> {
    auto s = co_await lst.accept();
    e = s ? -1 : s.error();
  }(*l, err));
  ts.push_back([](TcpListener& lst) -> Task<void> {
    co_await sleep_for(5'000'000);
    lst.close();
  }(*l));
  w.block_on(when_all(std::move(ts)));
  CHECK(err == ECANCELED);
}

TEST_CASE("a worker runs until stop() and then returns") {
  Worker w;
  w.spawn([](Worker& wk) -> Task<void> {
    co_await sleep_for(2'000'000);
    wk.stop();
  }(w));
  w.run();
  CHECK(w.live_tasks() == 0);
}

TEST_CASE("half-close: the peer reads to EOF and can still answer") {
  Worker w;
  auto l = TcpListener::bind(w, *Address::parse("127.0.0.1:0"));
  REQUIRE(l);
  auto answer = w.block_on([](Worker& wk, TcpListener& lst) -> Task<std::string> {
    auto c = co_await TcpStream::connect(wk, lst.local_address());
    auto s = co_await lst.accept();
    const char q[] = "question";
    co_await c->write_all(std::as_bytes(std::span(q, 8)));
    co_await c->shutdown_write();
    std::string got;
    for (;;) {  // server: read until the client's FIN
      auto r = co_await s->recv();
      if (!r || r->empty()) break;
      got += r->view();
    }
    std::string reply = "answer to " + got;
    co_await s->write_all(std::as_bytes(std::span(reply)));
    co_await s->close();
    std::string back;
    for (;;) {
      auto r = co_await c->recv();
      if (!r || r->empty()) break;
      back += r->view();
    }
    co_await c->close();
    co_return back;
  }(w, *l));
  CHECK(answer == "answer to question");
}

TEST_CASE("recv_until: ETIMEDOUT at the deadline, and bytes arriving later are still read") {
  Worker w;
  auto l = TcpListener::bind(w, *Address::parse("127.0.0.1:0"));
  REQUIRE(l);
  auto [first, late, waited_ms] =
      w.block_on([](Worker& wk, TcpListener& lst) -> Task<std::tuple<int, std::string, uint64_t>> {
        auto c = co_await TcpStream::connect(wk, lst.local_address());
        auto s = co_await lst.accept();
        const uint64_t start = wk.now();
        auto r = co_await s->recv_until(wk.now() + 20'000'000);  // nothing sent: 20 ms
        const uint64_t waited = (wk.now() - start) / 1'000'000;
        const int err = r ? 0 : r.error();
        const char msg[] = "late";
        co_await c->write_all(std::as_bytes(std::span(msg, 4)));
        auto r2 = co_await s->recv_until(wk.now() + 2'000'000'000ull);
        std::string got = r2 ? std::string(r2->view()) : std::string("error");
        co_await c->close();
        co_await s->close();
        co_return std::tuple{err, got, waited};
      }(w, *l));
  CHECK(first == ETIMEDOUT);
  CHECK(waited_ms >= 20);
  CHECK(waited_ms < 1000);
  CHECK(late == "late");
}

TEST_CASE("connect with a timeout: a peer whose accept queue is full times out with ETIMEDOUT") {
  // A listening socket with backlog 0 that never accepts: once its queue is full, the kernel
  // drops further SYNs, so the next connect hangs until our deadline.
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(lfd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::listen(lfd, 0) == 0);
  socklen_t len = sizeof sa;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len);
  const Address target = Address::from(reinterpret_cast<sockaddr*>(&sa), len);
  Worker w;
  auto result = w.block_on([](Worker& wk, Address to) -> Task<std::pair<int, uint64_t>> {
    std::vector<TcpStream> filling;
    for (int i = 0; i < 8; ++i) {  // fill the accept queue (bounded)
      auto c = co_await TcpStream::connect(wk, to, 50'000'000);
      if (!c) {
        const int err = c.error();
        co_return std::pair{err, uint64_t{0}};
      }
      filling.push_back(std::move(*c));
    }
    co_return std::pair{0, uint64_t{0}};
  }(w, target));
  ::close(lfd);
  CHECK(result.first == ETIMEDOUT);
}
