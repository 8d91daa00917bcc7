// The protocol-neutral request/response model shared by the HTTP/1.1 codec and the HTTP/2
// engine: control data (RFC 9110 §6.2: method, scheme, authority, path / status), header and
// trailer fields, and the body framing. Strings are views into a receive buffer or into the
// message's own `storage` arena (for edits). Move-only because views may point into `storage`.
#pragma once

#include <cstdint>
#include <string_view>

#include "kakehi/http/arena.hpp"
#include "kakehi/http/field.hpp"

namespace kakehi::http {

/// How the body is delimited on the wire it came from (RFC 9112 §6.3).
enum class BodyKind : uint8_t {
  None,           ///< no body (GET without framing, 204, 304, 1xx, HEAD responses)
  ContentLength,  ///< exactly `Framing::length` bytes
  Chunked,        ///< chunked transfer coding (HTTP/1.1 only)
  Close,          ///< response delimited by connection close (or h2 body of unknown length)
  Upgrade,        ///< after the head, the connection becomes a tunnel (101 / accepted upgrade)
};

struct Framing {
  BodyKind kind = BodyKind::None;
  uint64_t length = 0;  ///< for ContentLength
  friend bool operator==(const Framing&, const Framing&) = default;
};

/// HTTP version as 10 (1.0), 11 (1.1) or 20 (2).
using Version = uint8_t;

struct Request {
  std::string_view method;
  std::string_view scheme;     ///< "http"/"https"; from absolute-form or the connection
  std::string_view authority;  ///< Host (h1) or :authority (h2); empty when absent
  std::string_view path;       ///< origin-form path+query, or "*" for OPTIONS
  Version version = 11;
  FieldList fields;  ///< regular fields; never contains Host (it is `authority`)
  FieldList trailers;
  Framing framing;
  StringArena storage;  ///< owns bytes of edited/added fields

  Request() = default;
  Request(Request&&) noexcept = default;
  Request& operator=(Request&&) noexcept = default;
  /// Forgets everything, keeping capacity.
  void clear() noexcept {
    method = scheme = authority = path = {};
    version = 11;
    fields.clear();
    trailers.clear();
    framing = {};
    storage.clear();
  }
};

struct Response {
  uint16_t status = 0;
  std::string_view reason;  ///< h1 only; informational (RFC 9112 §4)
  Version version = 11;
  FieldList fields;
  FieldList trailers;
  Framing framing;
  StringArena storage;

  Response() = default;
  Response(Response&&) noexcept = default;
  Response& operator=(Response&&) noexcept = default;
  void clear() noexcept {
    status = 0;
    reason = {};
    version = 11;
    fields.clear();
    trailers.clear();
    framing = {};
    storage.clear();
  }
};

}  // namespace kakehi::http
