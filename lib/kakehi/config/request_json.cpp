// Requests and answers as JSON: `{"id", "type", "data"}` and `{"id", "status", "message",
// "payload"}`. The type name table follows the order of RequestBody's alternatives.
#include <array>
#include <initializer_list>
#include <stdexcept>
#include <utility>

// Same GCC 12 + ASan false positives in Boost.JSON's inline code as in json.cpp.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#pragma GCC diagnostic ignored "-Wrestrict"
#include <boost/json.hpp>
#pragma GCC diagnostic pop

#include "kakehi/config/json.hpp"
#include "kakehi/config/json_entities.hpp"

namespace kakehi::config {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, std::variant_size_v<RequestBody>> kTypeNames = {
    "add_listener",         "update_listener",    "remove_listener",     "add_cluster",
    "update_cluster",       "remove_cluster",     "add_http_frontend",   "update_http_frontend",
    "remove_http_frontend", "add_tcp_frontend",   "update_tcp_frontend", "remove_tcp_frontend",
    "add_backend",          "update_backend",     "remove_backend",      "add_certificate",
    "update_certificate",   "remove_certificate", "list_listeners",      "list_clusters",
    "list_frontends",       "list_backends",      "query_cluster"};
constexpr std::array<std::string_view, 3> kStatusNames = {"ok", "error", "processing"};

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::invalid_argument(where + ": " + what);
}

// ---- data writers: an entity, or an object of key strings.
template <class T>
json::value data_of(const T& r) {
  const auto& [entity] = r;
  return detail::entity_to_json(entity);
}
json::value data_of(const RemoveListener& r) { return json::object{{"address", r.address}}; }
json::value data_of(const RemoveCluster& r) { return json::object{{"id", r.id}}; }
json::value data_of(const RemoveHttpFrontend& r) { return json::object{{"id", r.id}}; }
json::value data_of(const RemoveTcpFrontend& r) { return json::object{{"listener", r.listener}}; }
json::value data_of(const RemoveBackend& r) {
  return json::object{{"cluster", r.cluster}, {"id", r.id}};
}
json::value data_of(const RemoveCertificate& r) { return json::object{{"id", r.id}}; }
json::value data_of(const ListListeners&) { return json::object{}; }
json::value data_of(const ListClusters&) { return json::object{}; }
json::value data_of(const ListFrontends&) { return json::object{}; }
json::value data_of(const ListBackends& r) {
  return json::object{
      {"cluster", r.cluster ? json::value(json::string(*r.cluster)) : json::value(nullptr)}};
}
json::value data_of(const QueryCluster& r) { return json::object{{"id", r.id}}; }

// ---- data readers.
const json::value kEmpty = json::object{};

/// Reads an object whose members are exactly the given string keys (all required).
void read_keys(const json::value& v, const std::string& where,
               std::initializer_list<std::pair<std::string_view, std::string*>> keys) {
  if (!v.is_object()) fail(where, "expected an object");
  const auto& o = v.get_object();
  for (const auto& [k, out] : keys) {
    const json::value* m = o.if_contains(k);
    if (!m) fail(where + "." + std::string(k), "missing");
    detail::string_from_json(*m, *out, where + "." + std::string(k));
  }
  if (o.size() != keys.size()) fail(where, "unknown field");
}

template <class T>
T data_to(std::type_identity<T>, const json::value& v, const std::string& w) {
  T r;
  auto& [entity] = r;
  detail::entity_from_json(v, entity, w);
  return r;
}
RemoveListener data_to(std::type_identity<RemoveListener>, const json::value& v,
                       const std::string& w) {
  RemoveListener r;
  read_keys(v, w, {{"address", &r.address}});
  return r;
}
template <class T>
requires(std::is_same_v<T, RemoveCluster> || std::is_same_v<T, RemoveHttpFrontend> ||
         std::is_same_v<T, RemoveCertificate> || std::is_same_v<T, QueryCluster>) T
    data_to(std::type_identity<T>, const json::value& v, const std::string& w) {
  T r;
  read_keys(v, w, {{"id", &r.id}});
  return r;
}
RemoveTcpFrontend data_to(std::type_identity<RemoveTcpFrontend>, const json::value& v,
                          const std::string& w) {
  RemoveTcpFrontend r;
  read_keys(v, w, {{"listener", &r.listener}});
  return r;
}
RemoveBackend data_to(std::type_identity<RemoveBackend>, const json::value& v,
                      const std::string& w) {
  RemoveBackend r;
  read_keys(v, w, {{"cluster", &r.cluster}, {"id", &r.id}});
  return r;
}
template <class T>
requires(std::is_same_v<T, ListListeners> || std::is_same_v<T, ListClusters> ||
         std::is_same_v<T, ListFrontends>) T
    data_to(std::type_identity<T>, const json::value& v, const std::string& w) {
  read_keys(v, w, {});
  return T{};
}
ListBackends data_to(std::type_identity<ListBackends>, const json::value& v, const std::string& w) {
  ListBackends r;
  if (!v.is_object()) fail(w, "expected an object");
  const auto& o = v.get_object();
  if (o.size() > 1 || (o.size() == 1 && !o.contains("cluster"))) fail(w, "unknown field");
  if (const json::value* c = o.if_contains("cluster"); c && !c->is_null())
    detail::string_from_json(*c, r.cluster.emplace(), w + ".cluster");
  return r;
}

