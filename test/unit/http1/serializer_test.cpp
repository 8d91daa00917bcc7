// HTTP/1.1 serializer: heads into pool buffers, framing replacement, zero-copy bodies, re-chunking
// and pool exhaustion.
#include <doctest/doctest.h>

#include <cstring>

#include "harness.hpp"
#include "kakehi/buffer/buffer_pool.hpp"
#include "kakehi/http1/serializer.hpp"

using namespace kakehi;
using namespace kakehi::http1;
using http::BodyKind;
using http::Framing;

namespace {

std::string flatten(const buffer::BufferChain& c) {
  std::string s;
  for (const auto& sl : c.slices()) s += sl.view();
  return s;
}

buffer::Slice slice_of(buffer::BufferPool& pool, std::string_view s) {
  auto b = pool.acquire();
  REQUIRE(b);
  std::memcpy(b->writable().data(), s.data(), s.size());
  b->remove_suffix(static_cast<uint32_t>(b->size() - s.size()));
  return std::move(*b);
}

}  // namespace

TEST_CASE("outgoing framing") {
  CHECK(outgoing_framing({BodyKind::Close, 0}, 11) == Framing{BodyKind::Chunked, 0});
  CHECK(outgoing_framing({BodyKind::Close, 0}, 10) == Framing{BodyKind::Close, 0});
  CHECK(outgoing_framing({BodyKind::Chunked, 0}, 11) == Framing{BodyKind::Chunked, 0});
  CHECK(outgoing_framing({BodyKind::ContentLength, 9}, 10) == Framing{BodyKind::ContentLength, 9});
  CHECK(outgoing_framing({BodyKind::None, 0}, 11) == Framing{BodyKind::None, 0});
}

TEST_CASE("framing fields are replaced, never duplicated") {
  http::Request r;
  r.method = "POST";
  r.path = "/x";
  r.authority = "h";
  r.fields.add("Content-Length", "999");
  r.fields.add("Transfer-Encoding", "chunked");
  r.fields.add("A", "b");
  buffer::BufferPool pool(2, 512);
  auto h = write_request_head(pool, r, {BodyKind::ContentLength, 5}, {.connection_close = true});
  REQUIRE(h);
  CHECK(h->view() ==
        "POST /x HTTP/1.1\r\nHost: h\r\nA: b\r\nContent-Length: 5\r\nConnection: close\r\n\r\n");
  auto c = write_request_head(pool, r, {BodyKind::Chunked, 0});
  REQUIRE(c);
  CHECK(c->view().find("Transfer-Encoding: chunked\r\n\r\n") != std::string_view::npos);
  CHECK(c->view().find("999") == std::string_view::npos);
}

TEST_CASE("HEAD/304 responses keep their Content-Length when framing is none") {
  http::Response r;
  r.status = 304;
  r.fields.add("Content-Length", "1234");
  buffer::BufferPool pool(1, 512);
  auto h = write_response_head(pool, r, {BodyKind::None, 0});
  REQUIRE(h);
  CHECK(h->view() == "HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n");
}

TEST_CASE("upgrade head adds Connection: upgrade") {
  http::Response r;
  r.status = 101;
  r.fields.add("Upgrade", "websocket");
  buffer::BufferPool pool(1, 512);
  auto h = write_response_head(pool, r, {BodyKind::Upgrade, 0}, {.upgrade = true});
  REQUIRE(h);
  CHECK(h->view() ==
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
}

TEST_CASE("pool exhaustion and oversized heads are clear errors") {
  buffer::BufferPool pool(1, 64);
  auto held = pool.acquire();
  http::Request r;
  r.method = "GET";
  r.path = "/";
  auto e = write_request_head(pool, r, {});
  REQUIRE_FALSE(e);
  CHECK(e.error() == SerializeError::PoolExhausted);
  held.reset();
  r.fields.add("Big", std::string_view("0123456789012345678901234567890123456789012345678901234"));
  auto big = write_request_head(pool, r, {});
  REQUIRE_FALSE(big);
  CHECK(big.error() == SerializeError::HeadTooLarge);
  CHECK(std::string_view(reason(SerializeError::PoolExhausted)).find("exhausted") !=
        std::string_view::npos);
  CHECK(pool.in_use() == 0);  // the failed head gave its buffer back
}

TEST_CASE("identity bodies pass through as the same slices") {
  buffer::BufferPool pool(4, 256);
  buffer::BufferChain chain;
  BodyWriter w(pool, {BodyKind::ContentLength, 5});
  auto data = slice_of(pool, "hello");
  const std::byte* where = data.data();
  REQUIRE(w.write(data, chain));
  REQUIRE(w.finish({}, chain));
  REQUIRE(chain.slice_count() == 1);
  CHECK(chain.slices()[0].data() == where);  // no copy
}

TEST_CASE("re-chunking: chunk lines around untouched payload slices, then trailers") {
  buffer::BufferPool pool(4, 256);
  buffer::BufferChain chain;
  BodyWriter w(pool, {BodyKind::Chunked, 0});
  auto a = slice_of(pool, "hello");
  auto b = slice_of(pool, std::string(26, 'z'));
  const std::byte* where = b.data();
  REQUIRE(w.write(a, chain));
  REQUIRE(w.write(b, chain));
  REQUIRE(w.write(buffer::Slice{}, chain));  // empty writes add nothing
  http::FieldList tr;
  tr.add("X-Sum", "42");
  REQUIRE(w.finish(tr, chain));
  CHECK(flatten(chain) ==
        "5\r\nhello\r\n1a\r\n" + std::string(26, 'z') + "\r\n0\r\nX-Sum: 42\r\n\r\n");
  bool found = false;
  for (const auto& s : chain.slices()) found |= s.data() == where;
  CHECK(found);
  // The output parses back to the same body and trailer.
  std::string wire =
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + flatten(chain);
  auto run = test::parse_request(wire);
  REQUIRE(run.ok());
  CHECK(run.msgs[0].body == "hello" + std::string(26, 'z'));
  CHECK(run.msgs[0].trailers.at(0).second == "42");
  // Chunk lines share one scratch buffer: 2 data buffers + 1 scratch.
  CHECK(pool.in_use() == 3);
  chain.clear();
  a.reset();
  b.reset();
}

TEST_CASE("empty chunked body is just the last chunk") {
  buffer::BufferPool pool(2, 64);
  buffer::BufferChain chain;
  BodyWriter w(pool, {BodyKind::Chunked, 0});
  REQUIRE(w.finish({}, chain));
  CHECK(flatten(chain) == "0\r\n\r\n");
}

TEST_CASE("chunk writer reports pool exhaustion") {
  buffer::BufferPool pool(1, 64);
  auto data = slice_of(pool, "x");  // takes the only buffer
  buffer::BufferChain chain;
  BodyWriter w(pool, {BodyKind::Chunked, 0});
  auto r = w.write(data, chain);
  REQUIRE_FALSE(r);
  CHECK(r.error() == SerializeError::PoolExhausted);
}
