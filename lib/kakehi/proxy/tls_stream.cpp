// TlsStream: see tls_stream.hpp.
#include "kakehi/proxy/tls_stream.hpp"

#include "kakehi/proxy/internal.hpp"
#include "kakehi/tls/client_hello.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace kakehi::proxy::detail {

namespace {
// Copies `data` into pool buffers appended to `chain`; false when the pool is exhausted.
bool copy_into(buffer::BufferPool& pool, std::span<const std::byte> data,
               buffer::BufferChain& chain) {
  while (!data.empty()) {
    auto s = pool.acquire();
    if (!s) return false;
    const size_t n = std::min(data.size(), s->writable().size());
    std::memcpy(s->writable().data(), data.data(), n);
    s->remove_suffix(static_cast<uint32_t>(s->size() - n));
    chain.append(std::move(*s));
    data = data.subspan(n);
  }
  return true;
}
}  // namespace

template <class Engine>
BasicTlsStream<Engine>::BasicTlsStream(net::TcpStream tcp, std::unique_ptr<Engine> engine,
                                       buffer::BufferPool& pool)
    : tcp_(std::move(tcp)),
      conn_(std::move(engine)),
      pool_(&pool),
      sealed_(std::make_unique<Sealed>(Sealed{{}, &pool})),
      opened_(std::make_unique<Opened>(Opened{{}, {}, 0, &pool})) {
  conn_->set_output_sink({&take_records, sealed_.get()});
  conn_->set_plaintext_sink({&plain_room, &plain_commit, opened_.get()});
}

template <class Engine>
std::span<std::byte> BasicTlsStream<Engine>::plain_room(void* opened) noexcept {
  Opened& o = *static_cast<Opened*>(opened);
  if (o.fill.empty()) {
    auto s = o.pool->acquire();
    if (!s) return {};  // the engine keeps the bytes itself
    o.fill = std::move(*s);
  }
  return o.fill.writable().subspan(o.used);
}

template <class Engine>
void BasicTlsStream<Engine>::plain_commit(void* opened, size_t n) noexcept {
  // A buffer with less than this left is handed on as it is: the next record gets a new one
  // rather than being split.
  constexpr uint32_t kMinRoom = 2048;
  Opened& o = *static_cast<Opened*>(opened);
  o.used += static_cast<uint32_t>(n);
  if (o.used == 0) {
    o.fill.reset();  // nothing decrypted: an idle connection holds no buffer
  } else if (o.fill.size() - o.used < kMinRoom) {
    o.chain.append(o.take_fill());
  }
}

template <class Engine>
bool BasicTlsStream<Engine>::take_records(void* sealed,
                                          std::span<const std::byte> records) noexcept {
  // wolfSSL hands over a record (or a handshake flight) at a time: small ones share a buffer.
  Sealed& s = *static_cast<Sealed*>(sealed);
  return copy_into(*s.pool, records.subspan(s.chain.append_into_tail(records)), s.chain);
}

template <class Engine>
runtime::Task<bool> BasicTlsStream<Engine>::flush_output() {
  if (writing_) co_return true;  // the write in flight sends these records when it is done
  writing_ = true;
  bool ok = true;
  while (ok && has_output()) {
    if (conn_->has_output()) {  // queued in the engine itself: a failed ClientHello's alert
      const auto records = conn_->output();
      ok = copy_into(*pool_, records, out_);
      conn_->consume_output(records.size());
    } else {
      std::swap(out_, sealed_->chain);  // the engine's next records start a new chain
    }
    if (ok) ok = static_cast<bool>(co_await tcp_.write_all(out_));
    out_.clear();
  }
  writing_ = false;
  co_return ok;
}

template <class Engine>
runtime::Task<bool> BasicTlsStream<Engine>::handshake(uint64_t deadline_ns) {
  // A client engine speaks first (its ClientHello); GCC 12 cannot take an `if constexpr`
  // around a co_await here, hence the helper.
  if (!start_engine()) co_return false;
  if (has_output() && !co_await flush_output()) co_return false;
  for (;;) {
    auto r = co_await tcp_.recv_until(deadline_ns);
    if (!r || r->empty()) co_return false;
    auto p = conn_->feed(std::span<const std::byte>(r->data(), r->size()));
    if (has_output() && !co_await flush_output()) co_return false;
    if (!p) co_return false;
    if (p->peer_closed) peer_closed_ = true;
    if (p->handshake_done) co_return true;
  }
}

