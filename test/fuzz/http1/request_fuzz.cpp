// libFuzzer target http1_request: RequestParser over arbitrary bytes and cut points. Every head
// that parses must serialize and parse again to the same method, target, authority and fields.
#include <cstddef>
#include <cstdint>

#include "fuzz_driver.hpp"
#include "kakehi/buffer/buffer_pool.hpp"
#include "kakehi/http1/serializer.hpp"

using namespace kakehi;
using namespace kakehi::http1;

namespace {

bool framing_field(std::string_view n) {
  return http::iequals(n, "content-length") || http::iequals(n, "transfer-encoding");
}

void check_reserialized(RequestParser& p) {
  static buffer::BufferPool pool(2, 64 * 1024);
  const http::Request& r = p.message();
  auto head = write_request_head(pool, r, outgoing_framing(r.framing, 11));
  fuzz::require(head.has_value());
  Limits l;
  l.require_host = false;
  l.max_header_bytes = 64 * 1024;
  l.max_request_line = 64 * 1024;
  RequestParser again(l, r.scheme);
  std::string wire(head->view());
  Step s = again.feed(wire);
  fuzz::require(s.event == Event::Head);
  const http::Request& b = again.message();
  fuzz::require(b.method == r.method && b.path == r.path && b.authority == r.authority);
  size_t j = 0;
  for (const http::Field& f : r.fields) {
    if (framing_field(f.name) && r.framing.kind != http::BodyKind::None) continue;
    while (j < b.fields.size() && framing_field(b.fields[j].name) &&
           r.framing.kind != http::BodyKind::None)
      ++j;
    fuzz::require(j < b.fields.size() && b.fields[j] == f);
    ++j;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = data[0] % 16 == 0 ? size : data[0] % 16;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  Limits l;
  l.max_header_bytes = 4096;
  l.max_request_line = 1024;
  l.max_header_count = 64;
  RequestParser p(l);
  fuzz::drive(p, in, piece, check_reserialized);
  return 0;
}
