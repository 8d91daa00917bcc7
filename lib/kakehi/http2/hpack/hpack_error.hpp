// HPACK (RFC 7541) decoding errors: one enum, a static reason string for each, and the scope
// the HTTP/2 engine gives it. Most errors are COMPRESSION_ERROR (RFC 9113 §4.3) for the whole
// connection; the two list limits are stream-level (the engine may answer 431 / RST_STREAM).
#pragma once

#include <cstdint>
#include <string_view>

namespace kakehi::http2::hpack {

enum class HpackError : std::uint8_t {
  Truncated,                  ///< the block ends inside a representation (§5.1, §5.2, §6)
  IntegerOverflow,            ///< an integer does not fit in 32 bits (§5.1)
  IndexZero,                  ///< index 0 is not a valid index (§6.1)
  IndexOutOfRange,            ///< index past the static + dynamic table (§2.3.3)
  StringTooLong,              ///< a string literal exceeds DecoderLimits::max_string_length
  HuffmanEos,                 ///< EOS symbol inside a Huffman string (§5.2)
  HuffmanBadPadding,          ///< padding longer than 7 bits or not all ones (§5.2)
  TableSizeUpdateTooLarge,    ///< size update above our SETTINGS_HEADER_TABLE_SIZE (§6.3)
  TableSizeUpdateNotAtStart,  ///< size update after a field representation (§4.2)
  TableSizeUpdateMissing,     ///< we lowered the setting; block did not start with an update
  HeaderListTooLarge,         ///< decoded list size (name + value + 32 per field) over the limit
  TooManyFields,              ///< more fields than DecoderLimits::max_field_count
};

/// A static, human-readable reason for logs and GOAWAY debug data.
constexpr std::string_view reason(HpackError e) noexcept {
  switch (e) {
    case HpackError::Truncated:
      return "hpack: truncated header block";
    case HpackError::IntegerOverflow:
      return "hpack: integer overflow";
    case HpackError::IndexZero:
      return "hpack: index 0";
    case HpackError::IndexOutOfRange:
      return "hpack: index out of range";
    case HpackError::StringTooLong:
      return "hpack: string literal too long";
    case HpackError::HuffmanEos:
      return "hpack: EOS in huffman string";
    case HpackError::HuffmanBadPadding:
      return "hpack: invalid huffman padding";
    case HpackError::TableSizeUpdateTooLarge:
      return "hpack: table size update above limit";
    case HpackError::TableSizeUpdateNotAtStart:
      return "hpack: table size update after a field";
    case HpackError::TableSizeUpdateMissing:
      return "hpack: required table size update missing";
    case HpackError::HeaderListTooLarge:
      return "hpack: header list too large";
    case HpackError::TooManyFields:
      return "hpack: too many header fields";
  }
  return "hpack: unknown error";
}

/// True for the limit errors after which the decoder has consumed the whole block and its
/// dynamic table is still in sync with the peer: the engine may reset only the stream (431).
/// Every other error leaves the table state unusable: COMPRESSION_ERROR on the connection.
constexpr bool is_stream_level(HpackError e) noexcept {
  return e == HpackError::HeaderListTooLarge || e == HpackError::TooManyFields;
}

}  // namespace kakehi::http2::hpack
