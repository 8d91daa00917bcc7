// The parser engine shared by RequestParser and ResponseParser: drives one Beast basic_parser per
// message and turns its callbacks into Steps. Included ONLY by request_parser.cpp and
// response_parser.cpp, which instantiate it once per direction, so Beast is compiled twice in
// the whole project and never seen by users of parser.hpp.
//
// States (per message):
//   Idle --first byte--> Head --head parsed--> Body --body done--> Idle
//     Head/Body --error--> Failed (sticky)     Head --101 response--> Upgraded (sticky)
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <optional>
#include <type_traits>

#include "kakehi/http/message.hpp"
#include "kakehi/http1/detail/head_checks.hpp"
#include "kakehi/http1/parser.hpp"

namespace kakehi::http1::detail {

namespace bhttp = boost::beast::http;
using beast_ec = boost::beast::error_code;

/// Maps a Beast error (not caused by our callbacks) to an outcome. `cl`/`te`: a Content-Length /
/// Transfer-Encoding field was seen before.
Outcome map_beast_error(const beast_ec& ec, bool cl, bool te, bool request) noexcept;

template <bool isRequest>
class Core;

template <bool isRequest>
class BeastAdapter final : public bhttp::basic_parser<isRequest> {
 public:
  explicit BeastAdapter(Core<isRequest>* core) : core_(core) {}

 private:
  using sv = boost::beast::string_view;
  static std::string_view s(sv v) { return {v.data(), v.size()}; }
  void on_request_impl(bhttp::verb, sv method, sv target, int version, beast_ec& ec) override {
    if constexpr (isRequest) core_->on_request(s(method), s(target), version, ec);
  }
  void on_response_impl(int code, sv reason, int version, beast_ec& ec) override {
    if constexpr (!isRequest) core_->on_response(code, s(reason), version, ec);
  }
  void on_field_impl(bhttp::field f, sv name, sv value, beast_ec& ec) override {
    core_->on_field(f, s(name), s(value), ec);
  }
  void on_header_impl(beast_ec&) override {}
  void on_body_init_impl(const boost::optional<uint64_t>&, beast_ec&) override {}
  size_t on_body_impl(sv body, beast_ec&) override {
    core_->body_ = s(body);
    return body.size();
  }
  void on_chunk_header_impl(uint64_t size, sv ext, beast_ec&) override {
    core_->on_chunk_header(size, s(ext));
  }
  size_t on_chunk_body_impl(uint64_t, sv body, beast_ec&) override {
    core_->body_ = s(body);
    return body.size();
  }
  void on_finish_impl(beast_ec&) override {}

  Core<isRequest>* core_;
};

template <bool isRequest>
class Core {
 public:
  using Message = std::conditional_t<isRequest, http::Request, http::Response>;
  enum class Phase : uint8_t { Idle, Head, Body, Failed, Upgraded };

  Core(const Limits& limits, std::string_view scheme) : limits_(limits), scheme_(scheme) {
    msg_.fields.reserve(32);
  }
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  Step feed(std::string_view in);
  Step feed_eof();
  bool idle() const noexcept { return phase_ == Phase::Idle && !complete_pending_; }
  /// Drops a message in progress: the next feed() starts a new one.
  void abandon() noexcept {
    phase_ = Phase::Idle;
    complete_pending_ = false;
  }

  Message msg_;
  HeadInfo info_;
  Phase phase_ = Phase::Idle;
  bool head_request_ = false;  // responses: the request was HEAD

  // Callbacks from BeastAdapter.
  void on_request(std::string_view method, std::string_view target, int version, beast_ec& ec);
  void on_response(int code, std::string_view reason, int version, beast_ec& ec);
  void on_field(bhttp::field f, std::string_view name, std::string_view value, beast_ec& ec);
  void on_chunk_header(uint64_t size, std::string_view ext) {
    if (size == 0) {
      in_trailers_ = true;
      return;
    }
    chunk_size_ = size;
    chunk_ext_ = ext;
    got_chunk_header_ = true;
    chunk_left_ = size;
  }
  std::string_view body_;

 private:
  void start_message();
  Step fail(Outcome o) {
    phase_ = Phase::Failed;
    error_ = o;
    return Step{Event::Error, 0, {}, 0, o};
  }
  void reject(Outcome o, beast_ec& ec) {
    error_ = o;
    ec = bhttp::error::bad_value;  // stops Beast; error_ says why
  }
  Step feed_head(std::string_view in, uint32_t skipped);
  Outcome classify(std::string_view in, const beast_ec& ec) const;
  /// Beast unfolds obs-fold into its own buffer, or skips an empty first line: both show up as a
  /// value outside the input, or not right after the colon and OWS.
  bool folded(std::string_view name, std::string_view value) const noexcept {
    const char* colon_end = name.data() + name.size() + 1;
    return value.data() < colon_end || value.data() + value.size() > in_end_ ||
           !only_ows({colon_end, static_cast<size_t>(value.data() - colon_end)});
  }
  Step feed_body(std::string_view in);
  Outcome finish_head();
  void on_header_field(bhttp::field f, std::string_view name, std::string_view value, beast_ec& ec);
  void on_trailer_field(std::string_view name, std::string_view value, beast_ec& ec);

  Limits limits_;
  std::string_view scheme_;
  std::optional<BeastAdapter<isRequest>> beast_;
  HeadScanner scan_;
  Outcome error_ = Outcome::Ok;
  bool complete_pending_ = false;
  bool seen_cl_ = false, seen_te_ = false, seen_host_ = false, in_trailers_ = false;
  bool conn_upgrade_ = false;
  bool got_chunk_header_ = false;
  uint64_t chunk_left_ = 0;  // chunked: data bytes of the current chunk not yet delivered
  uint64_t chunk_size_ = 0;
  std::string_view chunk_ext_;
  std::string_view host_;
  std::string_view target_authority_;
  const char* in_begin_ = nullptr;  // current input, for the trailer obs-fold check
  const char* in_end_ = nullptr;
  uint32_t trailer_count_ = 0;
  uint32_t field_count_ = 0;
  bool scanning_ = false;  // the head did not arrive whole: find its end with the line scan
};

}  // namespace kakehi::http1::detail

#include "kakehi/http1/detail/core_impl.hpp"
