// Engine to engine: a wolfSSL client over memory (test-only) against tls::Connection, through
// one pair of byte queues: bulk data both ways, close_notify, and a handshake / AES-GCM cost
// figure for the server side (printed, not asserted).
#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <random>

#include "kakehi/tls/connection.hpp"
#include "kakehi/tls/wolfssl.hpp"
#include "tls_support.hpp"

using namespace kakehi::tls;

namespace {

/// A wolfSSL client whose I/O callbacks read `in` and append to `out`.
struct Client {
  detail::CtxPtr ctx;
  detail::SslPtr ssl;
  ByteQueue in, out;

  explicit Client(const char* sni, const char* alpn = "http/1.1,h2",
                  WOLFSSL_SESSION* resume = nullptr, bool tls12 = false) {
    detail::ensure_init();
    ctx.reset(wolfSSL_CTX_new(tls12 ? wolfTLSv1_2_client_method() : wolfSSLv23_client_method()));
    REQUIRE(ctx);
    wolfSSL_CTX_set_verify(ctx.get(), WOLFSSL_VERIFY_NONE, nullptr);
    wolfSSL_CTX_SetIORecv(ctx.get(), [](WOLFSSL*, char* buf, int sz, void* self) {
      auto& q = static_cast<Client*>(self)->in;
      if (q.empty()) return static_cast<int>(WOLFSSL_CBIO_ERR_WANT_READ);
      const auto n = std::min(q.size(), static_cast<std::size_t>(sz));
      std::memcpy(buf, q.data().data(), n);
      q.consume(n);
      return static_cast<int>(n);
    });
    wolfSSL_CTX_SetIOSend(ctx.get(), [](WOLFSSL*, char* buf, int sz, void* self) {
      static_cast<Client*>(self)->out.append(
          std::span(reinterpret_cast<const std::byte*>(buf), static_cast<std::size_t>(sz)));
      return sz;
    });
    ssl.reset(wolfSSL_new(ctx.get()));
    REQUIRE(ssl);
    wolfSSL_SetIOReadCtx(ssl.get(), this);
    wolfSSL_SetIOWriteCtx(ssl.get(), this);
    if (sni)
      wolfSSL_UseSNI(ssl.get(), WOLFSSL_SNI_HOST_NAME, sni,
                     static_cast<unsigned short>(std::strlen(sni)));
    std::string a = alpn;
    wolfSSL_UseALPN(ssl.get(), a.data(), static_cast<unsigned>(a.size()),
                    WOLFSSL_ALPN_CONTINUE_ON_MISMATCH);
    if (resume) wolfSSL_set_session(ssl.get(), resume);
  }
  Client(const Client&) = delete;
};

/// Moves bytes both ways until the client's handshake and the server's are done.
bool handshake(Client& c, Connection& s, double* server_seconds = nullptr) {
  for (int i = 0; i < 20; ++i) {
    const int r = wolfSSL_connect(c.ssl.get());
    const auto t0 = std::chrono::steady_clock::now();
    auto p = s.feed(c.out.data());
    if (server_seconds)
      *server_seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    c.out.consume(c.out.size());
    if (!p) {
      MESSAGE("server: ", p.error().reason, " client: ", wolfSSL_get_error(c.ssl.get(), r));
      return false;
    }
    c.in.append(s.output());
    s.consume_output(s.output().size());
    if (r == WOLFSSL_SUCCESS && s.state() == ConnState::Open) return true;
  }
  MESSAGE("client: ", wolfSSL_get_error(c.ssl.get(), 0), " server state ",
          static_cast<int>(s.state()));
  return false;
}

std::shared_ptr<Context> p256_context() {
  auto ctx = *Context::create({});
  auto cert = ctx->load_certificate(kakehi::test::certs().source("p256"), kakehi::test::now_unix());
  REQUIRE(cert);
  ctx->set_resolver(ctx->resolver()->with("p256", *cert));
  return ctx;
}

}  // namespace

