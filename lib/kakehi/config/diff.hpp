// diff(old, new): the requests that turn one state into another, ordered so that `apply`
// accepts them: removals of dependents before their parents, parents added before dependents.
// Pure; deterministic (follows the ordered maps of State).
#pragma once

#include <string_view>
#include <vector>

#include "kakehi/config/model.hpp"
#include "kakehi/config/request.hpp"

namespace kakehi::config {

/// Requests turning `from` into `to`; ids are `id_prefix` + 1, 2, 3...
/// Order: (1) remove HTTP frontends, TCP frontends and certificates that disappear or change,
/// and backends that disappear; (2) remove clusters, then listeners, that disappear;
/// (3) add or update listeners, then clusters; (4) add or update backends; add certificates,
/// TCP frontends, HTTP frontends (new or changed). Changed frontends and certificates are
/// removed and re-added (their references or routes may move); changed listeners, clusters
/// and backends are updated in place. `apply(from, diff(from, to)) == to` for valid states.
[[nodiscard]] std::vector<Request> diff(const State& from, const State& to,
                                        std::string_view id_prefix = "diff-");

}  // namespace kakehi::config
