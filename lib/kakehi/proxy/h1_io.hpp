// Pieces shared by the client sessions (HTTP/1.1 and HTTP/2) for the HTTP/1.1 side of an
// exchange: the receive window the HTTP/1.1 parsers read from, the parser driver, the pooled
// connection liveness check and the sticky-session cookie. Internal to the proxy.
#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "kakehi/buffer/buffer_pool.hpp"
#include "kakehi/buffer/chain.hpp"
#include "kakehi/http/field.hpp"
#include "kakehi/http1/parser.hpp"
#include "kakehi/proxy/backend_stream.hpp"
#include "kakehi/runtime/task.hpp"

namespace kakehi::proxy::detail {

constexpr uint64_t kMs = 1'000'000;
constexpr std::string_view kStickyCookie = "KAKEHI_STICKY";
// Bytes of a new receive buffer copied after a partial head or chunk line (see Input::add).
constexpr uint32_t kJoinBytes = 4096;
// Slices gathered into one write at most (bounds what a session holds between writes).
constexpr size_t kBatch = 8;

// Unconsumed input of one connection: a window of contiguous bytes (the parsers need a whole
// head in one piece) and slices received beyond it. Body bytes leave as sub-slices of the
// window; bytes are copied only to join a head that straddles two receive buffers.
class Input {
 public:
  explicit Input(buffer::BufferPool& pool) : pool_(&pool) {}

  std::string_view view() const noexcept { return window_.view(); }
  bool empty() const noexcept { return window_.empty() && rest_.empty(); }
  void consume(uint32_t n) noexcept {
    window_.remove_prefix(n);
    if (window_.empty()) window_.reset();  // an idle connection holds no buffer
  }
  /// A reference to `data`, a sub-range of view().
  buffer::Slice slice_of(std::string_view data) const noexcept {
    return window_.sub(static_cast<uint32_t>(data.data() - view().data()),
                       static_cast<uint32_t>(data.size()));
  }
  /// Keeps the window's buffer alive (views into a parsed head stay valid).
  const buffer::Slice& window() const noexcept { return window_; }

  enum class Add { Ok, Full, NoBuffer };
  /// Appends received bytes after the window.
  Add add(buffer::Slice s) {
    if (window_.empty()) {
      window_ = std::move(s);
      return Add::Ok;
    }
    const uint32_t cap = pool_->buffer_size();
    if (window_.size() >= cap) return Add::Full;
    auto fresh = pool_->acquire();
    if (!fresh) return Add::NoBuffer;
    // Join only a little of the new slice: enough to complete a head line or a chunk-size line
    // in most cases; the rest stays a slice of its own, so body bytes are not copied.
    const uint32_t take = std::min({s.size(), cap - window_.size(), kJoinBytes});
    std::byte* out = fresh->writable().data();
    std::memcpy(out, window_.data(), window_.size());
    std::memcpy(out + window_.size(), s.data(), take);
    fresh->remove_suffix(cap - window_.size() - take);
    window_ = std::move(*fresh);
    if (take < s.size()) {
      s.remove_prefix(take);
      rest_ = std::move(s);  // empty before: add() takes a new slice only when rest_ is
    }
    return Add::Ok;
  }
  /// Moves the next queued slice into the window; false when none is queued.
  bool pull(Add& result) {
    if (rest_.empty()) return false;
    buffer::Slice s = std::move(rest_);
    rest_.reset();
    result = add(std::move(s));
    return true;
  }
  void clear() noexcept {
    window_.reset();
    rest_.reset();
  }
  /// Everything unconsumed, in order (for a tunnel).
  buffer::BufferChain take_all() {
    buffer::BufferChain c;
    c.append(std::move(window_));
    window_ = {};
    c.append(std::move(rest_));
    rest_.reset();
    return c;
  }

 private:
  buffer::BufferPool* pool_;
  buffer::Slice window_;
  buffer::Slice rest_;  ///< the part of a received slice not joined into the window
};

// Why reading the next parser step stopped.
enum class Read { Step, Eof, Timeout, Error, Full, NoBuffer };

// Feeds `parser` from `in`, receiving from `s` until it has a step other than NeedMore. An end
// of stream is fed as feed_eof(). `deadline_ns` bounds each wait.
template <class Parser, class Stream>
runtime::Task<Read> next_step(Parser& parser, Input& in, Stream& s, uint64_t deadline_ns,
                              http1::Step& step) {
  for (;;) {
    step = parser.feed(in.view());
    if (step.event != http1::Event::NeedMore) co_return Read::Step;
    in.consume(step.consumed);
    Input::Add added = Input::Add::Ok;
    if (!in.pull(added)) {
      auto r = co_await s.recv_until(deadline_ns);
      if (!r) co_return r.error() == ETIMEDOUT ? Read::Timeout : Read::Error;
      if (r->empty()) {
        step = parser.feed_eof();
        co_return step.event == http1::Event::NeedMore ? Read::Eof : Read::Step;
      }
      added = in.add(std::move(*r));
    }
    if (added == Input::Add::Full) co_return Read::Full;
    if (added == Input::Add::NoBuffer) co_return Read::NoBuffer;
  }
}

// True when a pooled connection shows no sign of having been closed by the backend.
inline bool looks_alive(const BackendStream& s) {
  if (s.has_pending_input()) return false;
  char b;
  ssize_t n = ::recv(s.fd(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

inline std::string_view cookie_value(const http::FieldList& fields, std::string_view name) {
  for (const http::Field& f : fields) {
    if (!http::iequals(f.name, "cookie")) continue;
    std::string_view v = f.value;
    while (!v.empty()) {
      size_t end = v.find(';');
      std::string_view pair = v.substr(0, end);
      v = end == std::string_view::npos ? std::string_view{} : v.substr(end + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
          pair[name.size()] == '=')
        return pair.substr(name.size() + 1);
    }
  }
  return {};
}

}  // namespace kakehi::proxy::detail
