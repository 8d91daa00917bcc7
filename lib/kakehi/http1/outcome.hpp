// Outcomes of HTTP/1.1 parsing: every way a message can be refused, each with the status code a
// proxy answers on the client side and a static reason (RFC 9112, RFC 9110 §15). A response
// parser's errors are the backend's fault: the proxy answers 502 (`response_status`). Pure data.
#pragma once

#include <cstdint>

namespace kakehi::http1 {

enum class Outcome : uint8_t {
  Ok = 0,
  // 400 Bad Request: malformed syntax (RFC 9112 §2.2, §3, §5)
  BadRequestLine,  ///< method/target/version syntax, HTTP/0.9 request line
  BadTarget,       ///< request-target form not allowed or invalid characters
  BadHeaderName,   ///< invalid token char or whitespace before the colon (§5.1)
  BadHeaderValue,  ///< NUL, CTL or bare CR in a field value (§5.5, RFC 9110 §5.5)
  BareLineFeed,    ///< line ending without CR (§2.2: we do not accept bare LF)
  ObsFold,         ///< obsolete line folding (§5.2: rejected with 400)
  ContentLengthAndTransferEncoding,  ///< both framing fields (§6.3 item 3: smuggling)
  BadContentLength,                  ///< not 1*DIGIT, list, or overflow (§6.3 item 5)
  DuplicateContentLength,            ///< more than one Content-Length field or list element
  BadTransferEncoding,  ///< chunked not last, repeated, or TE on HTTP/1.0 (§6.1, §6.3)
  MissingHost,          ///< HTTP/1.1 request without Host (§3.2)
  MultipleHost,         ///< more than one Host field (§3.2)
  BadHost,              ///< Host value is not a valid uri-host[:port]
  HostMismatch,         ///< Host disagrees with the absolute-form target (§3.2.2)
  BadChunk,             ///< chunk size or extension syntax (§7.1)
  BadConnectionHeader,  ///< Connection list syntax
  BadMessage,           ///< any other syntax error reported by the parser
  // Other 4xx/5xx
  UnknownTransferCoding,  ///< 501: a coding other than chunked (RFC 9112 §6.1)
  ConnectRefused,         ///< 501: CONNECT is not offered by this reverse proxy
  UnsupportedVersion,     ///< 505: HTTP version other than 1.0 / 1.1
  UriTooLong,             ///< 414: request line longer than Limits::max_request_line
  HeaderTooLarge,         ///< 431: header section larger than Limits::max_header_bytes
  TooManyHeaders,         ///< 431: more than Limits::max_header_count fields
  BodyTooLarge,           ///< 413: body larger than Limits::max_body
  // Responses only (the proxy answers 502)
  BadStatusLine,  ///< status-line syntax, status outside 100–599
  // Connection ended early
  UnexpectedEof,  ///< 400 (request) / 502 (response): the message was truncated
};

/// The status code to answer a client with for a request-side outcome (0 for Ok).
uint16_t status(Outcome o) noexcept;
/// The status for a response-side outcome: 502 for any error.
inline uint16_t response_status(Outcome o) noexcept { return o == Outcome::Ok ? 0 : 502; }
/// A short static English reason, suitable for logs and error bodies.
const char* reason(Outcome o) noexcept;

}  // namespace kakehi::http1
