// BufferPool / Slice / BufferChain: reference counting, exhaustion, kernel hand-off, consume.
#include "kakehi/buffer/buffer_pool.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "kakehi/buffer/chain.hpp"

using kakehi::buffer::BufferChain;
using kakehi::buffer::BufferPool;
using kakehi::buffer::Slice;

TEST_CASE("a buffer returns to the pool when its last slice goes") {
  BufferPool pool(2, 128);
  auto a = pool.acquire();
  REQUIRE(a);
  CHECK(pool.free_count() == 1);
  Slice head = a->sub(0, 10);
  Slice tail = a->sub(10, 20);
  a.reset();
  CHECK(pool.free_count() == 1);  // head and tail still refer to it
  head.reset();
  CHECK(pool.free_count() == 1);
  tail.reset();
  CHECK(pool.free_count() == 2);
  CHECK(pool.in_use() == 0);
}

TEST_CASE("acquire fails cleanly when the pool is exhausted, and recovers") {
  BufferPool pool(3, 64);
  std::vector<Slice> held;
  for (int i = 0; i < 3; ++i) held.push_back(*pool.acquire());
  CHECK_FALSE(pool.acquire().has_value());
  CHECK(pool.stats().acquire_failures == 1);
  held.pop_back();
  CHECK(pool.acquire().has_value());
}

TEST_CASE("kernel-owned buffers: take, adopt as a slice, keep a writer reserve") {
  BufferPool pool(4, 64);
  auto k1 = pool.take_for_kernel(2);
  auto k2 = pool.take_for_kernel(2);
  CHECK(k1);
  CHECK(k2);
  CHECK_FALSE(pool.take_for_kernel(2));  // two left for writers
  std::memcpy(pool.data(*k1), "hello", 5);
  Slice s = pool.adopt(*k1, 5);
  CHECK(s.view() == "hello");
  pool.give_back(*k2);
  CHECK(pool.free_count() == 3);
  s.reset();
  CHECK(pool.free_count() == 4);
}

TEST_CASE("slices: copy and move keep one reference each; writable only when unique") {
  BufferPool pool(1, 64);
  Slice a = *pool.acquire();
  auto w = a.writable();
  std::memcpy(w.data(), "abcdef", 6);
  a.remove_suffix(64 - 6);
  CHECK(a.view() == "abcdef");
  Slice b = a;
  CHECK_FALSE(a.unique());
  Slice c = std::move(b);
  CHECK(b.empty());
  CHECK(c.view() == "abcdef");
  c.remove_prefix(2);
  CHECK(c.view() == "cdef");
  CHECK(c.tailroom() == 64 - 6);
  a.reset();
  CHECK(c.unique());
}

TEST_CASE("BufferChain consumes partial sends and releases whole slices") {
  BufferPool pool(3, 64);
  BufferChain chain;
  for (const char* text : {"hello ", "big ", "world"}) {
    Slice s = *pool.acquire();
    std::memcpy(s.writable().data(), text, std::strlen(text));
    s.remove_suffix(64 - static_cast<uint32_t>(std::strlen(text)));
    chain.append(std::move(s));
  }
  CHECK(chain.size() == 15);
  iovec iov[2];
  CHECK(chain.fill_iovecs(iov) == 2);
  CHECK(iov[0].iov_len == 6);
  chain.consume(8);  // "hello " and "bi"
  CHECK(pool.free_count() == 1);
  CHECK(chain.slices()[0].view() == "g ");
  chain.consume(7);
  CHECK(chain.empty());
  CHECK(pool.free_count() == 3);
}

TEST_CASE("BufferChain::append_into_tail fills the last buffer only when it owns it alone") {
  BufferPool pool(2, 64);
  BufferChain chain;
  auto bytes = [](std::string_view s) { return std::as_bytes(std::span(s)); };
  CHECK(chain.append_into_tail(bytes("x")) == 0);  // no slice yet
  Slice s = *pool.acquire();
  std::memcpy(s.writable().data(), "ab", 2);
  s.remove_suffix(62);
  chain.append(std::move(s));
  CHECK(chain.append_into_tail(bytes("cdef")) == 4);
  CHECK(chain.size() == 6);
  CHECK(chain.slices()[0].view() == "abcdef");
  const std::string rest(70, 'r');
  CHECK(chain.append_into_tail(bytes(rest)) == 58);  // up to the buffer's end
  CHECK(chain.slices()[0].view() == "abcdef" + std::string(58, 'r'));
  CHECK(chain.size() == 64);
  CHECK(pool.free_count() == 1);
  // Shared (e.g. a write holds it): untouched.
  BufferChain other;
  Slice t = *pool.acquire();
  t.remove_suffix(63);
  other.append(t);
  CHECK(other.append_into_tail(bytes("zz")) == 0);
}