TEST_CASE("1 MiB each way, then close_notify from the client") {
  auto ctx = p256_context();
  Client c("p256.test");
  Connection s(ctx);
  REQUIRE(handshake(c, s));
  CHECK(s.handshake().alpn == "h2");
  CHECK(s.handshake().version == "TLSv1.3");

  std::vector<std::byte> up(1 << 20), down(1 << 20);
  std::mt19937 rng(7);
  for (auto& b : up) b = static_cast<std::byte>(rng());
  for (auto& b : down) b = static_cast<std::byte>(rng());

  // client -> server
  std::vector<std::byte> got;
  for (std::size_t off = 0; off < up.size(); off += 100000) {
    const int n = static_cast<int>(std::min<std::size_t>(100000, up.size() - off));
    REQUIRE(wolfSSL_write(c.ssl.get(), up.data() + off, n) == n);
    // Feed in odd-sized slices, as a receive ring would.
    auto wire = c.out.data();
    for (std::size_t w = 0; w < wire.size(); w += 1500) {
      auto p = s.feed(wire.subspan(w, std::min<std::size_t>(1500, wire.size() - w)));
      REQUIRE(p);
      got.insert(got.end(), s.plaintext().begin(), s.plaintext().end());
      s.consume_plaintext(s.plaintext().size());
    }
    c.out.consume(wire.size());
  }
  CHECK(got == up);

  // server -> client: one write() of 1 MiB becomes many records
  REQUIRE(s.write(down));
  CHECK(s.output().size() > down.size());
  c.in.append(s.output());
  s.consume_output(s.output().size());
  std::vector<std::byte> back(down.size());
  std::size_t have = 0;
  for (int i = 0; i < 1000 && have < back.size(); ++i) {
    const int r =
        wolfSSL_read(c.ssl.get(), back.data() + have, static_cast<int>(back.size() - have));
    if (r <= 0) break;
    have += static_cast<std::size_t>(r);
  }
  CHECK(have == back.size());
  CHECK(back == down);

  wolfSSL_shutdown(c.ssl.get());
  auto p = s.feed(c.out.data());
  REQUIRE(p);
  CHECK(p->peer_closed);
  CHECK(s.state() == ConnState::PeerClosed);
  s.shutdown();
  CHECK(s.state() == ConnState::Closed);
  CHECK(s.has_output());  // our close_notify
  CHECK_FALSE(s.write(up));
}

TEST_CASE("an output sink takes every record; a sink without room fails the write") {
  auto ctx = p256_context();
  Client c("p256.test");
  Connection s(ctx);
  REQUIRE(handshake(c, s));
  struct Room {
    ByteQueue got;
    std::size_t left = SIZE_MAX;
    int calls = 0;
  } room;
  s.set_output_sink({[](void* r, std::span<const std::byte> records) noexcept {
                       auto& rm = *static_cast<Room*>(r);
                       ++rm.calls;
                       if (records.size() > rm.left) return false;
                       rm.left -= records.size();
                       rm.got.append(records);
                       return true;
                     },
                     &room});
  std::vector<std::byte> down(100000);
  for (std::size_t i = 0; i < down.size(); ++i) down[i] = static_cast<std::byte>(i * 7);
  REQUIRE(s.write(down));
  CHECK_FALSE(s.has_output());  // nothing went to output()
  CHECK(room.calls >= 7);       // 100000 bytes are at least 7 records of 16 KiB
  c.in.append(room.got.data());
  std::vector<std::byte> back(down.size());
  std::size_t have = 0;
  for (int i = 0; i < 100 && have < back.size(); ++i) {
    const int r =
        wolfSSL_read(c.ssl.get(), back.data() + have, static_cast<int>(back.size() - have));
    if (r <= 0) break;
    have += static_cast<std::size_t>(r);
  }
  CHECK(have == back.size());
  CHECK(back == down);

  room.left = 100;  // less than one record of the next write
  auto w = s.write(down);
  REQUIRE_FALSE(w);
  CHECK(w.error().code == TlsErrorCode::ProtocolError);
  CHECK(s.state() == ConnState::Failed);
}