template <std::size_t... I>
RequestBody body_from(std::size_t index, const json::value& data, const std::string& where,
                      std::index_sequence<I...>) {
  RequestBody out;
  (void)((index == I
              ? (out = data_to(std::type_identity<std::variant_alternative_t<I, RequestBody>>{},
                               data, where),
                 true)
              : false) ||
         ...);
  return out;
}

const json::object& top_object(const json::value& v) {
  if (!v.is_object()) fail("request", "expected an object");
  return v.get_object();
}

std::string read_string_member(const json::object& o, std::string_view key,
                               const std::string& where) {
  const json::value* v = o.if_contains(key);
  if (!v) fail(where + "." + std::string(key), "missing");
  std::string out;
  detail::string_from_json(*v, out, where + "." + std::string(key));
  return out;
}

}  // namespace

std::string_view request_type_name(const RequestBody& body) noexcept {
  return kTypeNames[body.index()];
}

std::string request_to_json(const Request& request) {
  json::object o{{"id", request.id},
                 {"type", request_type_name(request.body)},
                 {"data", std::visit([](const auto& r) { return data_of(r); }, request.body)}};
  return json::serialize(o);
}

Result<Request, std::string> request_from_json(std::string_view text) {
  std::string id;
  try {
    const json::value doc = detail::parse_json(text);
    const auto& o = top_object(doc);
    id = read_string_member(o, "id", "request");
    const std::string where = "request \"" + id + "\"";
    std::string type = read_string_member(o, "type", where);
    auto it = std::find(kTypeNames.begin(), kTypeNames.end(), type);
    if (it == kTypeNames.end()) fail(where + ".type", "unknown request type \"" + type + "\"");
    for (const auto& kv : o)
      if (kv.key() != "id" && kv.key() != "type" && kv.key() != "data")
        fail(where + "." + std::string(kv.key()), "unknown field");
    const json::value* data = o.if_contains("data");
    auto index = static_cast<std::size_t>(it - kTypeNames.begin());
    return Request{id, body_from(index, data ? *data : kEmpty, where + ".data",
                                 std::make_index_sequence<kTypeNames.size()>{})};
  } catch (const std::exception& e) {
    return Unexpected(std::string(e.what()));
  }
}

std::string answer_to_json(const Answer& a) {
  json::object o{{"id", a.id},
                 {"status", kStatusNames[static_cast<std::size_t>(a.status)]},
                 {"message", a.message},
                 {"payload", a.payload ? detail::state_to_json(*a.payload) : json::value(nullptr)}};
  return json::serialize(o);
}

Result<Answer, std::string> answer_from_json(std::string_view text) {
  try {
    json::value v = detail::parse_json(text);
    if (!v.is_object()) fail("answer", "expected an object");
    const auto& o = v.get_object();
    Answer a;
    a.id = read_string_member(o, "id", "answer");
    std::string status = read_string_member(o, "status", "answer");
    auto it = std::find(kStatusNames.begin(), kStatusNames.end(), status);
    if (it == kStatusNames.end()) fail("answer.status", "unknown status \"" + status + "\"");
    a.status = static_cast<AnswerStatus>(it - kStatusNames.begin());
    if (o.contains("message")) a.message = read_string_member(o, "message", "answer");
    if (const json::value* p = o.if_contains("payload"); p && !p->is_null())
      detail::state_from_json(*p, a.payload.emplace(), "answer.payload");
    return a;
  } catch (const std::exception& e) {
    return Unexpected(std::string(e.what()));
  }
}

}  // namespace kakehi::config
