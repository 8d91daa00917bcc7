// Session ticket keys (RFC 5077 §4 recommended construction, with AES-256-GCM): a ring of
// keys, the first current. wolfSSL calls ticket_callback to seal / open a ticket; a ticket
// opened with an older key is accepted and reissued under the current one.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

struct WOLFSSL;

namespace kakehi::tls::detail {

struct TicketKey {
  std::array<unsigned char, 16> name{};
  std::array<unsigned char, 32> key{};
  std::array<unsigned char, 4> salt{};  // nonce = salt || 64-bit counter: unique per key
};

struct TicketKeyRing {
  std::vector<TicketKey> keys;  // keys[0] seals
  std::uint64_t generation = 0;
};

struct TicketKeyStore {
  std::atomic<std::shared_ptr<const TicketKeyRing>> ring;
  std::atomic<std::uint64_t> counter{0};

  /// Prepends a fresh random key, keeps at most `kept` keys. False if the RNG failed.
  bool rotate(std::size_t kept);
};

/// wolfSSL's SessionTicketEncCb; `user` is the TicketKeyStore.
int ticket_callback(WOLFSSL* ssl, unsigned char key_name[16], unsigned char iv[16],
                    unsigned char mac[32], int enc, unsigned char* ticket, int in_len, int* out_len,
                    void* user);

}  // namespace kakehi::tls::detail