TEST_CASE("a plaintext sink gets the decrypted bytes; without room they queue, in order") {
  auto ctx = p256_context();
  Client c("p256.test");
  Connection s(ctx);
  REQUIRE(handshake(c, s));
  // Lends 5000-byte pieces of `buf` while `open`; what was committed is `got`.
  struct Sink {
    std::vector<std::byte> buf = std::vector<std::byte>(5000);
    std::vector<std::byte> got;
    bool open = true;
    int rooms = 0, commits = 0;
  } sink;
  s.set_plaintext_sink({[](void* k) noexcept {
                          auto& sk = *static_cast<Sink*>(k);
                          ++sk.rooms;
                          return sk.open ? std::span<std::byte>(sk.buf) : std::span<std::byte>();
                        },
                        [](void* k, std::size_t n) noexcept {
                          auto& sk = *static_cast<Sink*>(k);
                          ++sk.commits;
                          sk.got.insert(sk.got.end(), sk.buf.begin(),
                                        sk.buf.begin() + static_cast<std::ptrdiff_t>(n));
                        },
                        &sink});
  std::vector<std::byte> up(120000);
  std::mt19937 rng(11);
  for (auto& b : up) b = static_cast<std::byte>(rng());
  auto send = [&](std::size_t from, std::size_t n) {
    REQUIRE(wolfSSL_write(c.ssl.get(), up.data() + from, static_cast<int>(n)) ==
            static_cast<int>(n));
    auto p = s.feed(c.out.data());
    c.out.consume(c.out.size());
    REQUIRE(p);
  };
  send(0, 40000);  // three records, each taken in 5000-byte pieces
  CHECK(s.plaintext().empty());
  CHECK(sink.got.size() == 40000);
  CHECK(sink.rooms == sink.commits);
  sink.open = false;  // no room: the engine keeps the next bytes itself
  send(40000, 30000);
  CHECK(sink.got.size() == 40000);
  CHECK(s.plaintext().size() == 30000);
  sink.open = true;  // room again, but plaintext() is not empty: the bytes queue behind it
  send(70000, 20000);
  CHECK(sink.got.size() == 40000);
  CHECK(s.plaintext().size() == 50000);
  std::vector<std::byte> all = sink.got;
  all.insert(all.end(), s.plaintext().begin(), s.plaintext().end());
  s.consume_plaintext(s.plaintext().size());
  sink.got.clear();
  send(90000, 30000);  // plaintext() drained: the sink again
  CHECK(s.plaintext().empty());
  CHECK(sink.got.size() == 30000);
  CHECK(sink.rooms == sink.commits);
  all.insert(all.end(), sink.got.begin(), sink.got.end());
  CHECK(all == up);
}

TEST_CASE("a wolfSSL client resumes with its TLS 1.2 session; ALPN http/1.1 only") {
  auto ctx = p256_context();
  WOLFSSL_SESSION* session = nullptr;
  {
    Client c("p256.test", "http/1.1", nullptr, true);
    Connection s(ctx);
    REQUIRE(handshake(c, s));
    CHECK(s.handshake().alpn == "http/1.1");
    CHECK(s.handshake().version == "TLSv1.2");
    session = wolfSSL_get1_session(c.ssl.get());
    REQUIRE(session != nullptr);
  }
  Client c("p256.test", "http/1.1", session, true);
  Connection s(ctx);
  REQUIRE(handshake(c, s));
  CHECK(s.handshake().resumed);
  wolfSSL_SESSION_free(session);
}

TEST_CASE("figure: server CPU per full TLS 1.3 handshake and AES-128-GCM decrypt rate") {
  auto ctx = p256_context();
  constexpr int kHandshakes = 200;
  double server_s = 0;
  for (int i = 0; i < kHandshakes; ++i) {
    Client c("p256.test");
    Connection s(ctx);
    REQUIRE(handshake(c, s, &server_s));
  }
  Client c("p256.test");
  Connection s(ctx);
  REQUIRE(handshake(c, s));
  std::vector<std::byte> chunk(16384, std::byte{1});
  double feed_s = 0;
  constexpr int kRounds = 64;  // 64 x 1 MiB
  for (int i = 0; i < kRounds; ++i) {
    for (int k = 0; k < 64; ++k)
      REQUIRE(wolfSSL_write(c.ssl.get(), chunk.data(), static_cast<int>(chunk.size())) > 0);
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(s.feed(c.out.data()));
    feed_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    c.out.consume(c.out.size());
    CHECK(s.plaintext().size() == 64 * chunk.size());
    s.consume_plaintext(s.plaintext().size());
  }
  MESSAGE("server side of a full TLS 1.3 handshake (X25519, ECDSA P-256, wolfSSL client): ",
          server_s / kHandshakes * 1e6, " us; feed() decrypt: ", (kRounds * 1.0) / feed_s,
          " MiB/s");
}
