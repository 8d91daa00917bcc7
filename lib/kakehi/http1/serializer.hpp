// HTTP/1.1 serialization (RFC 9112): message heads are written into one pool buffer; body bytes
// pass through as the slices they arrived in. Only the framing is generated: chunk-size lines and
// the last chunk with trailers go into small pieces carved from a shared scratch buffer, so
// re-chunking (h2 → h1 without content-length) copies no payload. No I/O; the pool's exhaustion
// is an error the caller turns into back-pressure.
#pragma once

#include <cstdint>
#include <string_view>

#include "kakehi/buffer/buffer_pool.hpp"
#include "kakehi/buffer/chain.hpp"
#include "kakehi/common/result.hpp"
#include "kakehi/http/message.hpp"

namespace kakehi::http1 {

enum class SerializeError : uint8_t {
  PoolExhausted = 1,  ///< no free buffer (BufferPool::acquire failed): retry when one returns
  HeadTooLarge,       ///< the head does not fit in one pool buffer
};
const char* reason(SerializeError e) noexcept;

struct HeadOptions {
  bool connection_close = false;  ///< add `Connection: close`
  bool upgrade = false;           ///< add `Connection: upgrade` (the Upgrade field must be kept)
};

/// The framing to use towards an HTTP/1.x peer for a body framed as `in` on the other side:
/// Content-Length and none stay; chunked and unknown length (Close) become chunked for an
/// HTTP/1.1 peer, and close-delimited for an HTTP/1.0 peer (responses only).
http::Framing outgoing_framing(http::Framing in, http::Version peer_version) noexcept;

/// "METHOD path HTTP/1.1", Host from `authority`, the fields, then the framing fields for `out`.
/// When `out` is not None, Content-Length/Transfer-Encoding fields of the message are replaced by
/// ones matching `out` (so they can never disagree); when None they are copied as they are (HEAD
/// and 304 responses keep their Content-Length).
Result<buffer::Slice, SerializeError> write_request_head(buffer::BufferPool& pool,
                                                         const http::Request& req,
                                                         http::Framing out,
                                                         const HeadOptions& opt = {});
/// "HTTP/1.1 status reason" (a standard reason when the model has none), fields, framing.
Result<buffer::Slice, SerializeError> write_response_head(buffer::BufferPool& pool,
                                                          const http::Response& res,
                                                          http::Framing out,
                                                          const HeadOptions& opt = {});

/// Frames body bytes for the outgoing framing. Identity framings append the slices unchanged;
/// chunked framing adds chunk-size lines and CRLFs from a scratch buffer.
class BodyWriter {
 public:
  BodyWriter(buffer::BufferPool& pool, http::Framing out) : pool_(&pool), out_(out) {}

  /// Appends `data` (may be empty: nothing is written).
  Result<void, SerializeError> write(buffer::Slice data, buffer::BufferChain& chain);
  /// Ends the body: for chunked, the last chunk, `trailers` and the final CRLF (RFC 9112 §7.1).
  Result<void, SerializeError> finish(const http::FieldList& trailers, buffer::BufferChain& chain);

 private:
  Result<buffer::Slice, SerializeError> carve(std::string_view a, std::string_view b = {});

  buffer::BufferPool* pool_;
  http::Framing out_;
  buffer::Slice scratch_;  // a pool buffer; bytes [0, used_) have been handed out as sub-slices
  uint32_t used_ = 0;
  bool in_chunk_ = false;  // a chunk's data was written: its CRLF is still owed
};

/// The standard reason phrase for `status` (RFC 9110 §15), or "" when unknown.
std::string_view reason_phrase(uint16_t status) noexcept;

}  // namespace kakehi::http1
