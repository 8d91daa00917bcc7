// Certificate resolver: an immutable snapshot mapping server names to certificates. Adding,
// replacing or removing builds a new snapshot (Context::set_resolver publishes it); a
// connection keeps the certificate it resolved. Matching: exact name first, then a one-label
// `*.` wildcard; among several candidates of that tier, the one that expires last.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kakehi/tls/certificate.hpp"

namespace kakehi::tls {

class CertificateResolver {
 public:
  struct Entry {
    std::string id;
    std::shared_ptr<const ServerCertificate> cert;
  };
  struct Match {
    std::shared_ptr<const ServerCertificate> cert;  ///< null when the resolver is empty
    bool by_name = false;  ///< false: the default certificate (no SNI or unknown name)
  };

  CertificateResolver() = default;

  /// A new snapshot with `cert` under `id` (replacing the entry of that id, if any). The
  /// first certificate added becomes the default unless one was named.
  [[nodiscard]] std::shared_ptr<const CertificateResolver> with(
      std::string id, std::shared_ptr<const ServerCertificate> cert) const;
  /// A new snapshot without `id` (the same content when absent). Removing the default makes
  /// the first remaining entry the default.
  [[nodiscard]] std::shared_ptr<const CertificateResolver> without(std::string_view id) const;
  /// A new snapshot whose default is `id`; null when no entry has that id.
  [[nodiscard]] std::shared_ptr<const CertificateResolver> with_default(std::string_view id) const;

  /// Resolves a ClientHello server_name (any case, optional trailing dot; empty = no SNI).
  Match resolve(std::string_view server_name) const;

  const std::vector<Entry>& entries() const noexcept { return entries_; }
  std::string_view default_id() const noexcept { return default_id_; }
  bool empty() const noexcept { return entries_.empty(); }

 private:
  void index();
  const ServerCertificate* default_cert() const;

  std::vector<Entry> entries_;
  std::string default_id_;
  // name -> best certificate for it (latest not_after); wildcard keys are the part after "*."
  std::unordered_map<std::string, std::shared_ptr<const ServerCertificate>> exact_;
  std::unordered_map<std::string, std::shared_ptr<const ServerCertificate>> wildcard_;
  std::shared_ptr<const ServerCertificate> default_;
};

}  // namespace kakehi::tls
