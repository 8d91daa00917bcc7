#include "kakehi/proxy/load_balancer.hpp"

#include <doctest/doctest.h>

#include <array>
#include <vector>

using kakehi::config::LbAlgorithm;
using kakehi::proxy::BackendState;
using kakehi::proxy::find_sticky;
using kakehi::proxy::LoadBalancer;
using kakehi::proxy::Rng;

namespace {
BackendState be(std::string_view id, uint32_t weight = 100, bool up = true, bool backup = false,
                uint32_t conns = 0) {
  return BackendState{id, {}, weight, backup, up, conns};
}
std::vector<int> counts(LoadBalancer& lb, const std::vector<BackendState>& b, int n, Rng& rng) {
  std::vector<int> c(b.size() + 1, 0);
  for (int i = 0; i < n; ++i) {
    auto p = lb.pick(b, rng);
    ++c[p ? *p : b.size()];
  }
  return c;
}
}  // namespace

TEST_CASE("round robin cycles over eligible backends") {
  LoadBalancer lb(LbAlgorithm::RoundRobin);
  Rng rng(1);
  std::vector<BackendState> b = {be("a"), be("b", 100, false), be("c"), be("d", 0), be("e")};
  std::vector<std::size_t> seq;
  for (int i = 0; i < 6; ++i) seq.push_back(*lb.pick(b, rng));
  CHECK(seq == std::vector<std::size_t>{0, 2, 4, 0, 2, 4});
}

TEST_CASE("backups serve only when no primary is eligible; nothing eligible is nullopt") {
  Rng rng(2);
  for (auto alg : {LbAlgorithm::RoundRobin, LbAlgorithm::Random, LbAlgorithm::LeastConnections,
                   LbAlgorithm::PowerOfTwo}) {
    LoadBalancer lb(alg);
    std::vector<BackendState> b = {be("p1"), be("bk", 100, true, true), be("p2")};
    auto c = counts(lb, b, 300, rng);
    CHECK(c[1] == 0);
    CHECK(c[0] + c[2] == 300);
    b[0].up = false;
    b[2].weight = 0;
    c = counts(lb, b, 50, rng);
    CHECK(c[1] == 50);
    b[1].up = false;
    CHECK_FALSE(lb.pick(b, rng).has_value());
    CHECK_FALSE(lb.pick({}, rng).has_value());
  }
}

TEST_CASE("weighted random follows the weights") {
  LoadBalancer lb(LbAlgorithm::Random);
  Rng rng(0x5eed);
  std::vector<BackendState> b = {be("a", 10), be("b", 30), be("c", 60), be("d", 50, false)};
  const int n = 100'000;
  auto c = counts(lb, b, n, rng);
  CHECK(c[3] == 0);
  CHECK(c[0] == doctest::Approx(n * 0.1).epsilon(0.05));
  CHECK(c[1] == doctest::Approx(n * 0.3).epsilon(0.03));
  CHECK(c[2] == doctest::Approx(n * 0.6).epsilon(0.02));
}

TEST_CASE("least connections picks the lowest load per weight and rotates ties") {
  LoadBalancer lb(LbAlgorithm::LeastConnections);
  Rng rng(3);
  std::vector<BackendState> b = {be("a", 100, true, false, 5), be("b", 100, true, false, 2),
                                 be("c", 100, true, false, 9)};
  CHECK(*lb.pick(b, rng) == 1);
  b[1].active_connections = 7;
  CHECK(*lb.pick(b, rng) == 0);
  b[2].weight = 50;             // 9 / 50 = 0.18 > 5 / 100
  b[2].active_connections = 2;  // 2 / 50 = 0.04 < 5 / 100
  CHECK(*lb.pick(b, rng) == 2);
  // Equal loads: ties go round robin instead of always to the first.
  std::vector<BackendState> eq = {be("x"), be("y"), be("z")};
  auto c = counts(lb, eq, 300, rng);
  CHECK(c[0] == 100);
  CHECK(c[1] == 100);
  CHECK(c[2] == 100);
  // Simulated: each pick opens a connection that stays open; loads stay balanced by weight.
  std::vector<BackendState> sim = {be("p", 100), be("q", 50), be("r", 25)};
  for (int i = 0; i < 700; ++i) ++sim[*lb.pick(sim, rng)].active_connections;
  CHECK(sim[0].active_connections == doctest::Approx(400).epsilon(0.02));
  CHECK(sim[1].active_connections == doctest::Approx(200).epsilon(0.02));
  CHECK(sim[2].active_connections == doctest::Approx(100).epsilon(0.03));
}

TEST_CASE("power of two choices prefers the less loaded of two random backends") {
  LoadBalancer lb(LbAlgorithm::PowerOfTwo);
  Rng rng(4);
  std::vector<BackendState> b = {be("idle", 100, true, false, 0), be("busy", 100, true, false, 50)};
  auto c = counts(lb, b, 200, rng);
  CHECK(c[0] == 200);  // with two backends both are always drawn
  std::vector<BackendState> three = {be("a", 100, true, false, 0), be("b", 100, true, false, 10),
                                     be("c", 100, true, false, 20)};
  const int n = 30'000;
  c = counts(lb, three, n, rng);
  // a wins whenever drawn (2/3), b wins the {b,c} pair (1/3), c never.
  CHECK(c[0] == doctest::Approx(n * 2.0 / 3).epsilon(0.03));
  CHECK(c[1] == doctest::Approx(n * 1.0 / 3).epsilon(0.05));
  CHECK(c[2] == 0);
  std::vector<BackendState> one = {be("down", 100, false), be("only")};
  CHECK(*lb.pick(one, rng) == 1);
}

TEST_CASE("rng: deterministic per seed, below() stays in range and is roughly uniform") {
  Rng a(99), b(99), c(100);
  bool differs = false;
  for (int i = 0; i < 10; ++i) {
    auto x = a.next();
    CHECK(x == b.next());
    differs |= x != c.next();
  }
  CHECK(differs);
  std::array<int, 7> hist{};
  for (int i = 0; i < 70'000; ++i) {
    auto v = a.below(7);
    REQUIRE(v < 7);
    ++hist[v];
  }
  for (int h : hist) CHECK(h == doctest::Approx(10'000).epsilon(0.05));
}

TEST_CASE("sticky sessions map to an up backend by sticky id, else by backend id") {
  std::vector<BackendState> b = {be("b1"), be("b2"), be("b3", 0)};
  b[1].sticky_id = "s-two";
  CHECK(find_sticky(b, "b1") == std::optional<std::size_t>(0));
  CHECK(find_sticky(b, "s-two") == std::optional<std::size_t>(1));
  CHECK_FALSE(find_sticky(b, "b2").has_value());  // it has its own sticky id
  CHECK(find_sticky(b, "b3") ==
        std::optional<std::size_t>(2));  // drained still serves its sessions
  b[0].up = false;
  CHECK_FALSE(find_sticky(b, "b1").has_value());
  CHECK_FALSE(find_sticky(b, "").has_value());
  CHECK_FALSE(find_sticky(b, "nope").has_value());
}
