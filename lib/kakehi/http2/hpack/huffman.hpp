// HPACK Huffman coding (RFC 7541 §5.2, Appendix B). The code table is the RFC's; the decode
// tables are derived from it at compile time (the code is canonical: codes of one length are
// consecutive in symbol order). Decoding rejects EOS and padding that is longer than 7 bits
// or not all ones. Pure functions over byte spans; no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "kakehi/common/result.hpp"
#include "kakehi/http2/hpack/hpack_error.hpp"

namespace kakehi::http2::hpack::huffman {

/// Exact encoded length in bytes of `s` (padding included).
std::size_t encoded_length(std::string_view s) noexcept;

/// Writes the encoding of `s` to `out`, which has room for encoded_length(s) bytes. Returns
/// the number of bytes written.
std::size_t encode(std::string_view s, std::byte* out) noexcept;

/// Encodes `s` into `out` only if the result is strictly shorter than `limit` bytes: returns
/// its length, or 0 when it is not shorter (then `out` holds garbage). `out` has room for
/// `limit + 4` bytes. One pass: cheaper than encoded_length() followed by encode().
std::size_t encode_if_shorter(std::string_view s, std::byte* out, std::size_t limit) noexcept;

/// Upper bound on the decoded length of `n` encoded bytes (the shortest code is 5 bits).
constexpr std::size_t max_decoded_length(std::size_t n) noexcept { return n * 8 / 5 + 1; }

/// Decodes `in` into `out` (room for max_decoded_length(in.size()) bytes). Returns the number
/// of bytes written, or HuffmanEos / HuffmanBadPadding.
Result<std::size_t, HpackError> decode(std::string_view in, char* out) noexcept;

}  // namespace kakehi::http2::hpack::huffman
