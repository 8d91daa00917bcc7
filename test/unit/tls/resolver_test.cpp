// Resolver snapshots: matching table, expiry preference, default, add/replace/remove.
#include <doctest/doctest.h>

#include "kakehi/tls/resolver.hpp"
#include "tls_support.hpp"

using namespace kakehi::tls;

namespace {

/// A certificate object with the given names and expiry (the wolfSSL context is not used by
/// the resolver, so one real context is shared through distinct ServerCertificate objects).
std::shared_ptr<const ServerCertificate> fake(std::vector<std::string> names,
                                              std::int64_t not_after) {
  return std::make_shared<const ServerCertificate>(nullptr, nullptr, std::move(names), 0, not_after,
                                                   KeyKind::EcdsaP256, 1);
}

}  // namespace

TEST_CASE("matching table") {
  auto a = fake({"example.com", "www.example.com"}, 100);
  auto w = fake({"*.example.com"}, 100);
  auto other = fake({"other.test"}, 100);
  auto r = std::make_shared<const CertificateResolver>()
               ->with("other", other)
               ->with("a", a)
               ->with("w", w);
  struct Row {
    const char* sni;
    const ServerCertificate* want;
    bool by_name;
  } rows[] = {
      {"example.com", a.get(), true},
      {"EXAMPLE.com.", a.get(), true},          // case and trailing dot
      {"www.example.com", a.get(), true},       // exact beats wildcard
      {"api.example.com", w.get(), true},       // wildcard, one label
      {"a.b.example.com", other.get(), false},  // two labels: not covered -> default
      {"xexample.com", other.get(), false},
      {".example.com", other.get(), false},
      {"other.test", other.get(), true},
      {"", other.get(), false},  // no SNI -> default (first added)
      {"unknown.test", other.get(), false},
  };
  for (const auto& row : rows) {
    auto m = r->resolve(row.sni);
    CHECK_MESSAGE(m.cert.get() == row.want, row.sni);
    CHECK_MESSAGE(m.by_name == row.by_name, row.sni);
  }
}

TEST_CASE("several certificates for a name: the one that expires last") {
  auto early = fake({"x.test", "*.x.test"}, 100);
  auto late = fake({"x.test"}, 200);
  auto late_wild = fake({"*.x.test"}, 300);
  auto r = std::make_shared<const CertificateResolver>()
               ->with("early", early)
               ->with("late", late)
               ->with("late_wild", late_wild);
  CHECK(r->resolve("x.test").cert == late);
  CHECK(r->resolve("a.x.test").cert == late_wild);
}

TEST_CASE("snapshots are immutable: add, replace, remove, default") {
  auto one = fake({"a.test"}, 100);
  auto two = fake({"a.test"}, 50);
  auto base = std::make_shared<const CertificateResolver>()->with("a", one);
  auto replaced = base->with("a", two);
  CHECK(base->resolve("a.test").cert == one);  // the old snapshot is untouched
  CHECK(replaced->resolve("a.test").cert == two);
  CHECK(replaced->entries().size() == 1);
  auto b = fake({"b.test"}, 100);
  auto both = replaced->with("b", b);
  CHECK(both->default_id() == "a");
  auto def_b = both->with_default("b");
  REQUIRE(def_b);
  CHECK(def_b->resolve("nothing.test").cert == b);
  CHECK(both->with_default("missing") == nullptr);
  auto removed = def_b->without("b");
  CHECK(removed->default_id() == "a");
  CHECK(removed->resolve("b.test").cert == two);  // unknown now -> default
  CHECK_FALSE(removed->resolve("b.test").by_name);
  auto empty = removed->without("a");
  CHECK(empty->empty());
  CHECK(empty->resolve("a.test").cert == nullptr);
}
