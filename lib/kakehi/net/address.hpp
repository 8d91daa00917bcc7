// Address: an IPv4 or IPv6 socket address, parsed from "host:port" / "[v6]:port" and printed
// back the same way. Numeric hosts only (no DNS on a worker).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

namespace kakehi::net {

class Address {
 public:
  Address() = default;
  /// "127.0.0.1:8080", "[::1]:443", "0.0.0.0:0". Empty on a malformed string.
  static std::optional<Address> parse(std::string_view text);
  static Address from(const sockaddr* sa, socklen_t len);

  const sockaddr* sockaddr_ptr() const noexcept { return reinterpret_cast<const sockaddr*>(&ss_); }
  socklen_t size() const noexcept { return len_; }
  int family() const noexcept { return ss_.ss_family; }
  uint16_t port() const noexcept;
  std::string to_string() const;

 private:
  sockaddr_storage ss_{};
  socklen_t len_ = 0;
};

}  // namespace kakehi::net
