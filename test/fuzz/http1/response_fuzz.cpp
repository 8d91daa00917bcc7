// libFuzzer target http1_response: ResponseParser over arbitrary bytes and cut points, as the
// answer to GET or HEAD (picked by the first byte), ending with EOF.
#include <cstddef>
#include <cstdint>

#include "fuzz_driver.hpp"

using namespace kakehi::http1;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = data[0] % 16 == 0 ? size : data[0] % 16;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  Limits l;
  l.max_header_bytes = 4096;
  l.max_header_count = 64;
  ResponseParser p(l);
  p.start(data[0] & 0x80 ? "HEAD" : "GET");
  fuzz::drive(p, in, piece, [](ResponseParser& rp) {
    const auto& m = rp.message();
    fuzz::require(m.status >= 100 && m.status <= 599);
  });
  return 0;
}
