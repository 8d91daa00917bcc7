// Member definitions of detail::Core (see core.hpp). Included only through core.hpp.
#pragma once

#include <boost/asio/buffer.hpp>

#include "kakehi/http1/detail/core.hpp"

namespace kakehi::http1::detail {

inline Outcome map_beast_error(const beast_ec& ec, bool cl, bool te, bool request) noexcept {
  using E = bhttp::error;
  if (ec == E::bad_content_length || ec == E::multiple_content_length) {
    if (te) return Outcome::ContentLengthAndTransferEncoding;
    return (cl || ec == E::multiple_content_length) ? Outcome::DuplicateContentLength
                                                    : Outcome::BadContentLength;
  }
  if (ec == E::bad_transfer_encoding)
    return cl ? Outcome::ContentLengthAndTransferEncoding : Outcome::BadTransferEncoding;
  if (ec == E::bad_method || ec == E::bad_target || ec == E::bad_version)
    return request ? Outcome::BadRequestLine : Outcome::BadStatusLine;
  if (ec == E::bad_status || ec == E::bad_reason) return Outcome::BadStatusLine;
  if (ec == E::bad_field) return Outcome::BadHeaderName;
  if (ec == E::bad_value) return Outcome::BadHeaderValue;
  if (ec == E::bad_line_ending) return Outcome::BadHeaderValue;  // bare CR
  if (ec == E::bad_chunk || ec == E::bad_chunk_extension) return Outcome::BadChunk;
  if (ec == E::bad_obs_fold) return Outcome::ObsFold;
  if (ec == E::header_limit) return Outcome::HeaderTooLarge;
  if (ec == E::body_limit) return Outcome::BodyTooLarge;
  if (ec == E::partial_message) return Outcome::UnexpectedEof;
  return Outcome::BadMessage;
}

template <bool R>
void Core<R>::start_message() {
  msg_.clear();
  info_ = {};
  scan_.reset();
  error_ = Outcome::Ok;
  seen_cl_ = seen_te_ = seen_host_ = in_trailers_ = conn_upgrade_ = false;
  host_ = target_authority_ = {};
  trailer_count_ = 0;
  field_count_ = 0;
  scanning_ = false;
  chunk_left_ = 0;
  beast_.emplace(this);
  beast_->header_limit(limits_.max_header_bytes);
  if (limits_.max_body == std::numeric_limits<uint64_t>::max())
    beast_->body_limit(boost::none);
  else
    beast_->body_limit(limits_.max_body);
  if constexpr (!R) beast_->skip(head_request_);
  phase_ = Phase::Head;
}

template <bool R>
Step Core<R>::feed(std::string_view in) {
  if (complete_pending_) {
    complete_pending_ = false;
    return Step{Event::Complete};
  }
  switch (phase_) {
    case Phase::Failed:
      return Step{Event::Error, 0, {}, 0, error_};
    case Phase::Upgraded:
      return Step{};
    case Phase::Head:
      return feed_head(in, 0);
    case Phase::Body:
      return feed_body(in);
    case Phase::Idle:
      break;
  }
  // RFC 9112 §2.2: ignore empty lines received before the start line (also between responses).
  uint32_t skipped = 0;
  while (in.size() - skipped >= 2 && in[skipped] == '\r' && in[skipped + 1] == '\n') skipped += 2;
  if (in.size() - skipped == 1 && in[skipped] == '\r') return Step{Event::NeedMore, skipped};
  if (in.size() == skipped) return Step{Event::NeedMore, skipped};
  start_message();
  return feed_head(in.substr(skipped), skipped);
}

template <bool R>
Outcome Core<R>::classify(std::string_view in, const beast_ec& ec) const {
  if (error_ != Outcome::Ok) return error_;  // one of our checks stopped Beast
  HeadScanner fresh;                         // the line scan names bare LF, obs-fold, 505, 414
  ScanResult r = scan_head(fresh, in, limits_, R);
  if (r.error != Outcome::Ok) return r.error;
  return map_beast_error(ec, seen_cl_, seen_te_, R);
}

// Fast path: the whole head is in the first input (the usual case): Beast parses it directly
// and the line scan runs only to name an error. Otherwise the parse is restarted in scan mode:
// the line scan finds the end of the head incrementally (keeping offsets, so the input may move
// between calls) and Beast runs once over the complete head.
template <bool R>
Step Core<R>::feed_head(std::string_view in, uint32_t skipped) {
  if (scanning_) {
    ScanResult r = scan_head(scan_, in, limits_, R);
    if (r.error != Outcome::Ok) return fail(r.error);
    if (r.head_len == 0) return Step{Event::NeedMore, skipped};
  }
  in_begin_ = in.data();
  in_end_ = in.data() + in.size();
  beast_ec ec;
  size_t n = beast_->put(boost::asio::const_buffer(in.data(), in.size()), ec);
  if (ec == bhttp::error::need_more && error_ == Outcome::Ok && !scanning_) {
    start_message();  // forget the views taken so far: the next input may be elsewhere
    scanning_ = true;
    return feed_head(in, skipped);
  }
  if (ec || error_ != Outcome::Ok) return fail(classify(in, ec));
  if (!beast_->is_header_done()) return fail(Outcome::BadMessage);
  if (Outcome o = finish_head(); o != Outcome::Ok) return fail(o);
  if (beast_->is_done()) {
    complete_pending_ = true;
    phase_ = msg_.framing.kind == http::BodyKind::Upgrade ? Phase::Upgraded : Phase::Idle;
  } else {
    phase_ = Phase::Body;
  }
  return Step{Event::Head, skipped + static_cast<uint32_t>(n)};
}

/// Beast scans a quoted chunk extension past the end of its line and then waits for a closing
/// quote. A complete chunk-size line with a non-zero size can only be waiting for that reason:
/// refuse it now instead of at the header limit (llhttp case "Unbalanced chunk extensions").
inline bool unterminated_chunk_ext(std::string_view in) noexcept {
  if (in.starts_with("\r\n")) in.remove_prefix(2);
  size_t eol = in.find("\r\n");
  if (eol == std::string_view::npos) return false;
  size_t digits = in.find_first_not_of("0123456789abcdefABCDEF");
  if (digits == 0) return false;  // Beast will reject the size itself
  return in.substr(0, digits).find_first_not_of('0') != std::string_view::npos;
}

template <bool R>
Step Core<R>::feed_body(std::string_view in) {
  if (in.empty()) return Step{};
  // At a chunk-size line, wait for 5 bytes ("0" CRLF CRLF, the shortest that completes): Beast
  // asserts that a last-chunk line seen before is presented again with at least 5 bytes.
  if (msg_.framing.kind == http::BodyKind::Chunked && chunk_left_ == 0 && in.size() < 5)
    return Step{};
  body_ = {};
  got_chunk_header_ = false;
  in_begin_ = in.data();
  in_end_ = in.data() + in.size();
  beast_ec ec;
  auto n = static_cast<uint32_t>(beast_->put(boost::asio::const_buffer(in.data(), in.size()), ec));
  if (error_ != Outcome::Ok) return fail(error_);
  if (ec == bhttp::error::need_more) {
    // A chunk-size line or trailer section longer than a head is refused like a head.
    if (in.size() >= limits_.max_header_bytes) return fail(Outcome::HeaderTooLarge);
    if (n == 0 && unterminated_chunk_ext(in)) return fail(Outcome::BadChunk);
    return Step{Event::NeedMore, n};
  }
  if (ec) return fail(map_beast_error(ec, seen_cl_, seen_te_, R));
  if (got_chunk_header_) return Step{Event::ChunkHeader, n, chunk_ext_, chunk_size_};
  if (beast_->is_done()) {
    phase_ = Phase::Idle;
    if (!body_.empty()) {
      complete_pending_ = true;
      return Step{Event::Body, n, body_};
    }
    return Step{Event::Complete, n};
  }
  if (!body_.empty()) {
    if (msg_.framing.kind == http::BodyKind::Chunked) chunk_left_ -= body_.size();
    return Step{Event::Body, n, body_};
  }
  return Step{Event::NeedMore, n};
}

template <bool R>
Step Core<R>::feed_eof() {
  if (complete_pending_) {
    complete_pending_ = false;
    return Step{Event::Complete};
  }
  switch (phase_) {
    case Phase::Idle:
    case Phase::Upgraded:
      return Step{};
    case Phase::Failed:
      return Step{Event::Error, 0, {}, 0, error_};
    case Phase::Head:
      return fail(Outcome::UnexpectedEof);
    case Phase::Body:
      break;
  }
  beast_ec ec;
  beast_->put_eof(ec);
  if (ec || !beast_->is_done()) return fail(Outcome::UnexpectedEof);
  phase_ = Phase::Idle;
  return Step{Event::Complete};
}

template <bool R>
void Core<R>::on_request(std::string_view method, std::string_view target, int version,
                         beast_ec& ec) {
  if constexpr (R) {
    msg_.method = method;
    msg_.version = static_cast<http::Version>(version);
    // method SP target SP "HTTP/1.1" CRLF: 11 bytes after the target.
    if (static_cast<size_t>(target.data() + target.size() + 11 - method.data()) >
        limits_.max_request_line)
      return reject(Outcome::UriTooLong, ec);
    if (method == "CONNECT") return reject(Outcome::ConnectRefused, ec);
    if (target[0] == '/') {  // origin-form, the usual case
      if (!ascii_target(target)) return reject(Outcome::BadTarget, ec);
      msg_.scheme = scheme_;
      msg_.path = target;
      return;
    }
    Target t;
    if (Outcome o = parse_target(method, target, msg_.storage, t); o != Outcome::Ok)
      return reject(o, ec);
    msg_.scheme = t.scheme.empty() ? scheme_ : t.scheme;
    msg_.path = t.path;
    target_authority_ = t.authority;
  }
}

template <bool R>
void Core<R>::on_response(int code, std::string_view reason, int version, beast_ec& ec) {
  if constexpr (!R) {
    if (code < 100 || code > 599) return reject(Outcome::BadStatusLine, ec);
    msg_.status = static_cast<uint16_t>(code);
    msg_.reason = reason;
    msg_.version = static_cast<http::Version>(version);
  }
}

template <bool R>
void Core<R>::on_field(bhttp::field f, std::string_view name, std::string_view value,
                       beast_ec& ec) {
  if (in_trailers_)
    on_trailer_field(name, value, ec);
  else
    on_header_field(f, name, value, ec);
}

template <bool R>
void Core<R>::on_header_field(bhttp::field f, std::string_view name, std::string_view value,
                              beast_ec& ec) {
  using F = bhttp::field;
  if (++field_count_ > limits_.max_header_count) return reject(Outcome::TooManyHeaders, ec);
  if (folded(name, value)) return reject(Outcome::ObsFold, ec);
  switch (f) {
    case F::host:
      if constexpr (R) {
        if (seen_host_) return reject(Outcome::MultipleHost, ec);
        if (!valid_host(value)) return reject(Outcome::BadHost, ec);
        seen_host_ = true;
        host_ = value;
        return;  // the model carries it as `authority`
      }
      break;
    case F::content_length:
      if (seen_te_) return reject(Outcome::ContentLengthAndTransferEncoding, ec);
      if (seen_cl_ || value.find(',') != std::string_view::npos)
        return reject(Outcome::DuplicateContentLength, ec);
      seen_cl_ = true;
      break;
    case F::transfer_encoding: {
      if (seen_cl_) return reject(Outcome::ContentLengthAndTransferEncoding, ec);
      if (seen_te_) return reject(Outcome::BadTransferEncoding, ec);
      if (R && msg_.version == 10) return reject(Outcome::BadTransferEncoding, ec);
      if (Outcome o = check_transfer_encoding(value); o != Outcome::Ok) return reject(o, ec);
      seen_te_ = true;
      break;
    }
    case F::connection:
      if (http::list_contains(value, "upgrade")) conn_upgrade_ = true;
      break;
    case F::upgrade:
      info_.upgrade_protocol = value;
      break;
    case F::expect:
      if (R && http::iequals(value, "100-continue")) info_.expect_continue = true;
      break;
    default:
      break;
  }
  msg_.fields.add(name, value);
}

template <bool R>
void Core<R>::on_trailer_field(std::string_view name, std::string_view value, beast_ec& ec) {
  if (++trailer_count_ > limits_.max_header_count) return reject(Outcome::TooManyHeaders, ec);
  if (folded(name, value)) return reject(Outcome::ObsFold, ec);
  msg_.trailers.add(name, value);
}

template <bool R>
Outcome Core<R>::finish_head() {
  using http::BodyKind;
  http::Framing& fr = msg_.framing;
  if (beast_->chunked())
    fr = {BodyKind::Chunked, 0};
  else if (auto cl = beast_->content_length())
    fr = {BodyKind::ContentLength, *cl};
  else
    fr = {R ? BodyKind::None : BodyKind::Close, 0};
  info_.keep_alive = beast_->keep_alive();
  if constexpr (R) {
    if (limits_.require_host && msg_.version == 11 && !seen_host_) return Outcome::MissingHost;
    if (!target_authority_.empty()) {
      if (seen_host_ && !http::iequals(host_, target_authority_)) return Outcome::HostMismatch;
      msg_.authority = target_authority_;
    } else {
      msg_.authority = host_;
    }
    if (fr.kind == BodyKind::ContentLength && fr.length == 0) fr = {BodyKind::None, 0};
    info_.upgrade = conn_upgrade_ && !info_.upgrade_protocol.empty();
  } else {
    uint16_t s = msg_.status;
    if (s == 101) {
      fr = {BodyKind::Upgrade, 0};
      info_.upgrade = true;
      info_.keep_alive = false;
    } else if (head_request_ || s / 100 == 1 || s == 204 || s == 304) {
      fr = {BodyKind::None, 0};
    }
  }
  return Outcome::Ok;
}

}  // namespace kakehi::http1::detail
