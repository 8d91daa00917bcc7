// The independent http2-frame-test-case corpus (../shared/testdata/http2-frame-test-case, see its
// README): every normal case decodes to the fields listed in its JSON and re-encodes to the same
// wire bytes (padding bytes compared as zeros, which is what §6.1 makes senders write); every
// error case fails with one of the listed codes.
#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "kakehi/http2/frame_decoder.hpp"
#include "kakehi/http2/frame_encoder.hpp"
#include "support/h2_frames.hpp"
#include "support/testdata.hpp"

using namespace kakehi::http2;
namespace json = boost::json;
using kakehi::test::to_hex;

namespace {

uint64_t num(const json::value& v) { return v.to_number<uint64_t>(); }

/// Checks the payload fields the JSON names that our decoded frame exposes.
void check_fields(const Frame& f, const json::object& p) {
  using kakehi::test::as_text;
  if (auto* d = std::get_if<DataFrame>(&f)) CHECK(as_text(d->data) == p.at("data").as_string());
  if (auto* h = std::get_if<HeadersFrame>(&f)) {
    CHECK(as_text(h->fragment) == p.at("header_block_fragment").as_string());
    if (!p.at("stream_dependency").is_null()) {
      REQUIRE(h->priority);
      CHECK(h->priority->dependency == num(p.at("stream_dependency")));
      CHECK(h->priority->weight + 1u == num(p.at("weight")));
      CHECK(h->priority->exclusive == p.at("exclusive").as_bool());
    }
  }
  if (auto* s = std::get_if<SettingsFrame>(&f)) {
    const auto& list = p.at("settings").as_array();
    REQUIRE(s->settings.size() == list.size());
    for (size_t i = 0; i < list.size(); ++i) {
      CHECK(s->settings[i].id == num(list[i].as_array()[0]));
      CHECK(s->settings[i].value == num(list[i].as_array()[1]));
    }
  }
  if (auto* g = std::get_if<GoawayFrame>(&f)) {
    CHECK(g->last_stream_id == num(p.at("last_stream_id")));
    CHECK(static_cast<uint32_t>(g->error_code) == num(p.at("error_code")));
    CHECK(as_text(g->debug_data) == p.at("additional_debug_data").as_string());
  }
  if (auto* w = std::get_if<WindowUpdateFrame>(&f))
    CHECK(w->increment == num(p.at("window_size_increment")));
  if (auto* r = std::get_if<RstStreamFrame>(&f))
    CHECK(static_cast<uint32_t>(r->error_code) == num(p.at("error_code")));
  if (auto* pp = std::get_if<PushPromiseFrame>(&f))
    CHECK(pp->promised_stream_id == num(p.at("promised_stream_id")));
  if (auto* pi = std::get_if<PingFrame>(&f))
    CHECK(as_text(pi->opaque) == p.at("opaque_data").as_string());
  if (auto* pr = std::get_if<PriorityFrame>(&f))
    CHECK(pr->priority.dependency == num(p.at("stream_dependency")));
}

/// The wire bytes with the padding zeroed, given the decoded frame's padding length.
kakehi::test::Bytes zero_padding(kakehi::test::Bytes wire, std::optional<uint8_t> pad) {
  if (pad) std::fill(wire.end() - *pad, wire.end(), std::byte{0});
  return wire;
}

std::optional<uint8_t> pad_of(const Frame& f) {
  if (auto* d = std::get_if<DataFrame>(&f)) return d->pad_length;
  if (auto* h = std::get_if<HeadersFrame>(&f)) return h->pad_length;
  if (auto* p = std::get_if<PushPromiseFrame>(&f)) return p->pad_length;
  return std::nullopt;
}

}  // namespace

TEST_CASE("http2-frame-test-case corpus") {
  auto root = kakehi::test::shared_testdata() / "http2-frame-test-case";
  if (!std::filesystem::is_directory(root)) {
    MESSAGE("skipped: no ../shared/testdata/http2-frame-test-case");
    return;
  }
  int normal = 0, errors = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (e.path().extension() != ".json") continue;
    CAPTURE(e.path().string());
    json::object doc = json::parse(kakehi::test::read_file(e.path())).as_object();
    auto wire = kakehi::test::hex(std::string(doc.at("wire").as_string()));
    auto r = decode_frame(wire, 16384);
    if (doc.at("error").is_null()) {
      ++normal;
      REQUIRE(r.ok());
      CHECK(r.consumed() == wire.size());
      const json::object& fr = doc.at("frame").as_object();
      check_fields(r.value(), fr.at("frame_payload").as_object());
      ByteBuffer out;
      encode_frame(out, r.value());
      CHECK(to_hex(out) == to_hex(zero_padding(wire, pad_of(r.value()))));
    } else {
      ++errors;
      REQUIRE(r.is_error());
      bool listed = false;
      for (const auto& c : doc.at("error").as_array())
        listed |= num(c) == static_cast<uint32_t>(r.error().code);
      CHECK_MESSAGE(listed, error_name(r.error().code));
    }
  }
  CHECK(normal == 12);
  CHECK(errors == 22);
}
