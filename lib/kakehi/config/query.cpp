// Query answers (filtered copies of the state), request descriptions used in error messages,
// and whole-state validation (a loaded dump is replayed as a diff from the empty state).
#include <type_traits>

#include "kakehi/config/diff.hpp"
#include "kakehi/config/request.hpp"

namespace kakehi::config {

namespace {

std::string q(std::string_view s) { return "\"" + std::string(s) + "\""; }

struct Describer {
  std::string operator()(const AddListener& r) { return "add listener " + q(r.listener.address); }
  std::string operator()(const UpdateListener& r) {
    return "update listener " + q(r.listener.address);
  }
  std::string operator()(const RemoveListener& r) { return "remove listener " + q(r.address); }
  std::string operator()(const AddCluster& r) { return "add cluster " + q(r.cluster.id); }
  std::string operator()(const UpdateCluster& r) { return "update cluster " + q(r.cluster.id); }
  std::string operator()(const RemoveCluster& r) { return "remove cluster " + q(r.id); }
  std::string operator()(const AddHttpFrontend& r) {
    return "add http frontend " + q(r.frontend.id);
  }
  std::string operator()(const UpdateHttpFrontend& r) {
    return "update http frontend " + q(r.frontend.id);
  }
  std::string operator()(const RemoveHttpFrontend& r) { return "remove http frontend " + q(r.id); }
  std::string operator()(const AddTcpFrontend& r) {
    return "add tcp frontend " + q(r.frontend.listener);
  }
  std::string operator()(const UpdateTcpFrontend& r) {
    return "update tcp frontend " + q(r.frontend.listener);
  }
  std::string operator()(const RemoveTcpFrontend& r) {
    return "remove tcp frontend " + q(r.listener);
  }
  std::string operator()(const AddBackend& r) { return "add backend " + q(r.backend.id); }
  std::string operator()(const UpdateBackend& r) { return "update backend " + q(r.backend.id); }
  std::string operator()(const RemoveBackend& r) { return "remove backend " + q(r.id); }
  std::string operator()(const AddCertificate& r) {
    return "add certificate " + q(r.certificate.id);
  }
  std::string operator()(const UpdateCertificate& r) {
    return "update certificate " + q(r.certificate.id);
  }
  std::string operator()(const RemoveCertificate& r) { return "remove certificate " + q(r.id); }
  std::string operator()(const ListListeners&) { return "list listeners"; }
  std::string operator()(const ListClusters&) { return "list clusters"; }
  std::string operator()(const ListFrontends&) { return "list frontends"; }
  std::string operator()(const ListBackends& r) {
    return r.cluster ? "list backends of " + q(*r.cluster) : "list backends";
  }
  std::string operator()(const QueryCluster& r) { return "query cluster " + q(r.id); }
};

State query_payload(const State& s, const RequestBody& body) {
  State out;
  if (std::holds_alternative<ListListeners>(body)) {
    out.listeners = s.listeners;
  } else if (std::holds_alternative<ListClusters>(body)) {
    out.clusters = s.clusters;
  } else if (std::holds_alternative<ListFrontends>(body)) {
    out.http_frontends = s.http_frontends;
    out.tcp_frontends = s.tcp_frontends;
  } else if (const auto* lb = std::get_if<ListBackends>(&body)) {
    for (const auto& [k, b] : s.backends)
      if (!lb->cluster || k.first == *lb->cluster) out.backends.emplace(k, b);
  } else if (const auto* qc = std::get_if<QueryCluster>(&body)) {
    out.clusters.emplace(qc->id, s.clusters.at(qc->id));
    for (const auto& [k, b] : s.backends)
      if (k.first == qc->id) out.backends.emplace(k, b);
    for (const auto& [id, f] : s.http_frontends)
      if (f.cluster == qc->id) out.http_frontends.emplace(id, f);
    for (const auto& [addr, f] : s.tcp_frontends)
      if (f.cluster == qc->id) out.tcp_frontends.emplace(addr, f);
  }
  return out;
}

}  // namespace

std::string describe(const RequestBody& b) { return std::visit(Describer{}, b); }

Answer answer(const State& state, const Request& request) {
  Answer a{request.id, AnswerStatus::Ok, {}, std::nullopt};
  auto r = config::apply(state, std::span<const Request>(&request, 1));
  if (!r) {
    a.status = AnswerStatus::Error;
    a.message = r.error().message();
    return a;
  }
  if (is_query(request.body)) a.payload = query_payload(state, request.body);
  return a;
}

DiffOutcome apply_and_answer(const State& state, std::span<const Request> diff) {
  DiffOutcome out;
  auto r = config::apply(state, diff);
  out.answers.reserve(diff.size());
  for (std::size_t i = 0; i < diff.size(); ++i) {
    Answer a{diff[i].id, AnswerStatus::Ok, {}, std::nullopt};
    if (!r) {
      a.status = AnswerStatus::Error;
      a.message = i == r.error().index
                      ? r.error().message()
                      : "not applied: request " + q(r.error().request_id) + " failed";
    } else if (is_query(diff[i].body)) {
      a.payload = query_payload(*r, diff[i].body);
    }
    out.answers.push_back(std::move(a));
  }
  if (r) out.state = std::move(*r);
  return out;
}

Result<void, std::string> validate(const State& state) {
  auto requests = diff(State{}, state);
  auto r = config::apply(State{}, requests);
  if (!r) return Unexpected(r.error().message());
  if (!(*r == state)) return Unexpected(std::string("a map key does not match its entity's id"));
  return {};
}

}  // namespace kakehi::config
