// Certificate resolver snapshots (see resolver.hpp).
#include "kakehi/tls/resolver.hpp"

#include <algorithm>

namespace kakehi::tls {
namespace {

using CertPtr = std::shared_ptr<const ServerCertificate>;

void keep_best(std::unordered_map<std::string, CertPtr>& map, const std::string& key,
               const CertPtr& cert) {
  auto [it, inserted] = map.try_emplace(key, cert);
  if (!inserted && cert->not_after() > it->second->not_after()) it->second = cert;
}

}  // namespace

void CertificateResolver::index() {
  exact_.clear();
  wildcard_.clear();
  default_.reset();
  if (!entries_.empty() && std::none_of(entries_.begin(), entries_.end(),
                                        [&](const Entry& e) { return e.id == default_id_; }))
    default_id_ = entries_.front().id;
  if (entries_.empty()) default_id_.clear();
  for (const auto& e : entries_) {
    if (e.id == default_id_) default_ = e.cert;
    for (const auto& name : e.cert->names()) {
      if (name.size() > 2 && name.starts_with("*."))
        keep_best(wildcard_, name.substr(2), e.cert);
      else
        keep_best(exact_, name, e.cert);
    }
  }
}

std::shared_ptr<const CertificateResolver> CertificateResolver::with(
    std::string id, std::shared_ptr<const ServerCertificate> cert) const {
  auto next = std::make_shared<CertificateResolver>(*this);
  auto it = std::find_if(next->entries_.begin(), next->entries_.end(),
                         [&](const Entry& e) { return e.id == id; });
  if (it != next->entries_.end())
    it->cert = std::move(cert);
  else
    next->entries_.push_back(Entry{std::move(id), std::move(cert)});
  next->index();
  return next;
}

std::shared_ptr<const CertificateResolver> CertificateResolver::without(std::string_view id) const {
  auto next = std::make_shared<CertificateResolver>(*this);
  std::erase_if(next->entries_, [&](const Entry& e) { return e.id == id; });
  next->index();
  return next;
}

std::shared_ptr<const CertificateResolver> CertificateResolver::with_default(
    std::string_view id) const {
  if (std::none_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.id == id; }))
    return nullptr;
  auto next = std::make_shared<CertificateResolver>(*this);
  next->default_id_ = std::string(id);
  next->index();
  return next;
}

CertificateResolver::Match CertificateResolver::resolve(std::string_view server_name) const {
  if (!server_name.empty()) {
    const std::string name = normalize_name(server_name);
    if (auto it = exact_.find(name); it != exact_.end()) return {it->second, true};
    // One label only: "a.example.com" -> "example.com"; "example.com" is not covered by
    // "*.example.com", and "a.b.example.com" is looked up as "b.example.com" only.
    if (auto dot = name.find('.'); dot != std::string::npos && dot > 0 && dot + 1 < name.size()) {
      if (auto it = wildcard_.find(name.substr(dot + 1)); it != wildcard_.end())
        return {it->second, true};
    }
  }
  return {default_, false};
}

}  // namespace kakehi::tls
