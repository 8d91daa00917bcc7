// Ticket sealing with AES-256-GCM through wolfCrypt (see ticket_keys.hpp).
#include "kakehi/tls/ticket_keys.hpp"

#include <cstring>

#include "kakehi/tls/wolfssl.hpp"

namespace kakehi::tls::detail {

bool TicketKeyStore::rotate(std::size_t kept) {
  TicketKey k;
  WC_RNG rng;
  if (wc_InitRng(&rng) != 0) return false;
  const bool ok = wc_RNG_GenerateBlock(&rng, k.name.data(), k.name.size()) == 0 &&
                  wc_RNG_GenerateBlock(&rng, k.key.data(), k.key.size()) == 0 &&
                  wc_RNG_GenerateBlock(&rng, k.salt.data(), k.salt.size()) == 0;
  wc_FreeRng(&rng);
  if (!ok) return false;
  auto old = ring.load();
  auto next = std::make_shared<TicketKeyRing>();
  next->keys.push_back(k);
  if (old) {
    for (const auto& o : old->keys) {
      if (next->keys.size() >= kept) break;
      next->keys.push_back(o);
    }
    next->generation = old->generation + 1;
  }
  ring.store(std::move(next));
  return true;
}

namespace {

constexpr int kNonceLen = 12;
constexpr int kTagLen = 16;

bool seal(const TicketKey& k, const unsigned char* nonce, unsigned char* data, int len,
          unsigned char* tag, bool encrypt) {
  Aes aes;
  if (wc_AesInit(&aes, nullptr, INVALID_DEVID) != 0) return false;
  int r = wc_AesGcmSetKey(&aes, k.key.data(), static_cast<word32>(k.key.size()));
  if (r == 0) {
    if (encrypt)
      r = wc_AesGcmEncrypt(&aes, data, data, static_cast<word32>(len), nonce, kNonceLen, tag,
                           kTagLen, k.name.data(), static_cast<word32>(k.name.size()));
    else
      r = wc_AesGcmDecrypt(&aes, data, data, static_cast<word32>(len), nonce, kNonceLen, tag,
                           kTagLen, k.name.data(), static_cast<word32>(k.name.size()));
  }
  wc_AesFree(&aes);
  return r == 0;
}

}  // namespace

int ticket_callback(WOLFSSL* /*ssl*/, unsigned char key_name[16], unsigned char iv[16],
                    unsigned char mac[32], int enc, unsigned char* ticket, int in_len, int* out_len,
                    void* user) {
  auto* store = static_cast<TicketKeyStore*>(user);
  const auto ring = store ? store->ring.load() : nullptr;
  if (!ring || ring->keys.empty() || in_len < 0) return WOLFSSL_TICKET_RET_FATAL;
  if (enc) {
    const TicketKey& k = ring->keys.front();
    const std::uint64_t n = store->counter.fetch_add(1, std::memory_order_relaxed);
    std::memset(iv, 0, 16);
    std::memcpy(iv, k.salt.data(), k.salt.size());
    std::memcpy(iv + k.salt.size(), &n, sizeof n);
    std::memcpy(key_name, k.name.data(), k.name.size());
    std::memset(mac, 0, 32);
    if (!seal(k, iv, ticket, in_len, mac, true)) return WOLFSSL_TICKET_RET_FATAL;
    *out_len = in_len;
    return WOLFSSL_TICKET_RET_OK;
  }
  for (std::size_t i = 0; i < ring->keys.size(); ++i) {
    const TicketKey& k = ring->keys[i];
    if (std::memcmp(key_name, k.name.data(), k.name.size()) != 0) continue;
    if (!seal(k, iv, ticket, in_len, mac, false)) return WOLFSSL_TICKET_RET_REJECT;
    *out_len = in_len;
    return i == 0 ? WOLFSSL_TICKET_RET_OK : WOLFSSL_TICKET_RET_CREATE;
  }
  return WOLFSSL_TICKET_RET_REJECT;  // unknown (rotated out) key: full handshake
}

}  // namespace kakehi::tls::detail
