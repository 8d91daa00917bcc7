// Conversions between the message model and an HTTP/2-style field list (pseudo-header fields
// first, lower-case names; RFC 9113 §8.2–8.3). h1 → h2 removes connection-specific fields
// (including those named in Connection), keeps `te` only as "trailers", moves Host to
// :authority and splits cookies (§8.2.3). h2 → model validates the list (pseudo-header rules,
// lower-case names, no connection-specific fields), maps :authority/host, and joins cookies with
// "; " so an HTTP/1.1 peer sees one Cookie field. No allocation beyond the output vector and the
// arena; no I/O.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "kakehi/common/result.hpp"
#include "kakehi/http/message.hpp"

namespace kakehi::http {

/// Why an HTTP/2 field list does not make a valid message (RFC 9113 §8.1.1: malformed → stream
/// error PROTOCOL_ERROR, or 400 when answering).
enum class H2FieldError : uint8_t {
  UppercaseName = 1,   ///< §8.2.1
  UnknownPseudo,       ///< §8.3
  PseudoAfterRegular,  ///< §8.3
  DuplicatePseudo,     ///< §8.3.1
  MissingPseudo,       ///< §8.3.1: :method, :scheme, :path (or :status)
  ConnectionSpecific,  ///< §8.2.2
  TeNotTrailers,       ///< §8.2.2
  HostMismatch,        ///< §8.3.1: Host and :authority disagree
  BadStatus,           ///< :status not three digits
  BadContentLength,    ///< §8.1.1: not a decimal number, or several that disagree
  PseudoInResponse,    ///< request pseudo-header in a response or vice versa
};
const char* reason(H2FieldError e) noexcept;

/// Appends the HTTP/2 field list for `req` to `out`; new strings (lower-cased names, split
/// cookies) go to `arena`.
void to_h2_fields(const Request& req, StringArena& arena, std::vector<Field>& out);
void to_h2_fields(const Response& res, StringArena& arena, std::vector<Field>& out);

/// Fills `out` (cleared first) from an HTTP/2 header list. `end_stream`: the HEADERS frame ended
/// the stream (no body). Framing: none when `end_stream`, Content-Length when present, otherwise
/// Close (length unknown; an HTTP/1.1 serializer re-chunks it).
Result<void, H2FieldError> from_h2_fields(std::span<const Field> in, bool end_stream, Request& out);
Result<void, H2FieldError> from_h2_fields(std::span<const Field> in, bool end_stream,
                                          Response& out);

/// Parses a Content-Length value: 1*DIGIT without sign or space, no overflow.
bool parse_content_length(std::string_view v, uint64_t& out) noexcept;

}  // namespace kakehi::http
