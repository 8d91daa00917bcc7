// RequestParser: the one translation unit that instantiates Beast's basic_parser<true>.
#include "kakehi/http1/detail/core.hpp"

namespace kakehi::http1 {

struct RequestParser::Impl : detail::Core<true> {
  using detail::Core<true>::Core;
};

RequestParser::RequestParser(const Limits& limits, std::string_view scheme)
    : impl_(std::make_unique<Impl>(limits, scheme)) {}
RequestParser::~RequestParser() = default;
RequestParser::RequestParser(RequestParser&&) noexcept = default;
RequestParser& RequestParser::operator=(RequestParser&&) noexcept = default;

Step RequestParser::feed(std::string_view in) { return impl_->feed(in); }
Step RequestParser::feed_eof() { return impl_->feed_eof(); }
http::Request& RequestParser::message() noexcept { return impl_->msg_; }
const HeadInfo& RequestParser::info() const noexcept { return impl_->info_; }
bool RequestParser::idle() const noexcept { return impl_->idle(); }

}  // namespace kakehi::http1
