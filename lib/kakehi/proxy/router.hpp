// The immutable routing snapshot of one listener: (host, path, method) -> cluster id.
// Built on the control plane from a config::State (allocates); looked up on the data plane
// without allocating or throwing. Shared as `std::shared_ptr<const Router>` so a request in
// flight keeps the snapshot it started with while a new one is published.
// Precedence (docs/config.md "Router precedence"): pre rules, then the host tree
// (exact host > `*.` wildcard > regex host; within a host: exact path > regex path > longest
// prefix; method-specific beats any-method at the same level), then post rules.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kakehi/config/model.hpp"
#include "kakehi/config/regex.hpp"

namespace kakehi::proxy {

enum class RouteOutcome : uint8_t { Found, NoRoute };

/// Views into the snapshot: valid as long as the snapshot is held.
struct Route {
  RouteOutcome outcome = RouteOutcome::NoRoute;
  std::string_view cluster;
  std::string_view frontend;  ///< the matching frontend's id
  explicit operator bool() const noexcept { return outcome == RouteOutcome::Found; }
};

class Router {
 public:
  /// Longest host accepted by lookup (longer hosts never match).
  static constexpr std::size_t kMaxHost = 255;

  /// Snapshot of the HTTP frontends of `listener` in `state` (control plane: allocates).
  [[nodiscard]] static std::shared_ptr<const Router> build(const config::State& state,
                                                           std::string_view listener);

  /// Routes one request. `host` is the Host header or :authority (port and one trailing dot
  /// are stripped, ASCII is lowercased); `path` is the request path (anything from '?' or '#'
  /// on is ignored; empty means "/"); `method` is compared case-sensitively.
  [[nodiscard]] Route lookup(std::string_view host, std::string_view path,
                             std::string_view method) const noexcept;

  /// Writes the normalized form of `host` into `buf` and returns a view of it; empty when the
  /// host is longer than `buf`. No allocation.
  [[nodiscard]] static std::string_view normalize_host(std::string_view host,
                                                       std::span<char> buf) noexcept;

  [[nodiscard]] std::size_t rule_count() const noexcept { return rules_; }

  struct Rule {
    std::string frontend;
    std::string cluster;
    std::optional<std::string> method;
    config::PathKind kind = config::PathKind::Prefix;
    std::string path;
    std::optional<config::Regex> path_regex;
    /// Pre/post rules only: the hostname rule and its compiled regex when it is one.
    config::HostKind host_kind = config::HostKind::Exact;
    std::string host;
    std::optional<config::Regex> host_regex;
  };
  /// The rules of one host: exact paths by path, regexes in frontend id order, prefixes by
  /// decreasing length (method-specific first at equal length, then frontend id).
  struct PathTable {
    std::vector<Rule> exact;
    std::vector<Rule> regex;
    std::vector<Rule> prefix;
    [[nodiscard]] const Rule* match(std::string_view path, std::string_view method) const noexcept;
  };

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using HostMap = std::unordered_map<std::string, PathTable, Hash, std::equal_to<>>;
  struct RegexHost {
    config::Regex regex;
    PathTable table;
  };

  [[nodiscard]] const Rule* tree_match(std::string_view host, std::string_view path,
                                       std::string_view method) const noexcept;

  std::vector<Rule> pre_;
  HostMap exact_hosts_;
  HostMap wildcard_hosts_;  ///< keyed by the suffix after "*."
  std::vector<RegexHost> regex_hosts_;
  std::vector<Rule> post_;
  std::size_t rules_ = 0;
};

using RouterPtr = std::shared_ptr<const Router>;

}  // namespace kakehi::proxy
