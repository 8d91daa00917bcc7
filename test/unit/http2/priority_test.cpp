// RFC 9218 §4–§5 Priority field parsing.
#include "kakehi/http2/priority.hpp"

#include <doctest/doctest.h>

using kakehi::http2::parse_priority_field;
using kakehi::http2::Priority;

TEST_CASE("RFC 9218 §4 defaults and members") {
  CHECK(parse_priority_field("") == Priority{3, false});
  CHECK(parse_priority_field("u=0") == Priority{0, false});
  CHECK(parse_priority_field("u=5, i") == Priority{5, true});
  CHECK(parse_priority_field("i, u=7") == Priority{7, true});
  CHECK(parse_priority_field("i=?0, u=1") == Priority{1, false});
  CHECK(parse_priority_field("i=?1") == Priority{3, true});
  CHECK(parse_priority_field("u=2,i") == Priority{2, true});
}

TEST_CASE("RFC 9218 §4.1 out-of-range or mistyped values are ignored") {
  CHECK(parse_priority_field("u=8") == Priority{3, false});
  CHECK(parse_priority_field("u=-1, i") == Priority{3, true});
  CHECK(parse_priority_field("u=\"1\"") == Priority{3, false});
  CHECK(parse_priority_field("u=1.5") == Priority{3, false});
  CHECK(parse_priority_field("i=1") == Priority{3, false});
}

TEST_CASE("RFC 9218 §4 unknown members and parameters are skipped; last duplicate wins") {
  CHECK(parse_priority_field("foo=\"a,b\", u=1;x=2, bar") == Priority{1, false});
  CHECK(parse_priority_field("u=1, u=6") == Priority{6, false});
}

TEST_CASE("RFC 8941: a field that is not a dictionary leaves the base") {
  Priority base{3, false};
  CHECK(parse_priority_field("u=1,", base) == base);
  CHECK(parse_priority_field("U=1", base) == base);
  CHECK(parse_priority_field("u=1 i", base) == base);
}
