// JSON forms of the configuration (Boost.JSON): the state dump, requests and answers as they
// travel on the control socket (one JSON document per line). Control plane: parsing may throw
// internally but every entry point catches and returns a one-line reason. No I/O.
// The field-by-field format is documented in docs/config.md.
#pragma once

#include <string>
#include <string_view>

#include "kakehi/common/result.hpp"
#include "kakehi/config/model.hpp"
#include "kakehi/config/request.hpp"

namespace kakehi::config {

/// The whole state as one JSON object (deterministic: ordered by keys, no whitespace).
[[nodiscard]] std::string dump_state(const State& state);
/// Parses a dump and checks every referential rule (`validate`). Missing optional fields take
/// their defaults; unknown fields are errors. Error: `"<path>: <what>"`.
[[nodiscard]] Result<State, std::string> load_state(std::string_view json);

/// `{"id": "...", "type": "add_backend", "data": {...}}`.
[[nodiscard]] std::string request_to_json(const Request& request);
[[nodiscard]] Result<Request, std::string> request_from_json(std::string_view json);

/// `{"id": "...", "status": "ok"|"error"|"processing", "message": "...", "payload": state|null}`.
[[nodiscard]] std::string answer_to_json(const Answer& answer);
[[nodiscard]] Result<Answer, std::string> answer_from_json(std::string_view json);

/// The "type" name of a request kind ("add_listener", "list_backends"...).
[[nodiscard]] std::string_view request_type_name(const RequestBody& body) noexcept;

}  // namespace kakehi::config
