#include "kakehi/net/address.hpp"

#include <doctest/doctest.h>

using kakehi::net::Address;

TEST_CASE("addresses parse and print back") {
  for (const char* s : {"127.0.0.1:8080", "[::1]:443", "0.0.0.0:0", "[2001:db8::1]:65535"}) {
    auto a = Address::parse(s);
    REQUIRE(a.has_value());
    CHECK(a->to_string() == s);
  }
  CHECK(Address::parse("127.0.0.1:8080")->port() == 8080);
  CHECK(Address::parse("[::1]:1")->family() == AF_INET6);
}

TEST_CASE("malformed addresses are rejected") {
  for (const char* s : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "localhost:80",
                        "[::1]443", "[::1:80", "1.2.3.4:8x", "::1:80"})
    CHECK_FALSE(Address::parse(s).has_value());
}
