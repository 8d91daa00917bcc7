// Shared driver for the HTTP/1.1 parser fuzz targets: the first byte picks how the input is cut
// into pieces (as a receive buffer would see it); every step is checked against the feeding
// contract (consumed within the input, body views inside the input, progress bounded).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "kakehi/http1/parser.hpp"

namespace kakehi::http1::fuzz {

inline void require(bool ok) {
  if (!ok) std::abort();
}

inline bool inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

/// Feeds `in` in pieces of `piece` bytes; calls `on_head(parser)` at each Head.
template <class Parser, class OnHead>
void drive(Parser& p, std::string_view in, size_t piece, OnHead&& on_head) {
  std::string buf;
  size_t fed = 0;
  size_t steps = 0;
  for (;;) {
    if (fed < in.size()) {
      size_t n = std::min(piece, in.size() - fed);
      buf.append(in.substr(fed, n));
      fed += n;
    }
    for (;;) {
      require(++steps < 4 * in.size() + 64);
      Step s = p.feed(buf);
      require(s.consumed <= buf.size());
      if (s.event == Event::Body || s.event == Event::ChunkHeader) require(inside(s.data, buf));
      if (s.event == Event::Body) require(!s.data.empty());
      if (s.event == Event::Error) return;
      if (s.event == Event::Head) on_head(p);
      buf.erase(0, s.consumed);
      if (s.event == Event::NeedMore && s.consumed == 0) break;
    }
    if (fed == in.size()) break;
  }
  p.feed_eof();
}

}  // namespace kakehi::http1::fuzz
