// HTTP/1.1 request and response parsers for a proxy (RFC 9112): bytes in, one event out per call.
// Built on Boost.Beast's basic_parser (kept out of this header) plus our own smuggling and
// robustness checks (see docs/http1.md for the outcome table). Header names and values, body
// bytes and chunk extensions are views into the caller's input: nothing is copied.
//
// Feeding contract: `feed(in)` takes the bytes not yet consumed, starting where the previous
// step's `consumed` ended. Bytes not consumed must be presented again (they may have moved), with
// new bytes appended. The whole message head (and, for chunked bodies, the trailer section) must
// be contiguous in one buffer: size receive buffers ≥ Limits::max_header_bytes. No sockets, no
// clocks, no allocation per request once warm.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string_view>

#include "kakehi/http/message.hpp"
#include "kakehi/http1/outcome.hpp"

namespace kakehi::http1 {

/// Every limit is explicit (ARCHITECTURE §5 invariants).
struct Limits {
  uint32_t max_request_line = 8 * 1024;   ///< 414 beyond (status line: BadStatusLine)
  uint32_t max_header_bytes = 16 * 1024;  ///< 431 beyond: whole head incl. start line; also
                                          ///< bounds a chunk-size line and the trailer section
  uint32_t max_header_count = 100;        ///< 431 beyond (fields in the head, or in trailers)
  uint64_t max_body = std::numeric_limits<uint64_t>::max();  ///< 413 beyond
  bool require_host = true;  ///< HTTP/1.1 request without Host → MissingHost (RFC 9112 §3.2)
};

enum class Event : uint8_t {
  NeedMore,     ///< give more bytes (after dropping `consumed`)
  Head,         ///< message head parsed: message() and info() are valid
  Body,         ///< `data` is body bytes (chunk data or identity body), a sub-range of the input
  ChunkHeader,  ///< a chunk of `chunk_size` bytes follows; `data` = raw chunk extensions
  Complete,     ///< message ended (trailers, if any, are in message().trailers)
  Error,        ///< `error` says why; the connection must be closed after answering
};

struct Step {
  Event event = Event::NeedMore;
  uint32_t consumed = 0;    ///< bytes of the input used by this step
  std::string_view data;    ///< Body / ChunkHeader, pointing into the input
  uint64_t chunk_size = 0;  ///< ChunkHeader
  Outcome error = Outcome::Ok;
};

/// Facts about the current message head beyond the model.
struct HeadInfo {
  bool keep_alive = false;       ///< the connection may carry another message afterwards
  bool expect_continue = false;  ///< request has `Expect: 100-continue` (RFC 9110 §10.1.1)
  bool upgrade = false;          ///< `Connection: upgrade` with an Upgrade field (RFC 9110 §7.8)
  std::string_view upgrade_protocol;  ///< the Upgrade field's value (e.g. "websocket")
};

/// Parses a stream of pipelined requests. After Complete, the next feed() starts a new message.
/// CONNECT is refused (Outcome::ConnectRefused, 501): a reverse proxy offers no tunnels.
class RequestParser {
 public:
  /// `scheme` ("http"/"https") fills Request::scheme for origin-form targets.
  explicit RequestParser(const Limits& limits = {}, std::string_view scheme = "http");
  ~RequestParser();
  RequestParser(RequestParser&&) noexcept;
  RequestParser& operator=(RequestParser&&) noexcept;

  Step feed(std::string_view in);
  /// The peer closed its side: NeedMore when between messages (clean end), else Error
  /// (UnexpectedEof).
  Step feed_eof();
  /// Valid from Head until the next message starts.
  http::Request& message() noexcept;
  const HeadInfo& info() const noexcept;
  /// No message in progress (before the first byte, or after Complete).
  bool idle() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Parses responses from a backend. Call `start(method)` with the request method before each
/// exchange: responses to HEAD have no body; 1xx (other than 101) are delivered as separate
/// messages before the final one; 204/304 have no body; 101 ends with BodyKind::Upgrade, after
/// which the parser accepts nothing more (the rest is the tunnel's).
class ResponseParser {
 public:
  explicit ResponseParser(const Limits& limits = {});
  ~ResponseParser();
  ResponseParser(ResponseParser&&) noexcept;
  ResponseParser& operator=(ResponseParser&&) noexcept;

  /// Expects the response to a request with `request_method`; forgets any response the parser
  /// was in the middle of (a connection reused after a cut exchange starts clean).
  void start(std::string_view request_method);
  Step feed(std::string_view in);
  /// The backend closed: completes a close-delimited body, NeedMore when idle, else Error.
  Step feed_eof();
  http::Response& message() noexcept;
  const HeadInfo& info() const noexcept;
  bool idle() const noexcept;
  bool upgraded() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kakehi::http1