template <class Engine>
runtime::Task<Result<buffer::Slice, net::Errno>> BasicTlsStream<Engine>::recv_until(
    uint64_t deadline_ns) {
  for (;;) {
    Opened& o = *opened_;
    if (!o.chain.empty()) {
      buffer::Slice s = o.chain.slices().front();
      o.chain.consume(s.size());
      co_return s;
    }
    if (o.used > 0) co_return o.take_fill();
    if (auto plain = conn_->plaintext(); !plain.empty()) {  // decrypted while the pool was dry
      auto s = pool_->acquire();
      if (!s) co_return Unexpected(ENOBUFS);
      const size_t n = std::min(plain.size(), s->writable().size());
      std::memcpy(s->writable().data(), plain.data(), n);
      s->remove_suffix(static_cast<uint32_t>(s->size() - n));
      conn_->consume_plaintext(n);
      co_return std::move(*s);
    }
    if (peer_closed_) co_return buffer::Slice{};
    auto r = co_await tcp_.recv_until(deadline_ns);
    if (!r) co_return Unexpected(r.error());
    if (r->empty()) co_return buffer::Slice{};  // the TCP end without close_notify
    auto p = conn_->feed(std::span<const std::byte>(r->data(), r->size()));
    if (has_output() && !co_await flush_output()) co_return Unexpected(EPIPE);
    if (!p) co_return Unexpected(EPROTO);
    if (p->peer_closed) peer_closed_ = true;
  }
}

template <class Engine>
runtime::Task<bool> BasicTlsStream<Engine>::absorb() {
  while (tcp_.has_pending_input()) {
    auto r = co_await tcp_.recv();  // ready: does not wait
    if (!r || r->empty()) co_return false;
    auto p = conn_->feed(std::span<const std::byte>(r->data(), r->size()));
    if (!p || p->peer_closed) co_return false;
    if (has_output() && !co_await flush_output()) co_return false;
  }
  co_return opened_->empty() && conn_->plaintext().empty() &&
      conn_->state() == tls::ConnState::Open;
}

template <class Engine>
bool BasicTlsStream<Engine>::encrypt(const buffer::BufferChain& chain) {
  // Consecutive slices that fit in one record together (a response head and its body, HTTP/2
  // frame headers and payloads) are gathered and encrypted as one record: every record costs an
  // AEAD pass and a header here, and a read and a decryption at the peer. A slice that fits with
  // no neighbour, or fills a record by itself, is encrypted in place.
  static thread_local std::array<std::byte, tls::kMaxRecordPayload> scratch;
  const auto slices = chain.slices();
  for (size_t i = 0; i < slices.size();) {
    size_t j = i + 1;
    size_t total = slices[i].size();
    while (j < slices.size() && total + slices[j].size() <= scratch.size())
      total += slices[j++].size();
    std::span<const std::byte> record(slices[i].data(), slices[i].size());
    if (j > i + 1) {
      size_t at = 0;
      for (size_t k = i; k < j; ++k) {
        std::memcpy(scratch.data() + at, slices[k].data(), slices[k].size());
        at += slices[k].size();
      }
      record = std::span<const std::byte>(scratch.data(), total);
    }
    if (!conn_->write(record)) return false;
    i = j;
  }
  return true;
}

template <class Engine>
runtime::Task<Result<void, net::Errno>> BasicTlsStream<Engine>::write_all(
    buffer::BufferChain& chain) {
  const bool encrypted = encrypt(chain);
  chain.clear();
  if (!encrypted) co_return Unexpected(EPROTO);
  if (!co_await flush_output()) co_return Unexpected(EPIPE);
  co_return Result<void, net::Errno>{};
}

template <class Engine>
runtime::Task<Result<void, net::Errno>> BasicTlsStream<Engine>::write_all(
    std::span<const std::byte> data) {
  if (!conn_->write(data)) co_return Unexpected(EPROTO);
  // (No co_await inside the condition: GCC 12 miscompiles this coroutine with one there.)
  const bool flushed = co_await flush_output();
  if (!flushed) co_return Unexpected(EPIPE);
  co_return Result<void, net::Errno>{};
}

template <class Engine>
runtime::Task<Result<void, net::Errno>> BasicTlsStream<Engine>::shutdown_write() {
  if (!closed_) {
    closed_ = true;
    conn_->shutdown();
    if (!co_await flush_output()) co_return Unexpected(EPIPE);
  }
  co_return co_await tcp_.shutdown_write();
}

template <class Engine>
runtime::Task<void> BasicTlsStream<Engine>::close() {
  if (!closed_ && !writing_ && conn_->state() == tls::ConnState::Open) {
    closed_ = true;
    conn_->shutdown();
    // A client that stops reading cannot hold the close: a second at most for close_notify.
    WriteWatchdog wd(*runtime::Worker::current(), tcp_.fd(), 1'000'000'000);
    (void)co_await flush_output();
  }
  co_await tcp_.close();
}

template class BasicTlsStream<tls::Connection>;
template class BasicTlsStream<tls::ClientConnection>;

}  // namespace kakehi::proxy::detail
