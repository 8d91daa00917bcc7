// The control socket's line protocol, without the socket: one JSON request per line
// (config::request_from_json) or a JSON array of requests applied as one all-or-nothing diff;
// every request gets one JSON answer line (config::answer_to_json). A line that is not valid
// JSON or not a valid request gets one error answer with id "". Never throws.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "kakehi/common/result.hpp"
#include "kakehi/config/request.hpp"

namespace kakehi::edge {

/// Longest request line accepted by the control socket (bytes, without the newline).
inline constexpr size_t kMaxControlLine = 1 << 20;

/// Applies a diff and returns one answer per request (Proxy::apply in the binary).
using ApplyFn = std::function<std::vector<config::Answer>(std::vector<config::Request>)>;

/// Answers one request line: the answer lines, without newlines. Blank lines get no answer.
[[nodiscard]] std::vector<std::string> handle_control_line(std::string_view line,
                                                           const ApplyFn& apply);

/// The error answer line for `reason` (id "").
[[nodiscard]] std::string error_answer_line(std::string_view reason);

/// Splits a JSON array text `[a, b, ...]` into the texts of its top-level elements (strings and
/// nesting are honoured; the elements themselves are not validated). Error: a one-line reason.
[[nodiscard]] Result<std::vector<std::string_view>, std::string> split_json_array(
    std::string_view text);

}  // namespace kakehi::edge
