// diff(): walks each ordered map of both states in the phase order documented in diff.hpp.
#include "kakehi/config/diff.hpp"

#include <string>

namespace kakehi::config {

namespace {

class Builder {
 public:
  explicit Builder(std::string_view prefix) : prefix_(prefix) {}
  void push(RequestBody b) {
    out_.push_back(Request{prefix_ + std::to_string(out_.size() + 1), std::move(b)});
  }
  std::vector<Request> take() { return std::move(out_); }

 private:
  std::string prefix_;
  std::vector<Request> out_;
};

/// Calls `f(key, value)` for entries of `from` that are missing in `to` (or differ, when
/// `changed_too`).
template <class Map, class F>
void each_gone(const Map& from, const Map& to, bool changed_too, F f) {
  for (const auto& [k, v] : from) {
    auto it = to.find(k);
    if (it == to.end() || (changed_too && !(it->second == v))) f(k, v);
  }
}

/// Calls `add(value)` for entries of `to` missing in `from`, `upd(value)` for changed ones.
template <class Map, class Add, class Upd>
void each_new(const Map& from, const Map& to, Add add, Upd upd) {
  for (const auto& [k, v] : to) {
    auto it = from.find(k);
    if (it == from.end()) {
      add(v);
    } else if (!(it->second == v)) {
      upd(v);
    }
  }
}

}  // namespace

std::vector<Request> diff(const State& from, const State& to, std::string_view id_prefix) {
  Builder b(id_prefix);
  // (1) dependents that disappear or change (re-added in phase 4), backends that disappear.
  each_gone(from.http_frontends, to.http_frontends, true,
            [&](const auto& k, const auto&) { b.push(RemoveHttpFrontend{k}); });
  each_gone(from.tcp_frontends, to.tcp_frontends, true,
            [&](const auto& k, const auto&) { b.push(RemoveTcpFrontend{k}); });
  each_gone(from.certificates, to.certificates, true,
            [&](const auto& k, const auto&) { b.push(RemoveCertificate{k}); });
  each_gone(from.backends, to.backends, false, [&](const auto& k, const auto&) {
    b.push(RemoveBackend{k.first, k.second});
  });
  // (2) parents that disappear.
  each_gone(from.clusters, to.clusters, false,
            [&](const auto& k, const auto&) { b.push(RemoveCluster{k}); });
  each_gone(from.listeners, to.listeners, false,
            [&](const auto& k, const auto&) { b.push(RemoveListener{k}); });
  // (3) parents.
  each_new(
      from.listeners, to.listeners, [&](const Listener& v) { b.push(AddListener{v}); },
      [&](const Listener& v) { b.push(UpdateListener{v}); });
  each_new(
      from.clusters, to.clusters, [&](const Cluster& v) { b.push(AddCluster{v}); },
      [&](const Cluster& v) { b.push(UpdateCluster{v}); });
  // (4) dependents.
  each_new(
      from.backends, to.backends, [&](const Backend& v) { b.push(AddBackend{v}); },
      [&](const Backend& v) { b.push(UpdateBackend{v}); });
  // Changed certificates and frontends were removed in (1): they are added again here.
  each_new(
      from.certificates, to.certificates, [&](const Certificate& v) { b.push(AddCertificate{v}); },
      [&](const Certificate& v) { b.push(AddCertificate{v}); });
  each_new(
      from.tcp_frontends, to.tcp_frontends,
      [&](const TcpFrontend& v) { b.push(AddTcpFrontend{v}); },
      [&](const TcpFrontend& v) { b.push(AddTcpFrontend{v}); });
  each_new(
      from.http_frontends, to.http_frontends,
      [&](const HttpFrontend& v) { b.push(AddHttpFrontend{v}); },
      [&](const HttpFrontend& v) { b.push(AddHttpFrontend{v}); });
  return b.take();
}

}  // namespace kakehi::config
