// HPACK decoder (RFC 7541 §3, §4, §6): decodes one complete header block (the engine joins
// HEADERS + CONTINUATION first) into a sink of fields, keeping the dynamic table across
// blocks. Limits are enforced while decoding. Pure: no I/O, no allocation per field in steady
// state (scratch buffers are reused). Not thread-safe; one decoder per connection direction.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>

#include "kakehi/common/result.hpp"
#include "kakehi/http2/hpack/detail/scratch.hpp"
#include "kakehi/http2/hpack/dynamic_table.hpp"
#include "kakehi/http2/hpack/header_field.hpp"
#include "kakehi/http2/hpack/hpack_error.hpp"

namespace kakehi::http2::hpack {

struct DecoderLimits {
  /// Our SETTINGS_HEADER_TABLE_SIZE (acknowledged by the peer): upper bound for size updates.
  std::uint32_t max_table_size = 4096;
  /// SETTINGS_MAX_HEADER_LIST_SIZE semantics (RFC 9113 §6.5.2): sum of name + value + 32.
  std::uint32_t max_header_list_size = 64 * 1024;
  std::uint32_t max_field_count = 256;
  /// Longest string literal, raw or after Huffman decoding (connection error beyond it).
  std::uint32_t max_string_length = 64 * 1024;
};

/// What a successfully decoded block contained.
struct BlockInfo {
  std::uint32_t field_count = 0;
  std::uint32_t header_list_size = 0;  ///< name + value + 32 per field
};

/// A non-owning reference to a callable `void(const HeaderField&)`. It may refer to a
/// temporary: the reference is only used during the decode() call it is passed to.
class FieldSink {
 public:
  template <class F>
  requires(!std::same_as<std::remove_cvref_t<F>, FieldSink> &&
           std::invocable<std::remove_reference_t<F>&, const HeaderField&>) FieldSink(F&& f)
  noexcept  // NOLINT: implicit on purpose
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        fn_([](void* o, const HeaderField& h) {
          (*static_cast<std::remove_reference_t<F>*>(o))(h);
        }) {}
  void operator()(const HeaderField& h) const { fn_(obj_, h); }

 private:
  void* obj_;
  void (*fn_)(void*, const HeaderField&);
};

class Decoder {
 public:
  explicit Decoder(const DecoderLimits& limits = {});

  /// Decodes one complete header block, calling `sink` once per field in order.
  ///
  /// Decoded strings: a view into `block` when the literal is raw (not Huffman); a view into
  /// the static table, the dynamic table, or a decoder-owned scratch buffer otherwise. Every
  /// view is valid only until `sink` returns: copy what you keep.
  ///
  /// Errors: HeaderListTooLarge / TooManyFields (is_stream_level) are reported after the whole
  /// block has been decoded and the dynamic table updated, the sink having been called only
  /// for the fields before the limit tripped; the decoder stays usable for the next block.
  /// Any other error: the connection must end with COMPRESSION_ERROR; the decoder is unusable.
  Result<BlockInfo, HpackError> decode(std::span<const std::byte> block, FieldSink sink);

  /// Call when the peer acknowledges a new SETTINGS_HEADER_TABLE_SIZE from us. When it is
  /// lower than the table's current maximum size, the next block must start with a dynamic
  /// table size update (§4.2) or decode() fails with TableSizeUpdateMissing. May allocate.
  void set_max_table_size_setting(std::uint32_t size);

  const DecoderLimits& limits() const noexcept { return limits_; }
  /// Changes the list, count and string limits (max_table_size is ignored here: use
  /// set_max_table_size_setting).
  void set_limits(const DecoderLimits& limits) noexcept;
  const DynamicTable& table() const noexcept { return table_; }

 private:
  struct Run;
  DecoderLimits limits_;
  DynamicTable table_;
  detail::Scratch name_scratch_;
  detail::Scratch value_scratch_;
  bool update_required_ = false;
};

}  // namespace kakehi::http2::hpack
