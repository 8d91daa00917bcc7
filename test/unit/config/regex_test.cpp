#include "kakehi/config/regex.hpp"

#include <doctest/doctest.h>

using kakehi::config::Regex;

namespace {
bool m(const char* pattern, const char* s) {
  auto r = Regex::compile(pattern);
  REQUIRE_MESSAGE(r.has_value(), pattern);
  return r->full_match(s);
}
}  // namespace

TEST_CASE("regex: whole-string matching with the supported syntax") {
  CHECK(m("^abc$", "abc"));
  CHECK_FALSE(m("^abc$", "abcd"));
  CHECK_FALSE(m("^abc$", "xabc"));
  CHECK(m("^$", ""));
  CHECK_FALSE(m("^$", "a"));
  CHECK(m("^a.c$", "a-c"));
  CHECK(m("^a*$", ""));
  CHECK(m("^a*$", "aaaa"));
  CHECK_FALSE(m("^a+$", ""));
  CHECK(m("^a+b?$", "aab"));
  CHECK(m("^(ab|cd)+$", "abcdab"));
  CHECK_FALSE(m("^(ab|cd)+$", "abc"));
  CHECK(m("^(?:x|y)z$", "yz"));
  CHECK(m("^/api/[0-9]+$", "/api/123"));
  CHECK_FALSE(m("^/api/[0-9]+$", "/api/12a"));
  CHECK(m("^[^/]+$", "abc"));
  CHECK_FALSE(m("^[^/]+$", "a/c"));
  CHECK(m("^\\d\\w\\s$", "1_ "));
  CHECK(m("^[\\d.]+$", "1.2.3"));
  CHECK(m("^a\\.b$", "a.b"));
  CHECK_FALSE(m("^a\\.b$", "axb"));
  CHECK(m("^[a-c-]+$", "a-b-c"));
  CHECK(m("^[]a]+$", "]a"));
  CHECK(m("^(a*)*$", "aaaa"));  // nested star: no blow-up, no infinite loop
  CHECK(m("^(a|)+$", "aa"));
  CHECK(m("^.*\\.example\\.com$", "x.y.example.com"));
}

TEST_CASE("regex: pathological patterns stay linear") {
  std::string s(2000, 'a');
  CHECK_FALSE(m("^(a*)*b$", s.c_str()));
  CHECK(m("^(a|aa)*$", s.c_str()));
}

TEST_CASE("regex: rejected patterns") {
  for (const char* p : {"abc", "^abc", "abc$", "^", "^a\\$", "^a(b$", "^a)b$", "^*a$", "^a{2}$",
                        "^a^b$", "^a$b$", "^[a$", "^[b-a]$", "^\\q$", "^a\\"})
    CHECK_FALSE_MESSAGE(Regex::compile(p).has_value(), p);
  std::string big = "^" + std::string(600, 'a') + "$";
  CHECK_FALSE(Regex::compile(big).has_value());
}
