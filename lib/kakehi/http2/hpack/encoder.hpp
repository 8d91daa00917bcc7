// HPACK encoder (RFC 7541 §4, §6, §7): encodes header lists into header blocks, keeping the
// dynamic table in step with the peer's decoder. Policy (see docs/hpack.md): exact matches are
// indexed; name matches are reused; insertion skips large and volatile fields; sensitive
// fields become never-indexed literals; Huffman only when shorter. Pure; appends to a
// caller-owned vector (no allocation once it has grown).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "kakehi/http2/hpack/dynamic_table.hpp"
#include "kakehi/http2/hpack/header_field.hpp"

namespace kakehi::http2::hpack {

enum class HuffmanPolicy : std::uint8_t { Never, Shorter, Always };

struct EncoderOptions {
  /// Our cap on the dynamic table size (memory bound); the table used is
  /// min(this, peer's SETTINGS_HEADER_TABLE_SIZE).
  std::uint32_t max_table_size = 4096;
  HuffmanPolicy huffman = HuffmanPolicy::Shorter;
  /// Entries larger than this (name + value + 32) are not inserted; 0 = half the table size.
  std::uint32_t max_indexed_entry_size = 0;
  /// Insert fields whose values rarely repeat (:path, content-length, date, etag, ...). Off
  /// by default; on reproduces RFC 7541 Appendix C.
  bool index_volatile_fields = false;
  /// `cookie` values shorter than this are never-indexed literals (§7.1.3). 0 disables.
  std::uint32_t cookie_never_index_below = 20;
};

class Encoder {
 public:
  explicit Encoder(const EncoderOptions& options = {});
  ~Encoder();
  Encoder(Encoder&&) noexcept;
  Encoder& operator=(Encoder&&) noexcept;

  /// Call when a SETTINGS_HEADER_TABLE_SIZE from the peer is applied. The next block starts
  /// with the dynamic table size update(s) it requires (§4.2: the smallest value seen since
  /// the last block, then the final one, when they differ).
  void set_peer_max_table_size(std::uint32_t size);

  /// Appends one complete header block for `fields` to `out`.
  void encode(std::span<const HeaderField> fields, std::vector<std::byte>& out);

  /// Streaming form of encode(): begin_block() once (emits pending size updates), then
  /// encode_field() for each field, all appending to `out`.
  void begin_block(std::vector<std::byte>& out);
  void encode_field(const HeaderField& field, std::vector<std::byte>& out);

  const EncoderOptions& options() const noexcept { return options_; }
  const DynamicTable& table() const noexcept;

  struct Impl;  // opaque: the table and its hash indexes

 private:
  EncoderOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kakehi::http2::hpack
