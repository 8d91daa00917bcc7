// ResponseParser: the one translation unit that instantiates Beast's basic_parser<false>.
#include "kakehi/http1/detail/core.hpp"

namespace kakehi::http1 {

struct ResponseParser::Impl : detail::Core<false> {
  explicit Impl(const Limits& limits) : detail::Core<false>(limits, {}) {}
};

ResponseParser::ResponseParser(const Limits& limits) : impl_(std::make_unique<Impl>(limits)) {}
ResponseParser::~ResponseParser() = default;
ResponseParser::ResponseParser(ResponseParser&&) noexcept = default;
ResponseParser& ResponseParser::operator=(ResponseParser&&) noexcept = default;

void ResponseParser::start(std::string_view request_method) {
  impl_->head_request_ = request_method == "HEAD";
  // Whatever the previous response left (cut in its head or body): the next bytes start anew.
  impl_->abandon();
}
Step ResponseParser::feed(std::string_view in) { return impl_->feed(in); }
Step ResponseParser::feed_eof() { return impl_->feed_eof(); }
http::Response& ResponseParser::message() noexcept { return impl_->msg_; }
const HeadInfo& ResponseParser::info() const noexcept { return impl_->info_; }
bool ResponseParser::idle() const noexcept { return impl_->idle(); }
bool ResponseParser::upgraded() const noexcept {
  return impl_->phase_ == detail::Core<false>::Phase::Upgraded;
}

}  // namespace kakehi::http1
