// HPACK decoder (RFC 7541 §6): one pass over a header block. Table size updates are accepted
// only before the first field (§4.2); list and count limits stop delivery to the sink but not
// decoding, so the dynamic table stays in sync and the error can be stream-level.
#include "kakehi/http2/hpack/decoder.hpp"

#include <algorithm>

#include "kakehi/http2/hpack/huffman.hpp"
#include "kakehi/http2/hpack/integer.hpp"
#include "kakehi/http2/hpack/static_table.hpp"

namespace kakehi::http2::hpack {

// State of one decode() call.
struct Decoder::Run {
  Decoder& d;
  FieldSink sink;
  const std::byte* p;
  const std::byte* end;
  BlockInfo info{};
  std::uint64_t list_size = 0;
  HpackError limit_error{};
  bool tripped = false;

  void emit(std::string_view name, std::string_view value, bool never_indexed) {
    ++info.field_count;
    list_size += name.size() + value.size() + kEntryOverhead;
    if (tripped) return;
    if (info.field_count > d.limits_.max_field_count) {
      tripped = true;
      limit_error = HpackError::TooManyFields;
    } else if (list_size > d.limits_.max_header_list_size) {
      tripped = true;
      limit_error = HpackError::HeaderListTooLarge;
    } else {
      sink(HeaderField{name, value, never_indexed});
    }
  }

  Result<std::uint32_t, HpackError> read_int(int prefix_bits) {
    return integer::decode(&p, end, prefix_bits);
  }

  // A string literal (§5.2): a view into the block, or into `scratch` when Huffman-coded.
  Result<std::string_view, HpackError> read_string(detail::Scratch& scratch) {
    if (p == end) return Unexpected(HpackError::Truncated);
    const bool huff = (std::to_integer<unsigned>(*p) & 0x80) != 0;
    auto len = read_int(7);
    if (!len) return Unexpected(len.error());
    if (*len > d.limits_.max_string_length) return Unexpected(HpackError::StringTooLong);
    if (*len > static_cast<std::size_t>(end - p)) return Unexpected(HpackError::Truncated);
    const std::string_view raw(reinterpret_cast<const char*>(p), *len);
    p += *len;
    if (!huff) return raw;
    char* out = scratch.reserve(huffman::max_decoded_length(raw.size()));
    auto n = huffman::decode(raw, out);
    if (!n) return Unexpected(n.error());
    if (*n > d.limits_.max_string_length) return Unexpected(HpackError::StringTooLong);
    return std::string_view(out, *n);
  }

  // Resolves a name or field index (§2.3.3) against the static then the dynamic table.
  Result<StaticEntry, HpackError> lookup(std::uint32_t index) const {
    if (index == 0) return Unexpected(HpackError::IndexZero);
    if (index <= kStaticTableSize) return kStaticTable[index - 1];
    const std::uint32_t dyn = index - kStaticTableSize;
    if (dyn > d.table_.count()) return Unexpected(HpackError::IndexOutOfRange);
    const auto e = d.table_.at(dyn);
    return StaticEntry{e.name, e.value};
  }

  Result<void, HpackError> indexed() {  // §6.1
    auto idx = read_int(7);
    if (!idx) return Unexpected(idx.error());
    auto e = lookup(*idx);
    if (!e) return Unexpected(e.error());
    emit(e->name, e->value, false);
    return {};
  }

  // §6.2: literal field; `prefix_bits` 6 (incremental indexing) or 4 (without / never).
  Result<void, HpackError> literal(int prefix_bits, bool add, bool never_indexed) {
    auto idx = read_int(prefix_bits);
    if (!idx) return Unexpected(idx.error());
    std::string_view name;
    if (*idx == 0) {
      auto n = read_string(d.name_scratch_);
      if (!n) return Unexpected(n.error());
      name = *n;
    } else {
      auto e = lookup(*idx);
      if (!e) return Unexpected(e.error());
      name = e->name;
      if (add && *idx > kStaticTableSize) {  // insertion may evict it (§4.4): copy first
        char* copy = d.name_scratch_.reserve(name.size());
        std::copy(name.begin(), name.end(), copy);
        name = std::string_view(copy, name.size());
      }
    }
    auto value = read_string(d.value_scratch_);
    if (!value) return Unexpected(value.error());
    if (add && d.table_.insert(name, *value)) {
      const auto e = d.table_.at(1);
      emit(e.name, e.value, false);
    } else {
      emit(name, *value, never_indexed);
    }
    return {};
  }

  Result<void, HpackError> size_updates() {  // §6.3, only at the start of a block (§4.2)
    bool seen = false;
    while (p != end && (std::to_integer<unsigned>(*p) & 0xe0) == 0x20) {
      auto v = read_int(5);
      if (!v) return Unexpected(v.error());
      if (*v > d.limits_.max_table_size) return Unexpected(HpackError::TableSizeUpdateTooLarge);
      d.table_.set_max_size(*v);
      seen = true;
    }
    if (d.update_required_ && !seen) return Unexpected(HpackError::TableSizeUpdateMissing);
    d.update_required_ = false;
    return {};
  }

  Result<void, HpackError> field() {
    const auto b = std::to_integer<unsigned>(*p);
    if (b & 0x80) return indexed();
    if (b & 0x40) return literal(6, true, false);
    if (b & 0x20) return Unexpected(HpackError::TableSizeUpdateNotAtStart);
    return literal(4, false, (b & 0x10) != 0);
  }
};

Decoder::Decoder(const DecoderLimits& limits) : limits_(limits), table_(limits.max_table_size) {}

void Decoder::set_limits(const DecoderLimits& limits) noexcept {
  const auto table_size = limits_.max_table_size;
  limits_ = limits;
  limits_.max_table_size = table_size;
}

void Decoder::set_max_table_size_setting(std::uint32_t size) {
  limits_.max_table_size = size;
  if (size < table_.max_size()) update_required_ = true;
  if (size > table_.size_limit()) table_.set_size_limit(size);
}

Result<BlockInfo, HpackError> Decoder::decode(std::span<const std::byte> block, FieldSink sink) {
  Run run{*this, sink, block.data(), block.data() + block.size()};
  if (auto r = run.size_updates(); !r) return Unexpected(r.error());
  while (run.p != run.end)
    if (auto r = run.field(); !r) return Unexpected(r.error());
  if (run.tripped) return Unexpected(run.limit_error);
  run.info.header_list_size =
      static_cast<std::uint32_t>(std::min<std::uint64_t>(run.list_size, 0xffffffffu));
  return run.info;
}

}  // namespace kakehi::http2::hpack
