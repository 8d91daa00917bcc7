// Validation of decoded HTTP/2 header lists (RFC 9113 §8.1–§8.3, §8.5): field names and values,
// pseudo-header rules for requests, responses and trailers, connection-specific fields, `te`,
// and content-length parsing. A failure means the message is malformed (§8.1.1): the engine
// answers with a stream error of type PROTOCOL_ERROR. Pure functions, no state.
#pragma once

#include <cstdint>

#include "kakehi/common/result.hpp"
#include "kakehi/http2/field_list.hpp"

namespace kakehi::http2 {

/// What the engine needs to remember about a valid message head.
struct MessageInfo {
  int64_t content_length = -1;  // -1: absent
  int status = 0;               // responses: the :status value
  bool is_head = false;         // requests: :method HEAD (the response has no body)
  bool is_connect = false;      // requests: :method CONNECT (§8.5)
};

struct ValidationOptions {
  bool enable_connect_protocol = false;  // RFC 8441: admits :protocol
};

/// §8.3.1 request: :method, :scheme, :path present (non-empty path) unless CONNECT, which has
/// :authority and no :scheme/:path (§8.5); no response pseudo-headers; no duplicates; all
/// pseudo-headers before regular fields; `host` consistent with :authority.
Result<MessageInfo, const char*> validate_request(const FieldList& fields,
                                                  const ValidationOptions& opts = {});
/// §8.3.2 response: exactly one :status of three digits, no other pseudo-header.
Result<MessageInfo, const char*> validate_response(const FieldList& fields);
/// §8.1: trailers carry no pseudo-header fields.
Result<void, const char*> validate_trailers(const FieldList& fields);

}  // namespace kakehi::http2
