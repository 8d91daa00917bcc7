// Router: building the per-listener snapshot (sorting rules into their tiers) and the
// allocation-free lookup that walks pre rules, the host tree, then post rules.
#include "kakehi/proxy/router.hpp"

#include <algorithm>
#include <array>

namespace kakehi::proxy {

using config::HostKind;
using config::PathKind;

namespace {

bool method_ok(const Router::Rule& r, std::string_view method) {
  return !r.method || *r.method == method;
}

bool path_ok(const Router::Rule& r, std::string_view path) {
  switch (r.kind) {
    case PathKind::Exact:
      return path == r.path;
    case PathKind::Prefix:
      return path.starts_with(r.path);
    case PathKind::Regex:
      return r.path_regex && r.path_regex->full_match(path);
  }
  return false;
}

/// Among rules matching `path` and `method`: the first method-specific one, else the first
/// any-method one (rules are pre-sorted so that "first" is the precedence order).
const Router::Rule* best_of(const std::vector<Router::Rule>& rules, std::string_view path,
                            std::string_view method) {
  const Router::Rule* any = nullptr;
  for (const auto& r : rules) {
    if (!path_ok(r, path) || !method_ok(r, method)) continue;
    if (r.method) return &r;
    if (!any) any = &r;
  }
  return any;
}

/// "*.a.com" matches "x.a.com": exactly one non-empty label before the suffix.
bool wildcard_ok(std::string_view suffix, std::string_view host) {
  auto dot = host.find('.');
  return dot != std::string_view::npos && dot > 0 && host.substr(dot + 1) == suffix;
}

bool host_ok(const Router::Rule& r, std::string_view host) {
  switch (r.host_kind) {
    case HostKind::Exact:
      return host == r.host;
    case HostKind::Wildcard:
      return wildcard_ok(std::string_view(r.host).substr(2), host);
    case HostKind::Regex:
      return r.host_regex && r.host_regex->full_match(host);
  }
  return false;
}

Router::Rule make_rule(const config::HttpFrontend& f, HostKind host_kind) {
  Router::Rule r;
  r.frontend = f.id;
  r.cluster = f.cluster;
  r.method = f.method;
  r.kind = f.path.kind;
  r.path = f.path.value;
  if (f.path.kind == PathKind::Regex) {
    if (auto re = config::Regex::compile(f.path.value)) r.path_regex = std::move(*re);
  }
  r.host_kind = host_kind;
  r.host = f.hostname;
  if (host_kind == HostKind::Regex) {
    if (auto re = config::Regex::compile(std::string_view(f.hostname).substr(1)))
      r.host_regex = std::move(*re);
  }
  return r;
}

void insert(Router::PathTable& t, Router::Rule&& r) {
  switch (r.kind) {
    case PathKind::Exact:
      t.exact.push_back(std::move(r));
      return;
    case PathKind::Regex:
      t.regex.push_back(std::move(r));
      return;
    case PathKind::Prefix:
      t.prefix.push_back(std::move(r));
      return;
  }
}

void finish(Router::PathTable& t) {
  // Frontends arrive in id order; a stable sort keeps that order among equals.
  std::stable_sort(t.prefix.begin(), t.prefix.end(), [](const auto& a, const auto& b) {
    if (a.path.size() != b.path.size()) return a.path.size() > b.path.size();
    return a.method.has_value() && !b.method.has_value();
  });
}

}  // namespace

const Router::Rule* Router::PathTable::match(std::string_view path,
                                             std::string_view method) const noexcept {
  if (const Rule* r = best_of(exact, path, method)) return r;
  if (const Rule* r = best_of(regex, path, method)) return r;
  // Longest prefix first; at equal length the method-specific rule is first.
  for (const auto& r : prefix)
    if (path_ok(r, path) && method_ok(r, method)) return &r;
  return nullptr;
}

std::shared_ptr<const Router> Router::build(const config::State& state, std::string_view listener) {
  auto router = std::make_shared<Router>();
  std::vector<std::string> regex_order;
  for (const auto& [id, f] : state.http_frontends) {
    if (f.listener != listener) continue;
    auto kind = config::classify_hostname(f.hostname, nullptr);
    if (!kind) continue;  // apply() never lets an invalid hostname in
    Rule rule = make_rule(f, *kind);
    ++router->rules_;
    if (f.position != config::Position::Tree) {
      (f.position == config::Position::Pre ? router->pre_ : router->post_)
          .push_back(std::move(rule));
      continue;
    }
    if (*kind == HostKind::Exact) {
      insert(router->exact_hosts_[f.hostname], std::move(rule));
    } else if (*kind == HostKind::Wildcard) {
      insert(router->wildcard_hosts_[f.hostname.substr(2)], std::move(rule));
    } else if (rule.host_regex) {
      auto it = std::find(regex_order.begin(), regex_order.end(), f.hostname);
      if (it == regex_order.end()) {
        regex_order.push_back(f.hostname);
        router->regex_hosts_.push_back(RegexHost{std::move(*rule.host_regex), {}});
        it = regex_order.end() - 1;
      }
      insert(router->regex_hosts_[static_cast<std::size_t>(it - regex_order.begin())].table,
             std::move(rule));
    }
  }
  for (auto& [h, t] : router->exact_hosts_) finish(t);
  for (auto& [h, t] : router->wildcard_hosts_) finish(t);
  for (auto& rh : router->regex_hosts_) finish(rh.table);
  return router;
}

std::string_view Router::normalize_host(std::string_view host, std::span<char> buf) noexcept {
  if (host.starts_with("[")) {
    auto close = host.find(']');
    if (close != std::string_view::npos) host = host.substr(0, close + 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (host.ends_with(".")) host.remove_suffix(1);
  if (host.size() > buf.size()) return {};
  for (std::size_t i = 0; i < host.size(); ++i) {
    char c = host[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return {buf.data(), host.size()};
}

const Router::Rule* Router::tree_match(std::string_view host, std::string_view path,
                                       std::string_view method) const noexcept {
  if (auto it = exact_hosts_.find(host); it != exact_hosts_.end())
    if (const Rule* r = it->second.match(path, method)) return r;
  if (auto dot = host.find('.'); dot != std::string_view::npos && dot > 0)
    if (auto it = wildcard_hosts_.find(host.substr(dot + 1)); it != wildcard_hosts_.end())
      if (const Rule* r = it->second.match(path, method)) return r;
  for (const auto& rh : regex_hosts_)
    if (rh.regex.full_match(host))
      if (const Rule* r = rh.table.match(path, method)) return r;
  return nullptr;
}

Route Router::lookup(std::string_view raw_host, std::string_view raw_path,
                     std::string_view method) const noexcept {
  std::array<char, kMaxHost> buf;
  std::string_view host = normalize_host(raw_host, buf);
  if (host.empty() && !raw_host.empty()) return {};
  std::string_view path = raw_path.substr(0, raw_path.find_first_of("?#"));
  if (path.empty()) path = "/";

  const Rule* found = nullptr;
  for (const auto& r : pre_)
    if (host_ok(r, host) && path_ok(r, path) && method_ok(r, method)) {
      found = &r;
      break;
    }
  if (!found) found = tree_match(host, path, method);
  if (!found)
    for (const auto& r : post_)
      if (host_ok(r, host) && path_ok(r, path) && method_ok(r, method)) {
        found = &r;
        break;
      }
  if (!found) return {};
  return Route{RouteOutcome::Found, found->cluster, found->frontend};
}

}  // namespace kakehi::proxy
