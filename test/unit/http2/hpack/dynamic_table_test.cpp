// HPACK dynamic table (RFC 7541 §4) and static table (Appendix A): sizes, FIFO eviction,
// storage compaction, limit changes, and the static lookup used by the encoder.
#include "kakehi/http2/hpack/dynamic_table.hpp"

#include <doctest/doctest.h>

#include <deque>
#include <random>
#include <string>
#include <utility>

#include "kakehi/http2/hpack/static_table.hpp"

namespace kakehi::http2::hpack {
namespace {

TEST_CASE("size counts name + value + 32 per entry (§4.1); newest is index 1") {
  DynamicTable t(4096);
  CHECK(t.max_size() == 4096);
  REQUIRE(t.insert("custom-key", "custom-header"));
  CHECK(t.size() == 55);
  REQUIRE(t.insert(":authority", "www.example.com"));
  CHECK(t.size() == 55 + 57);
  CHECK(t.count() == 2);
  CHECK(t.at(1).name == ":authority");
  CHECK(t.at(2).value == "custom-header");
}

TEST_CASE("an entry of exactly max_size fits; one byte more empties the table (§4.4)") {
  DynamicTable t(100);
  CHECK(t.max_size() == 100);
  REQUIRE(t.insert("a", "b"));
  REQUIRE(t.insert(std::string(30, 'n'), std::string(38, 'v')));  // 30 + 38 + 32 = 100
  CHECK(t.count() == 1);
  CHECK(t.size() == 100);
  CHECK_FALSE(t.insert(std::string(30, 'n'), std::string(39, 'v')));
  CHECK(t.count() == 0);
  CHECK(t.size() == 0);
}

TEST_CASE("FIFO eviction and byte-buffer compaction keep every entry intact") {
  DynamicTable t(256);
  // Entries of varying sizes, far more bytes than the buffer holds, so it compacts often.
  for (int i = 0; i < 2000; ++i) {
    const std::string name = "n" + std::to_string(i);
    const std::string value(static_cast<std::size_t>(i % 97), static_cast<char>('a' + i % 26));
    REQUIRE(t.insert(name, value));
    CHECK(t.size() <= 256);
    // The newest entries are intact, in order.
    for (std::uint32_t k = 1; k <= t.count(); ++k) {
      const int j = i - static_cast<int>(k) + 1;
      const auto e = t.at(k);
      REQUIRE(e.name == "n" + std::to_string(j));
      REQUIRE(e.value ==
              std::string(static_cast<std::size_t>(j % 97), static_cast<char>('a' + j % 26)));
    }
  }
}

TEST_CASE("set_max_size evicts from the oldest; 0 empties") {
  DynamicTable t(4096);
  for (int i = 0; i < 10; ++i) REQUIRE(t.insert("k", std::to_string(i)));  // 34 each
  t.set_max_size(34 * 3);
  CHECK(t.count() == 3);
  CHECK(t.at(3).value == "7");
  t.set_max_size(0);
  CHECK(t.count() == 0);
  CHECK_FALSE(t.insert("k", "v"));
}

TEST_CASE("raising the size limit keeps the entries") {
  DynamicTable t(128);
  REQUIRE(t.insert("a", "1"));
  REQUIRE(t.insert("b", "2"));
  t.set_size_limit(8192);
  CHECK(t.max_size() == 128);
  CHECK(t.count() == 2);
  CHECK(t.at(1).name == "b");
  t.set_max_size(8192);
  for (int i = 0; i < 150; ++i) REQUIRE(t.insert("x", std::string(8, 'y')));  // 41 each
  CHECK(t.count() == 152);
  CHECK(t.size() == 150 * 41 + 2 * 34);
  CHECK(t.at(152).name == "a");
}

TEST_CASE("storage: nothing before the first entry, grown with the entries, 2 x limit at most") {
  DynamicTable t(4096);
  CHECK(t.capacity_bytes() == 0);  // a connection that never indexes a field holds nothing
  REQUIRE(t.insert("k", "v"));
  const std::uint64_t first = t.capacity_bytes();
  CHECK(first > 0);
  CHECK(first <= 512);
  std::uint64_t most = 0;
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(
        t.insert("name" + std::to_string(i), std::string(static_cast<std::size_t>(i % 60), 'v')));
    most = std::max(most, t.capacity_bytes());
  }
  // 2 x 4096 bytes and 4096 / 32 + 1 -> 256 records of 16 bytes: the fixed storage of before.
  CHECK(most <= 2 * 4096 + 256 * 16);
  t.set_size_limit(256);  // storage beyond what the new limit can use is given back
  CHECK(t.capacity_bytes() <= 2 * 256 + 16 * 16);
  CHECK(t.size() <= 256);
}

// Random inserts, maximum sizes and size limits against a plain FIFO model of §4.
TEST_CASE("random operations match a FIFO model through every growth and shrink") {
  std::mt19937 rng(20261129);
  DynamicTable t(4096);
  std::deque<std::pair<std::string, std::string>> model;  // front: newest
  std::uint32_t max_size = 4096, limit = 4096;
  auto model_size = [&] {
    std::uint64_t n = 0;
    for (const auto& [k, v] : model) n += k.size() + v.size() + kEntryOverhead;
    return n;
  };
  auto evict_to = [&](std::uint64_t cap) {
    while (model_size() > cap) model.pop_back();
  };
  for (int step = 0; step < 20000; ++step) {
    const unsigned op = rng() % 100;
    if (op < 90) {
      std::string name(1 + rng() % 20, static_cast<char>('a' + rng() % 26));
      std::string value(rng() % (rng() % 8 == 0 ? 600 : 40), static_cast<char>('A' + rng() % 26));
      const std::uint64_t entry = name.size() + value.size() + kEntryOverhead;
      const bool fits = entry <= max_size;
      REQUIRE(t.insert(name, value) == fits);
      if (fits) {
        evict_to(max_size - entry);
        model.emplace_front(std::move(name), std::move(value));
      } else {
        model.clear();
      }
    } else if (op < 95) {
      max_size = static_cast<std::uint32_t>(rng() % (limit + 1));
      t.set_max_size(max_size);
      evict_to(max_size);
    } else {
      limit = static_cast<std::uint32_t>(64 + rng() % 8192);
      t.set_size_limit(limit);
      max_size = std::min(max_size, limit);
      evict_to(max_size);
      if (rng() % 2) {
        max_size = limit;
        t.set_max_size(max_size);
      }
    }
    REQUIRE(t.count() == model.size());
    REQUIRE(t.size() == model_size());
    REQUIRE(t.capacity_bytes() <= std::uint64_t{limit} * 2 + (limit / 32 + 1) * 2 * 16);
    for (std::uint32_t i = 1; i <= t.count(); ++i) {
      REQUIRE(t.at(i).name == model[i - 1].first);
      REQUIRE(t.at(i).value == model[i - 1].second);
    }
  }
}

TEST_CASE("static table: every entry is found exactly, every name at its first index") {
  for (std::uint32_t i = 1; i <= kStaticTableSize; ++i) {
    const auto& e = kStaticTable[i - 1];
    const auto m = find_static(e.name, e.value, detail::hash_bytes(e.name));
    CAPTURE(e.name);
    CHECK(m.exact);
    CHECK(m.index == i);
    const auto n = find_static(e.name, "no such value", detail::hash_bytes(e.name));
    CHECK_FALSE(n.exact);
    CHECK(kStaticTable[n.index - 1].name == e.name);
    CHECK((n.index == 1 || kStaticTable[n.index - 2].name != e.name));
  }
  CHECK(find_static("x-unknown", "", detail::hash_bytes("x-unknown")).index == 0);
  CHECK(find_static(":statu", "", detail::hash_bytes(":statu")).index == 0);
}

TEST_CASE("hash: same value at compile time and at run time, for every length class") {
  constexpr std::uint64_t k3 = detail::hash_bytes("abc");
  constexpr std::uint64_t k5 = detail::hash_bytes("abcde");
  constexpr std::uint64_t k17 = detail::hash_bytes("abcdefghijklmnopq");
  std::string a = "abc", b = "abcde", c = "abcdefghijklmnopq";
  CHECK(detail::hash_bytes(a) == k3);
  CHECK(detail::hash_bytes(b) == k5);
  CHECK(detail::hash_bytes(c) == k17);
  CHECK(detail::hash_bytes("abd") != k3);
}

}  // namespace
}  // namespace kakehi::http2::hpack
