// Choosing a backend of a cluster: round robin, weighted random, least connections and power of
// two choices over a caller-provided view of the backends (weight, up/down, backup, live
// connection count), plus sticky-session lookup. Data plane: no allocation, no exception; the
// random source is injected so tests are deterministic.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "kakehi/config/model.hpp"

namespace kakehi::proxy {

/// What the balancer needs to know about one backend at pick time.
struct BackendState {
  std::string_view id;
  std::string_view sticky_id;  ///< empty: the backend id is its sticky id
  uint32_t weight = 100;       ///< 0 = drained: never picked for new requests
  bool backup = false;         ///< used only when no primary backend is eligible
  bool up = true;              ///< false while marked down (failures, health checks)
  uint32_t active_connections = 0;
};

/// xoshiro256** seeded by splitmix64: small, fast, deterministic for a given seed.
class Rng {
 public:
  explicit Rng(uint64_t seed) noexcept;
  [[nodiscard]] uint64_t next() noexcept;
  /// Uniform in [0, n); n > 0.
  [[nodiscard]] uint64_t below(uint64_t n) noexcept;

 private:
  uint64_t s_[4];
};

class LoadBalancer {
 public:
  explicit LoadBalancer(config::LbAlgorithm algorithm) noexcept : algorithm_(algorithm) {}

  /// Index of the chosen backend, or nullopt when none is eligible (answer 503).
  /// Eligible: up and weight > 0 and not backup; if no primary is eligible, the backups that
  /// are up with weight > 0.
  /// - RoundRobin: next eligible index after the previous pick (weights ignored).
  /// - Random: weighted by `weight`.
  /// - LeastConnections: smallest active_connections / weight; ties rotate round robin.
  /// - PowerOfTwo: two distinct eligible backends at random, the less loaded (connections /
  ///   weight) wins, the first drawn on a tie.
  [[nodiscard]] std::optional<std::size_t> pick(std::span<const BackendState> backends,
                                                Rng& rng) noexcept;

  [[nodiscard]] config::LbAlgorithm algorithm() const noexcept { return algorithm_; }

 private:
  config::LbAlgorithm algorithm_;
  std::size_t cursor_ = 0;  ///< round robin position (also rotates least-connections ties)
};

/// The backend whose sticky id (or id when it has none) equals `sticky_id`, if it is up.
/// Weight and backup flag are ignored: an existing session stays on a drained backend.
[[nodiscard]] std::optional<std::size_t> find_sticky(std::span<const BackendState> backends,
                                                     std::string_view sticky_id) noexcept;

}  // namespace kakehi::proxy
