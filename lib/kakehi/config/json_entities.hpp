// Internal: entity <-> boost::json::value conversions defined in json.cpp, shared with the
// request/answer codec in request_json.cpp. Not part of the public API.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "kakehi/config/model.hpp"

namespace kakehi::config::detail {

boost::json::value entity_to_json(const Listener& e);
boost::json::value entity_to_json(const Cluster& e);
boost::json::value entity_to_json(const HttpFrontend& e);
boost::json::value entity_to_json(const TcpFrontend& e);
boost::json::value entity_to_json(const Backend& e);
boost::json::value entity_to_json(const Certificate& e);
boost::json::value state_to_json(const State& s);
/// Readers throw std::invalid_argument("<where>: <what>").
void entity_from_json(const boost::json::value& v, Listener& e, const std::string& where);
void entity_from_json(const boost::json::value& v, Cluster& e, const std::string& where);
void entity_from_json(const boost::json::value& v, HttpFrontend& e, const std::string& where);
void entity_from_json(const boost::json::value& v, TcpFrontend& e, const std::string& where);
void entity_from_json(const boost::json::value& v, Backend& e, const std::string& where);
void entity_from_json(const boost::json::value& v, Certificate& e, const std::string& where);
void state_from_json(const boost::json::value& v, State& s, const std::string& where);
void string_from_json(const boost::json::value& v, std::string& s, const std::string& where);
boost::json::value parse_json(std::string_view text);

}  // namespace kakehi::config::detail
