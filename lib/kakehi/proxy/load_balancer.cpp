// LoadBalancer: eligibility (primaries, else backups), then one small function per algorithm.
#include "kakehi/proxy/load_balancer.hpp"

namespace kakehi::proxy {

namespace {

uint64_t splitmix64(uint64_t& x) noexcept {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
__extension__ typedef unsigned __int128 u128;

uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

/// The backends a pick may choose from.
struct Pool {
  std::span<const BackendState> all;
  bool backups = false;
  bool eligible(std::size_t i) const noexcept {
    const auto& b = all[i];
    return b.up && b.weight > 0 && b.backup == backups;
  }
  std::size_t count() const noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < all.size(); ++i) n += eligible(i);
    return n;
  }
  /// Index of the k-th eligible backend.
  std::size_t nth(std::size_t k) const noexcept {
    for (std::size_t i = 0; i < all.size(); ++i)
      if (eligible(i) && k-- == 0) return i;
    return all.size();
  }
};

/// a is less loaded than b: conns_a / w_a < conns_b / w_b, without division.
bool lighter(const BackendState& a, const BackendState& b) noexcept {
  return uint64_t{a.active_connections} * b.weight < uint64_t{b.active_connections} * a.weight;
}

}  // namespace

Rng::Rng(uint64_t seed) noexcept {
  for (auto& w : s_) w = splitmix64(seed);
}

uint64_t Rng::next() noexcept {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

uint64_t Rng::below(uint64_t n) noexcept {
  // Lemire's multiply-shift with rejection: unbiased.
  uint64_t x = next();
  u128 m = static_cast<u128>(x) * n;
  auto low = static_cast<uint64_t>(m);
  if (low < n) {
    const uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      x = next();
      m = static_cast<u128>(x) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

std::optional<std::size_t> LoadBalancer::pick(std::span<const BackendState> backends,
                                              Rng& rng) noexcept {
  Pool pool{backends, false};
  std::size_t n = pool.count();
  if (n == 0) {
    pool.backups = true;
    n = pool.count();
    if (n == 0) return std::nullopt;
  }
  const std::size_t size = backends.size();
  switch (algorithm_) {
    case config::LbAlgorithm::RoundRobin: {
      for (std::size_t k = 0; k < size; ++k) {
        std::size_t i = (cursor_ + k) % size;
        if (pool.eligible(i)) {
          cursor_ = i + 1;
          return i;
        }
      }
      return std::nullopt;
    }
    case config::LbAlgorithm::Random: {
      uint64_t total = 0;
      for (std::size_t i = 0; i < size; ++i)
        if (pool.eligible(i)) total += backends[i].weight;
      uint64_t r = rng.below(total);
      for (std::size_t i = 0; i < size; ++i) {
        if (!pool.eligible(i)) continue;
        if (r < backends[i].weight) return i;
        r -= backends[i].weight;
      }
      return std::nullopt;
    }
    case config::LbAlgorithm::LeastConnections: {
      std::size_t best = size;
      for (std::size_t k = 0; k < size; ++k) {
        std::size_t i = (cursor_ + k) % size;
        if (pool.eligible(i) && (best == size || lighter(backends[i], backends[best]))) best = i;
      }
      cursor_ = best + 1;
      return best;
    }
    case config::LbAlgorithm::PowerOfTwo: {
      if (n == 1) return pool.nth(0);
      std::size_t a = rng.below(n);
      std::size_t b = rng.below(n - 1);
      if (b >= a) ++b;
      std::size_t ia = pool.nth(a), ib = pool.nth(b);
      return lighter(backends[ib], backends[ia]) ? ib : ia;
    }
  }
  return std::nullopt;
}

std::optional<std::size_t> find_sticky(std::span<const BackendState> backends,
                                       std::string_view sticky_id) noexcept {
  if (sticky_id.empty()) return std::nullopt;
  for (std::size_t i = 0; i < backends.size(); ++i) {
    const auto& b = backends[i];
    std::string_view key = b.sticky_id.empty() ? b.id : b.sticky_id;
    if (key == sticky_id && b.up) return i;
  }
  return std::nullopt;
}

}  // namespace kakehi::proxy
